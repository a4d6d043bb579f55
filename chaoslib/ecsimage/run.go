package ecsimage

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// injectParallelism bounds how many services are injected or restored at once.
const injectParallelism = 10

// runState is the state of one Run call; nothing of it outlives the call.
type runState struct {
	restorer // the clients, the options, the log, and the restore steps recover shares

	hookMu       sync.Mutex     // hooks are called one at a time, although services are injected in parallel
	bg           sync.WaitGroup // deregistrations running behind the restores
	chaosStarted bool
	chaosEnded   bool

	panicMu sync.Mutex
	panics  []*PanicError // recovered where no single service was at fault; see attributePanics
	broken  bool          // a bug stopped a cycle: no further cycle or group starts (read and written by Run's goroutine)
}

// Run runs the fault against every service of opts and always tries to restore what it changed. Cancelling ctx
// (with a *StopCause as cause, via context.WithCancelCause) stops it: no step injects after that, and the
// restore runs on its own context bounded by opts.AbortDeadline.
func Run(ctx context.Context, clients Clients, opts Options) *Report {
	opts = opts.withDefaults()
	report := &Report{RunID: opts.RunID, StartedAt: opts.Clock.Now()}
	if err := opts.validate(); err != nil {
		report.Err = err
		report.EndedAt = opts.Clock.Now()
		return report
	}
	r := &runState{restorer: newRestorer(clients, opts)}
	r.polled = r.restoreProgress
	targets := newTargets(report, opts)
	defer func() {
		r.attributePanics(targets)
		report.Stop = stopCause(ctx)
		report.EndedAt = opts.Clock.Now()
	}()
	// The last resort: a bug outside every narrower guard still puts back what the run changed.
	defer func() {
		if v := recover(); v != nil {
			r.rescue(context.WithoutCancel(ctx), targets, r.panicked("the run", v))
		}
	}()
	r.runTargets(ctx, targets)
	return report
}

// newTargets gives every service of opts its entry in report, Ready, and the target that carries it through
// the run: the targets point into report.Services, so the report is always the run's current state.
func newTargets(report *Report, opts Options) []*target {
	report.Services = make([]ServiceReport, len(opts.Services))
	targets := make([]*target, len(opts.Services))
	for i, name := range opts.Services {
		report.Services[i] = ServiceReport{Service: name, Cluster: opts.Cluster, State: StateReady}
		targets[i] = &target{name: name, report: &report.Services[i]}
	}
	return targets
}

// runTargets is the body of Run, inside its panic guards: preflight, the ramp time, the groups of cycles, and the
// ramp time again. It returns early at a refusal or a stop; every restore happens inside runGroup.
func (r *runState) runTargets(ctx context.Context, targets []*target) {
	if !r.preflightAll(ctx, targets) {
		return
	}
	r.callHook(func() {
		if r.opts.Hooks.PreflightPassed != nil {
			r.opts.Hooks.PreflightPassed(r.snapshots(targets))
		}
	})
	if ctx.Err() != nil {
		return
	}
	if r.opts.RampTime > 0 {
		r.log.Infof("ramp time: waiting %s before the fault", r.opts.RampTime)
		if !clock.Sleep(r.opts.Clock, r.opts.RampTime, ctx.Done()) {
			return
		}
	}
	groups := r.groups(targets)
	for i, g := range groups {
		if ctx.Err() != nil || r.broken {
			break
		}
		r.runGroup(ctx, g, i == len(groups)-1)
	}
	r.endChaos()
	if r.opts.RampTime > 0 && ctx.Err() == nil {
		r.log.Infof("ramp time: waiting %s after the fault", r.opts.RampTime)
		clock.Sleep(r.opts.Clock, r.opts.RampTime, ctx.Done())
	}
}

// preflightAll runs the preflight of every target and says whether the run may go on. A refusal of any service
// (or a bug in the preflight, which fails them all) means nothing may change anywhere.
func (r *runState) preflightAll(ctx context.Context, targets []*target) bool {
	r.log.Infof("preflight of %d service(s) in cluster %s", len(targets), r.opts.Cluster)
	passed := false
	if perr := r.guard("preflight", func() { passed = r.preflight(ctx, targets) }); perr != nil {
		for _, t := range targets {
			t.report.fail(perr)
		}
	}
	if passed {
		return true
	}
	for _, t := range targets {
		if t.report.Err() != nil {
			r.log.WithField("service", t.name).Error(t.report.Error)
		}
	}
	r.log.Error("preflight refused: nothing was changed")
	return false
}

