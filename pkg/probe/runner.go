package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/dynamic"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// Deps are what the probes need from the outside world. Only Clock is required; a probe whose
// dependency is missing fails with a description saying so.
type Deps struct {
	Clock      clock.Clock
	Kube       dynamic.Interface  // k8sProbe
	Pods       Pods               // cmdProbe in source mode; NewPods makes one
	Namespace  string             // where source-mode pods run (the chaos namespace)
	HTTPClient *http.Client       // httpProbe and promProbe; nil means a default client
	Logger     logrus.FieldLogger // nil means discard
	// ServiceAccount runs source-mode pods; Litmus uses the experiment pod's own. Empty: the namespace default.
	ServiceAccount string
	// Shell runs inline cmdProbes as Shell -c command; empty means /bin/sh. Without it, see cmd.go.
	Shell string
}

// checker performs one attempt of a probe; on success it returns a description of what it saw, on failure
// an error whose message is the description.
type checker interface {
	check(ctx context.Context) (string, error)
}

// Runner runs the probes of one fault run. Its methods follow the run's phases in order: PreChaos,
// ChaosStarted, ChaosEnded, PostChaos. It is safe to read Results and StopRequested from any goroutine.
type Runner struct {
	clock  clock.Clock
	log    logrus.FieldLogger
	probes []*probeState

	stopOnce sync.Once
	stop     chan struct{}

	mu          sync.Mutex
	loops       sync.WaitGroup
	postChaosed bool
}

type probeState struct {
	def     Definition
	checker checker

	// guarded by Runner.mu
	verdict      Verdict
	description  string
	evaluations  int  // completed evaluations of a loop probe
	preEvaluated bool // an Edge probe passed its PreChaos evaluation

	loopStarted bool
	loopStop    chan struct{} // closed to end a Continuous or OnChaos loop after its current evaluation
	loopCancel  context.CancelFunc
}

