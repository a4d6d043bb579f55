package recorder

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

// Hooks follow the fault: probes at the right moments, events at each step, the result updated as it goes. Only
// the probes that must run before the chaos (SOT) hold the fault up; events are sent by a background writer and
// result updates are written behind, so the fault's timing is the same whatever the apiserver's latency.
func (rec *Recorder) Hooks(ctx context.Context) ecsimage.Hooks {
	// Writes during the run use a context that a stop does not cancel: the stop must still be recorded.
	wctx := context.WithoutCancel(ctx)
	cfg := rec.p.Config
	return rec.timeline.hooks(ecsimage.Hooks{
		PreflightPassed: func(services []ecsimage.ServiceReport) {
			rec.events.Normal(wctx, "PreChaosCheck", fmt.Sprintf("preflight passed for %d ECS service(s) in cluster %s", len(services), cfg.ClusterName))
			if rec.probes == nil {
				return
			}
			rec.probes.PreChaos(ctx)
			// A stopOnFailure probe that failed before the chaos must stop the run before the first injection,
			// not whenever the watching goroutine gets to it.
			select {
			case <-rec.probes.StopRequested():
				if rec.cancel != nil {
					rec.cancel(probeStop)
				}
			default:
			}
		},
		ChaosStarted: func() {
			rec.mu.Lock()
			rec.chaosStart = rec.p.Clock.Now()
			if rec.p.Alarms != nil {
				rec.alarmWatch = alarms.Start(wctx, rec.p.Alarms, cfg.ExpectAlarms, cfg.StatusCheckDelay, rec.p.Clock)
			}
			rec.mu.Unlock()
			if rec.probes != nil {
				rec.probes.ChaosStarted(ctx)
			}
		},
		Injected: func(service, revision string) {
			rec.setTarget(service, result.ChaosInjected)
			rec.events.Normal(wctx, "ChaosInject", fmt.Sprintf("service %s points at chaos revision %s", service, revision))
			rec.update()
		},
		ChaosEnded: func() {
			rec.stopAlarmWatch(wctx)
			if rec.probes != nil {
				rec.probes.ChaosEnded(ctx)
			}
		},
		Restored: func(s ecsimage.ServiceReport) {
			if s.State == ecsimage.StateRestored {
				rec.setTarget(s.Service, result.ChaosReverted)
				rec.events.Normal(wctx, "PostChaosCheck", fmt.Sprintf("service %s restored (%s)", s.Service, s.Restore.Action))
			} else {
				rec.events.Warning(wctx, "PostChaosCheck", fmt.Sprintf("service %s NOT restored: %s", s.Service, s.Error))
			}
			rec.update()
		},
	})
}

func (rec *Recorder) stopAlarmWatch(ctx context.Context) {
	rec.mu.Lock()
	watch := rec.alarmWatch
	rec.alarmWatch = nil
	rec.mu.Unlock()
	if watch == nil {
		return
	}
	obs := watch.Stop(ctx)
	rec.mu.Lock()
	rec.alarmsSeen = &obs
	rec.mu.Unlock()
}

// update asks for the current state to be written behind the fault.
func (rec *Recorder) update() {
	if rec.behind != nil {
		rec.behind.request()
	}
}

// writeBehind writes the latest state of the result whenever asked, on its own goroutine. Requests that arrive
// while a write is under way fold into one more write of the newest state: intermediate states may be skipped,
// the last one never is. A failed intermediate write is logged; the final write decides.
type writeBehind struct {
	pending chan struct{}
	done    chan struct{}
	stop    chan struct{}
}

func startWriteBehind(ctx context.Context, w result.Writer, snapshot func() *result.ChaosResult, log logrus.FieldLogger) *writeBehind {
	b := &writeBehind{pending: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}
	write := func() {
		defer func() {
			if p := recover(); p != nil {
				log.Errorf("writing the ChaosResult panicked (the final write retries): %v\n%s", p, debug.Stack())
			}
		}()
		if err := writeWithTimeout(ctx, func(c context.Context) error { return w.Update(c, snapshot()) }); err != nil {
			log.Warnf("updating the ChaosResult failed (the final write retries): %v", err)
		}
	}
	go func() {
		defer close(b.done)
		for {
			select {
			case <-b.pending:
				write()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

func (b *writeBehind) request() {
	select {
	case b.pending <- struct{}{}:
	default: // a write of the newest state is already due
	}
}

// close stops the writer once the write under way, if any, has ended; a request still pending is dropped, since
// the final write follows.
func (b *writeBehind) close() {
	close(b.stop)
	<-b.done
}