// groups splits the targets into the groups whose cycles run one after the other: all of them at once in
// parallel mode, one service at a time in serial mode.
func (r *runState) groups(targets []*target) [][]*target {
	if r.opts.Sequence != Serial {
		return [][]*target{targets}
	}
	groups := make([][]*target, 0, len(targets))
	for _, t := range targets {
		groups = append(groups, []*target{t})
	}
	return groups
}

// runGroup runs the cycles of one group of services (all of them in parallel mode, one in serial mode). Each cycle
// holds min(CHAOS_INTERVAL, time left), restores, and waits for the restore deployment; the next cycle starts only
// after that and only while time is left.
func (r *runState) runGroup(ctx context.Context, group []*target, lastGroup bool) {
	end := r.opts.Clock.Now().Add(r.opts.Duration)
	// The chaos (for the ChaosEnded hook) ends with the last hold of the last group, or with a stop.
	lastHoldEnded := func() {
		if ctx.Err() != nil || (lastGroup && !end.After(r.opts.Clock.Now())) {
			r.endChaos()
		}
	}
	active := group
	for cycle := 1; len(active) > 0; cycle++ {
		left := end.Sub(r.opts.Clock.Now())
		if ctx.Err() != nil || left <= 0 {
			return
		}
		if cycle > 1 {
			active = r.recheck(ctx, active)
			if len(active) == 0 {
				return
			}
		}
		changed := r.runCycle(ctx, active, cycle, min(r.opts.Interval, left), lastHoldEnded)
		if r.broken {
			return // after a bug, no further cycle
		}
		active = nextCycle(changed)
	}
}

// runCycle is one cycle over active: inject each service, hold it for holdFor, put it back, and wait for the
// restore deployments. It returns the services that may have changed. lastHoldEnded is called once the last hold
// of the cycle is over (see holdAndRelease), and once more after the hold in any case.
func (r *runState) runCycle(ctx context.Context, active []*target, cycle int, holdFor time.Duration, lastHoldEnded func()) []*target {
	r.log.Infof("cycle %d: injecting %d service(s), each for %s", cycle, len(active), holdFor.Round(time.Millisecond))
	// Each service is held for holdFor from its own inject and restored as soon as its hold ends: with many
	// services the injections take long (RegisterTaskDefinition is paced at ECS's 1/s), and a shared hold
	// would keep the first services broken for as long as the last ones take to inject.
	rctx, cancel := r.restoreContext(ctx)
	// injecting ends with the run's context, or at once when a bug stops the cycle.
	injecting, stopInjecting := context.WithCancel(ctx)
	arrivals := make(chan *target)
	go r.injectCycle(injecting, active, cycle, holdFor, arrivals)
	var changed []*target
	if perr := r.guard("the hold", func() { changed = r.holdAndRelease(ctx, rctx, arrivals, lastHoldEnded) }); perr != nil {
		stopInjecting()
		for range arrivals {
			// the injections under way end; every service they touched is in active
		}
		changed = r.rescue(rctx, active, perr)
	}
	stopInjecting()
	r.guardAll("the end of the hold", active, lastHoldEnded) // also when no service was injected at all
	r.finishRestores(rctx, changed)
	cancel()
	return changed
}

// injectCycle injects every service of active, injectParallelism at once, and hands each one that may have
// changed to the hold through arrivals, which it closes once every injection is over. It runs on its own
// goroutine: a bug there is recorded for the report instead of crashing the run before the restore.
func (r *runState) injectCycle(injecting context.Context, active []*target, cycle int, holdFor time.Duration, arrivals chan<- *target) {
	defer close(arrivals)
	defer func() {
		if v := recover(); v != nil {
			r.recordPanic(r.panicked("the injections", v))
		}
	}()
	r.forEach(active, func(t *target) bool {
		t.report.Cycles = cycle
		t.chaosARN, t.injected, t.holdFor, t.holdUntil, t.dereg = "", false, holdFor, time.Time{}, nil
		var err error
		perr := r.guard("the inject of service "+t.name, func() { err = r.inject(injecting, t) })
		switch {
		case perr != nil:
			t.report.fail(perr)
		case err != nil:
			if injecting.Err() == nil {
				t.report.fail(err)
				r.log.WithField("service", t.name).Error(err)
			}
		default:
			t.injected = true
		}
		if t.report.Changed {
			arrivals <- t // restore checks before it acts, so every service that may have changed goes there
		}
		return t.injected
	})
}

