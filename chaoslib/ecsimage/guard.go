package ecsimage

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// PanicError is a bug that the run's panic guard caught. Its message names where it happened and the panic value;
// the stack goes to the log only, never into the result.
type PanicError struct {
	Where string
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (a bug) in %s: %v; the stack trace is in the log", e.Where, e.Value)
}

// Unwrap gives the panic value when it was an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// panicked turns a recovered panic value into a *PanicError and logs it with the stack. Call it from the deferred
// function that recovered, so that the stack still holds the panicking frames.
func (r *runState) panicked(where string, v any) *PanicError {
	perr := &PanicError{Where: where, Value: v}
	r.log.Errorf("%v\n%s", perr, debug.Stack())
	return perr
}

// guard runs fn and returns the panic it raised, if any, as a *PanicError; nothing else is recorded.
func (r *runState) guard(where string, fn func()) (perr *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			perr = r.panicked(where, v)
		}
	}()
	fn()
	return nil
}

// guardRun is guard for code where no single service is at fault (hooks, background work): a panic is recorded for
// the report (attributePanics) and the run goes on.
func (r *runState) guardRun(where string, fn func()) {
	if perr := r.guard(where, fn); perr != nil {
		r.recordPanic(perr)
	}
}

// guardAll is guard for a step over several services: a panic fails each of them and ends the cycles.
func (r *runState) guardAll(where string, targets []*target, fn func()) {
	if perr := r.guard(where, fn); perr != nil {
		r.broken = true
		for _, t := range targets {
			t.report.fail(perr)
		}
	}
}

func (r *runState) recordPanic(perr *PanicError) {
	r.panicMu.Lock()
	defer r.panicMu.Unlock()
	r.panics = append(r.panics, perr)
}

// attributePanics puts the panics no single service caused into the report of every service the run changed (of
// every service when it changed none), so that the outcome is an error and the result says why.
func (r *runState) attributePanics(targets []*target) {
	r.panicMu.Lock()
	panics := r.panics
	r.panics = nil
	r.panicMu.Unlock()
	if len(panics) == 0 {
		return
	}
	errs := make([]error, len(panics))
	for i, p := range panics {
		errs[i] = p
	}
	err := errors.Join(errs...)
	changed := false
	for _, t := range targets {
		changed = changed || t.report.Changed
	}
	for _, t := range targets {
		if t.report.Changed || !changed {
			t.report.fail(err)
		}
	}
}

// failAfterPanic records a bug met while working on one service. A service that may still point at its chaos
// revision is reported as not restored, with the manual steps, unless a later restore proves otherwise.
func (r *runState) failAfterPanic(t *target, perr *PanicError) {
	if t.report.Changed && t.report.State == StateInjected {
		r.restoreFailed(t, perr)
		return
	}
	t.report.fail(perr)
}

// rescue takes over after a bug stopped a cycle's hold: it fails every service of group that may have changed with
// perr and puts back those not released yet (without a last observation, since the bug may be there). It returns
// the services that may have changed, for the restore wait. No cycle starts after it.
func (r *runState) rescue(rctx context.Context, group []*target, perr *PanicError) []*target {
	r.broken = true
	var changed, pending []*target
	for _, t := range group {
		if !t.report.Changed {
			continue
		}
		changed = append(changed, t)
		t.report.fail(perr)
		if t.dereg == nil { // release sets it for every service it put back during this cycle
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 {
		return changed
	}
	r.log.Errorf("putting back %d service(s) after an internal error", len(pending))
	stopped, cancel := context.WithCancel(rctx)
	cancel()
	if again := r.guard("the restore after an internal error", func() { r.release(stopped, rctx, pending) }); again != nil {
		for _, t := range pending {
			if t.report.State != StateRestored {
				r.restoreFailed(t, again)
			}
		}
	}
	return changed
}
