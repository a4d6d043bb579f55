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
	report.Services = make([]ServiceReport, len(opts.Services))
	targets := make([]*target, len(opts.Services))
	for i, name := range opts.Services {
		report.Services[i] = ServiceReport{Service: name, Cluster: opts.Cluster, State: StateReady}
		targets[i] = &target{name: name, report: &report.Services[i]}
	}
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

	r.log.Infof("preflight of %d service(s) in cluster %s", len(targets), opts.Cluster)
	passed := false
	if perr := r.guard("preflight", func() { passed = r.preflight(ctx, targets) }); perr != nil {
		for _, t := range targets {
			t.report.fail(perr)
		}
	}
	if !passed {
		for _, t := range targets {
			if t.report.Err() != nil {
				r.log.WithField("service", t.name).Error(t.report.Error)
			}
		}
		r.log.Error("preflight refused: nothing was changed")
		return report
	}
	r.callHook(func() {
		if opts.Hooks.PreflightPassed != nil {
			opts.Hooks.PreflightPassed(r.snapshots(targets))
		}
	})
	if ctx.Err() != nil {
		return report
	}
	if opts.RampTime > 0 {
		r.log.Infof("ramp time: waiting %s before the fault", opts.RampTime)
		if !clock.Sleep(opts.Clock, opts.RampTime, ctx.Done()) {
			return report
		}
	}
	groups := [][]*target{targets}
	if opts.Sequence == Serial {
		groups = groups[:0]
		for _, t := range targets {
			groups = append(groups, []*target{t})
		}
	}
	for i, g := range groups {
		if ctx.Err() != nil || r.broken {
			break
		}
		r.runGroup(ctx, g, i == len(groups)-1)
	}
	r.endChaos()
	if opts.RampTime > 0 && ctx.Err() == nil {
		r.log.Infof("ramp time: waiting %s after the fault", opts.RampTime)
		clock.Sleep(opts.Clock, opts.RampTime, ctx.Done())
	}
	return report
}

// runGroup runs the cycles of one group of services (all of them in parallel mode, one in serial mode). Each cycle
// holds min(CHAOS_INTERVAL, time left), restores, and waits for the restore deployment; the next cycle starts only
// after that and only while time is left.
func (r *runState) runGroup(ctx context.Context, group []*target, lastGroup bool) {
	end := r.opts.Clock.Now().Add(r.opts.Duration)
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
		holdFor := min(r.opts.Interval, left)
		r.log.Infof("cycle %d: injecting %d service(s), each for %s", cycle, len(active), holdFor.Round(time.Millisecond))
		// Each service is held for holdFor from its own inject and restored as soon as its hold ends: with many
		// services the injections take long (RegisterTaskDefinition is paced at ECS's 1/s), and a shared hold
		// would keep the first services broken for as long as the last ones take to inject.
		rctx, cancel := r.restoreContext(ctx)
		// injecting ends with the run's context, or at once when a bug stops the cycle.
		injecting, stopInjecting := context.WithCancel(ctx)
		arrivals := make(chan *target)
		go func() {
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
		}()
		lastHoldEnded := func() {
			if ctx.Err() != nil || (lastGroup && !end.After(r.opts.Clock.Now())) {
				r.endChaos()
			}
		}
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
		cancel()
		if r.broken {
			return // after a bug, no further cycle
		}
		injected := changed[:0:0]
		for _, t := range changed {
			if t.injected {
				injected = append(injected, t)
			}
		}
		active = active[:0:0]
		for _, t := range injected {
			if t.report.State == StateRestored && t.report.Restore.Completed && t.report.Err() == nil &&
				t.report.Restore.Action != RestoreLeftToThirdParty {
				active = append(active, t)
			}
		}
	}
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