// finishRestores ends a cycle's restores: it waits for the restore deployments of the services the cycle changed
// and for their deregistrations, records those, and tells the Restored hook.
func (r *runState) finishRestores(rctx context.Context, changed []*target) {
	r.guardAll("the restore wait", changed, func() { r.waitRestored(rctx, changed) })
	r.bgWait()
	for _, t := range changed {
		r.applyDeregistration(t)
	}
	for _, t := range changed {
		r.callHook(func() {
			if r.opts.Hooks.Restored != nil {
				r.opts.Hooks.Restored(r.snapshot(t))
			}
		})
	}
}

// nextCycle picks, of the services a cycle changed, those that take part in the next one: injected, then put back
// by this run with the restore proven and no error. A service someone else deployed over is left to them.
func nextCycle(changed []*target) []*target {
	active := changed[:0:0]
	for _, t := range changed {
		if t.injected && t.report.State == StateRestored && t.report.Restore.Completed && t.report.Err() == nil &&
			t.report.Restore.Action != RestoreLeftToThirdParty {
			active = append(active, t)
		}
	}
	return active
}

// recheck re-reads the services before another cycle: each must still run its original revision with one
// completed deployment; a service that does not is left out of further cycles, with a note.
func (r *runState) recheck(ctx context.Context, group []*target) []*target {
	var ok []*target
	for _, t := range group {
		original := t.originalARN()
		probe := &target{name: t.name, report: &ServiceReport{Service: t.name}}
		if !r.preflight(ctx, []*target{probe}) {
			if ctx.Err() == nil {
				r.log.WithField("service", t.name).Warn(t.report.warn("no further cycle: %s", probe.report.Error))
			}
			continue
		}
		if probe.originalARN() != original {
			r.log.WithField("service", t.name).Warn(t.report.warn("no further cycle: the service now runs %s instead of %s", probe.originalARN(), original))
			continue
		}
		t.service, t.originalDC, t.chaosDC = probe.service, probe.originalDC, probe.chaosDC
		ok = append(ok, t)
	}
	return ok
}

// forEach runs fn for each target, at most injectParallelism at once, and returns those for which it returned true.
func (r *runState) forEach(targets []*target, fn func(*target) bool) []*target {
	results := make([]bool, len(targets))
	sem := make(chan struct{}, injectParallelism)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if v := recover(); v != nil {
					r.failAfterPanic(t, r.panicked("work on service "+t.name, v))
				}
			}()
			results[i] = fn(t)
		}()
	}
	wg.Wait()
	var out []*target
	for i, t := range targets {
		if results[i] {
			out = append(out, t)
		}
	}
	return out
}

func (r *runState) startChaos() {
	if r.chaosStarted {
		return
	}
	r.chaosStarted = true
	r.callHook(func() {
		if r.opts.Hooks.ChaosStarted != nil {
			r.opts.Hooks.ChaosStarted()
		}
	})
}

func (r *runState) endChaos() {
	if !r.chaosStarted || r.chaosEnded {
		return
	}
	r.chaosEnded = true
	r.callHook(func() {
		if r.opts.Hooks.ChaosEnded != nil {
			r.opts.Hooks.ChaosEnded()
		}
	})
}

// callHook runs a hook call under the hook lock: hooks never run concurrently with each other. A hook that panics
// is a bug of the caller: the run goes on, and the report says so.
func (r *runState) callHook(call func()) {
	r.hookMu.Lock()
	defer r.hookMu.Unlock()
	r.guardRun("a hook", call)
}

// background runs fn behind the cycle's restores; bgWait waits for all of them.
func (r *runState) background(fn func()) {
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		r.guardRun("a background deregistration", fn)
	}()
}

func (r *runState) bgWait() { r.bg.Wait() }

// snapshot is a copy of a service's report for a hook; the maps and slices it shares are only appended to or
// replaced by the goroutine that calls the hooks.
func (r *runState) snapshot(t *target) ServiceReport {
	s := *t.report
	s.Observations.DigestsBefore = nil // a map the hook must not write into
	return s
}

func (r *runState) snapshots(targets []*target) []ServiceReport {
	out := make([]ServiceReport, len(targets))
	for i, t := range targets {
		out[i] = r.snapshot(t)
	}
	return out
}

// stopCause returns why ctx was cancelled, or nil when it was not.
func stopCause(ctx context.Context) *StopCause {
	if ctx.Err() == nil {
		return nil
	}
	var sc *StopCause
	if errors.As(context.Cause(ctx), &sc) {
		return sc
	}
	return &StopCause{Reason: context.Cause(ctx).Error()}
}