// NewRunner prepares the probes; nothing runs until PreChaos.
func NewRunner(defs []Definition, deps Deps) *Runner {
	if deps.Clock == nil {
		deps.Clock = clock.Real{}
	}
	if deps.Logger == nil {
		l := logrus.New()
		l.Out = discard{}
		deps.Logger = l
	}
	r := &Runner{clock: deps.Clock, log: deps.Logger, stop: make(chan struct{})}
	for _, def := range defs {
		r.probes = append(r.probes, &probeState{
			def:         def,
			checker:     newChecker(def, deps),
			verdict:     Awaited,
			description: "",
			loopStop:    make(chan struct{}),
		})
	}
	return r
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func newChecker(def Definition, deps Deps) checker {
	switch {
	case def.HTTP != nil:
		return newHTTPChecker(def, deps)
	case def.Cmd != nil && def.Cmd.Source != nil:
		return &sourceChecker{def: def, in: def.Cmd, deps: deps}
	case def.Cmd != nil:
		return &inlineChecker{in: def.Cmd, shell: deps.Shell, clock: deps.Clock}
	case def.K8s != nil:
		return &k8sChecker{in: def.K8s, client: deps.Kube}
	case def.Prom != nil:
		return newPromChecker(def, deps)
	}
	return brokenChecker{reason: fmt.Sprintf("probe type %q has no inputs (definitions must come from Parse)", def.Type)}
}

type brokenChecker struct{ reason string }

func (b brokenChecker) check(context.Context) (string, error) { return "", errors.New(b.reason) }

// PreChaos starts Continuous probes (they run from before the chaos until PostChaos, as in Litmus) and
// runs SOT probes and Edge probes' first evaluation, one after the other in definition order. Loops live
// on the context of the call that starts them: pass the run's context, which ends only on abort.
func (r *Runner) PreChaos(ctx context.Context) {
	r.startLoops(ctx, ModeContinuous)
	for _, p := range r.probes {
		if p.def.Mode != ModeSOT && p.def.Mode != ModeEdge {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		desc, err := r.evaluateAfterDelay(ctx, p, ctx.Done())
		if err != nil && ctx.Err() != nil {
			return // interrupted: stays Awaited, reported N/A
		}
		r.mu.Lock()
		switch {
		case err != nil:
			p.verdict, p.description = Failed, "PreChaos: "+err.Error()
		case p.def.Mode == ModeSOT:
			p.verdict, p.description = Passed, desc
		default: // Edge: passes only if the PostChaos evaluation passes too
			p.description, p.preEvaluated = "PreChaos: "+desc, true
		}
		r.mu.Unlock()
		r.report(p, "PreChaos", err)
		if err != nil && p.def.Run.StopOnFailure {
			return // Litmus stops evaluating the phase; the caller must not inject
		}
	}
}

// ChaosStarted starts the OnChaos loops (and Continuous ones if PreChaos was skipped).
func (r *Runner) ChaosStarted(ctx context.Context) {
	r.startLoops(ctx, ModeContinuous)
	r.startLoops(ctx, ModeOnChaos)
}

// ChaosEnded asks the OnChaos loops to stop after their current evaluation.
func (r *Runner) ChaosEnded(context.Context) {
	r.endLoops(ModeOnChaos)
}

// PostChaos stops the Continuous and OnChaos loops and waits for them (an evaluation under way finishes,
// bounded by its own timeouts, unless ctx ends first), then runs EOT probes and Edge probes' second
// evaluation. Afterwards every probe without a verdict is N/A.
func (r *Runner) PostChaos(ctx context.Context) {
	r.mu.Lock()
	again := r.postChaosed
	r.postChaosed = true // no loop starts from now on
	r.mu.Unlock()
	if again {
		return
	}
	r.stopLoops(ctx)
	r.judgeLoops()
	for _, p := range r.probes {
		if p.def.Mode == ModeEOT || p.def.Mode == ModeEdge {
			r.evaluatePostChaos(ctx, p)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.probes {
		if p.verdict == Awaited {
			p.verdict, p.description = NA, descNotEvaluated
		}
	}
}

// stopLoops asks every loop to stop after its current evaluation and waits until they have; once ctx ends, the
// evaluations still under way are cancelled instead, so that an abort is not held up by a slow probe.
func (r *Runner) stopLoops(ctx context.Context) {
	r.endLoops(ModeOnChaos)
	r.endLoops(ModeContinuous)
	waited := make(chan struct{})
	go func() {
		r.loops.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		r.mu.Lock()
		for _, p := range r.probes {
			if p.loopCancel != nil {
				p.loopCancel()
			}
		}
		r.mu.Unlock()
		<-waited
	}
}

// evaluatePostChaos gives an EOT probe its verdict, and an Edge probe the verdict of both its evaluations. A probe
// that already failed, or whose evaluation the end of ctx interrupted, keeps its verdict.
func (r *Runner) evaluatePostChaos(ctx context.Context, p *probeState) {
	r.mu.Lock()
	preFailed := p.verdict == Failed
	r.mu.Unlock()
	if preFailed || ctx.Err() != nil {
		return // an Edge probe that failed before the chaos keeps that verdict, as in Litmus
	}
	desc, err := r.evaluateAfterDelay(ctx, p, ctx.Done())
	if err != nil && ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	switch {
	case err != nil:
		p.verdict, p.description = Failed, "PostChaos: "+err.Error()
	case p.def.Mode == ModeEdge && p.preEvaluated:
		p.verdict, p.description = Passed, p.description+"; PostChaos: "+desc
	case p.def.Mode == ModeEdge:
		p.verdict, p.description = Passed, "PreChaos: not evaluated (run interrupted); PostChaos: "+desc
	default:
		p.verdict, p.description = Passed, desc
	}
	r.mu.Unlock()
	r.report(p, "PostChaos", err)
}

// StopRequested is closed once a probe with stopOnFailure has failed: the caller ends the fault early,
// restores, and reports the run as failed (not stopped).
func (r *Runner) StopRequested() <-chan struct{} { return r.stop }

// Results returns every probe's current verdict in definition order. Before PostChaos, probes still
// running or not yet run are Awaited.
func (r *Runner) Results() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Result, len(r.probes))
	for i, p := range r.probes {
		out[i] = Result{Name: p.def.Name, Type: p.def.Type, Mode: p.def.Mode, Verdict: p.verdict, Description: p.description}
	}
	return out
}

// SuccessPercentage is Litmus's probeSuccessPercentage over this runner's probes.
func (r *Runner) SuccessPercentage() int { return SuccessPercentage(r.Results()) }

func (r *Runner) startLoops(ctx context.Context, mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.postChaosed {
		return
	}
	for _, p := range r.probes {
		if p.def.Mode != mode || p.loopStarted {
			continue
		}
		p.loopStarted = true
		loopCtx, cancel := context.WithCancel(ctx)
		p.loopCancel = cancel
		r.loops.Add(1)
		go func() {
			defer r.loops.Done()
			defer cancel()
			r.loop(loopCtx, p)
		}()
	}
}

func (r *Runner) endLoops(mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.probes {
		if p.def.Mode != mode {
			continue
		}
		select {
		case <-p.loopStop:
		default:
			close(p.loopStop)
		}
	}
}

// loop evaluates a Continuous or OnChaos probe until asked to stop, waiting probePollingInterval between
// evaluations; the first failed evaluation ends it, as in Litmus.
func (r *Runner) loop(ctx context.Context, p *probeState) {
	stopOrDone, release := merge(ctx.Done(), p.loopStop)
	defer release()
	for {
		desc, err := r.evaluateAfterDelay(ctx, p, stopOrDone)
		if errors.Is(err, errStoppedBeforeStart) {
			return
		}
		if err != nil && ctx.Err() != nil {
			return // interrupted by the caller: the unfinished evaluation does not count
		}
		r.mu.Lock()
		p.evaluations++
		if err != nil {
			p.verdict, p.description = Failed, fmt.Sprintf("evaluation %d: %v", p.evaluations, err)
		} else {
			p.description = fmt.Sprintf("%d evaluation(s) passed; last: %s", p.evaluations, desc)
		}
		r.mu.Unlock()
		if err != nil {
			r.report(p, "chaos", err)
			return
		}
		select {
		case <-p.loopStop:
			return
		default:
		}
		if !clock.Sleep(r.clock, p.def.Run.PollingInterval, stopOrDone) {
			return
		}
	}
}

// judgeLoops gives the loop probes their verdict once the loops have ended.
func (r *Runner) judgeLoops() {
	r.mu.Lock()
	var judged []*probeState
	for _, p := range r.probes {
		if (p.def.Mode != ModeContinuous && p.def.Mode != ModeOnChaos) || p.verdict != Awaited || !p.loopStarted {
			continue
		}
		if p.evaluations > 0 {
			p.verdict = Passed
		} else {
			p.verdict = Failed
			p.description = fmt.Sprintf("no evaluation completed while the probe was due (initialDelay %s, probeTimeout %s): the window was too short or the run was interrupted",
				p.def.Run.InitialDelay, p.def.Run.ProbeTimeout)
		}
		judged = append(judged, p)
	}
	r.mu.Unlock()
	for _, p := range judged {
		var err error
		if p.verdict == Failed {
			err = errors.New(p.description)
		}
		r.report(p, "PostChaos", err)
	}
}

var errStoppedBeforeStart = errors.New("stopped during initialDelay")

// evaluateAfterDelay waits initialDelay (in loops only before the first evaluation) unless wait closes,
// then evaluates.
func (r *Runner) evaluateAfterDelay(ctx context.Context, p *probeState, wait <-chan struct{}) (string, error) {
	r.mu.Lock()
	first := p.evaluations == 0
	r.mu.Unlock()
	if first && p.def.Run.InitialDelay > 0 {
		if !clock.Sleep(r.clock, p.def.Run.InitialDelay, wait) {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", errStoppedBeforeStart
		}
	}
	return r.evaluate(ctx, p)
}

// evaluate is one Litmus "trigger": up to Attempts attempts, each bounded by probeTimeout, with interval
// between them; the first success wins.
func (r *Runner) evaluate(ctx context.Context, p *probeState) (string, error) {
	rp := p.def.Run
	evalCtx := ctx
	if rp.EvaluationTimeout > 0 {
		var cancel context.CancelFunc
		evalCtx, cancel = withClockTimeout(ctx, r.clock, rp.EvaluationTimeout, "evaluationTimeout")
		defer cancel()
	}
	var lastErr error
	for attempt := 1; attempt <= rp.Attempts; attempt++ {
		attemptCtx, cancel := withClockTimeout(evalCtx, r.clock, rp.ProbeTimeout, "probeTimeout")
		desc, err := checkGuarded(attemptCtx, p.checker)
		cause := context.Cause(attemptCtx)
		cancel()
		if err == nil {
			return desc, nil
		}
		var timeout *TimeoutError
		if errors.As(cause, &timeout) && !errors.As(err, &timeout) {
			err = fmt.Errorf("%w: %v", timeout, err)
		}
		lastErr = err
		if rp.Attempts > 1 {
			lastErr = fmt.Errorf("attempt %d of %d: %w", attempt, rp.Attempts, err)
		}
		if evalCtx.Err() != nil || attempt == rp.Attempts {
			break
		}
		if !clock.Sleep(r.clock, rp.Interval, evalCtx.Done()) {
			break
		}
	}
	if cause := context.Cause(evalCtx); evalCtx != ctx && cause != nil && ctx.Err() == nil {
		return "", fmt.Errorf("%w; last attempt: %v", cause, lastErr)
	}
	return "", lastErr
}

func (r *Runner) report(p *probeState, phase string, err error) {
	fields := logrus.Fields{"probe": p.def.Name, "type": p.def.Type, "mode": p.def.Mode, "phase": phase}
	if err != nil {
		r.log.WithFields(fields).WithError(err).Warn("probe failed")
		if p.def.Run.StopOnFailure {
			r.stopOnce.Do(func() {
				r.log.WithFields(fields).Warn("probe has stopOnFailure: asking to end the fault early")
				close(r.stop)
			})
		}
		return
	}
	r.log.WithFields(fields).Info("probe passed")
}

// TimeoutError says which of a probe's bounds elapsed.
type TimeoutError struct {
	Bound string // probeTimeout, evaluationTimeout, responseTimeout
	After time.Duration
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("%s of %s elapsed", e.Bound, e.After) }

// withClockTimeout is context.WithTimeout on the injected clock, with a TimeoutError as the cause. A
// non-positive d means no bound.
func withClockTimeout(parent context.Context, c clock.Clock, d time.Duration, bound string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	if d <= 0 {
		return ctx, func() { cancel(context.Canceled) }
	}
	timer := c.NewTimer(d)
	go func() {
		defer timer.Stop()
		select {
		case <-timer.C():
			cancel(&TimeoutError{Bound: bound, After: d})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// merge returns a channel closed when either a or b is, and a release that ends the helper goroutine.
func merge(a, b <-chan struct{}) (<-chan struct{}, func()) {
	out := make(chan struct{})
	released := make(chan struct{})
	go func() {
		defer close(out)
		select {
		case <-a:
		case <-b:
		case <-released:
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(released) }) }
}

// checkGuarded runs one check; a panic in it (a bug in a checker) is that attempt's failure, with the panic named,
// instead of a crash of the pod that leaves the fault's services unrestored.
func checkGuarded(ctx context.Context, c checker) (desc string, err error) {
	defer func() {
		if p := recover(); p != nil {
			desc, err = "", fmt.Errorf("the probe check panicked (a bug; the run goes on): %v", p)
		}
	}()
	return c.check(ctx)
}
