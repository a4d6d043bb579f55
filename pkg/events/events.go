// Package events reports the run's milestones as core/v1 Kubernetes events on
// the ChaosEngine (or, without one, on the ChaosResult), as Litmus
// experiments do. Events are best effort: a failure is logged and never
// changes the run.
package events

import (
	"context"

	"github.com/sirupsen/logrus"
)

// Reasons of the events a run emits. The first four are Litmus's; the others
// name steps Litmus experiments do not have.
const (
	ReasonPreChaosCheck  = "PreChaosCheck"
	ReasonChaosInject    = "ChaosInject"
	ReasonPostChaosCheck = "PostChaosCheck"
	ReasonSummary        = "Summary"
	ReasonChaosRevert    = "ChaosRevert"
	ReasonChaosStopped   = "ChaosStopped"
)

// Recorder records events. Normal and Warning never block on the API and
// never fail; Flush waits, within ctx, until what was recorded is written.
type Recorder interface {
	Normal(ctx context.Context, reason, msg string)
	Warning(ctx context.Context, reason, msg string)
	Flush(ctx context.Context) error
}

// LogRecorder writes events to a logger only: the recorder outside a
// cluster. A nil Logger discards them.
type LogRecorder struct {
	Logger logrus.FieldLogger
}

// Normal logs an informational event.
func (l LogRecorder) Normal(_ context.Context, reason, msg string) {
	if l.Logger != nil {
		l.Logger.WithFields(logrus.Fields{"event": reason, "type": "Normal"}).Info(msg)
	}
}

// Warning logs a warning event.
func (l LogRecorder) Warning(_ context.Context, reason, msg string) {
	if l.Logger != nil {
		l.Logger.WithFields(logrus.Fields{"event": reason, "type": "Warning"}).Warn(msg)
	}
}

// Flush has nothing to wait for.
func (LogRecorder) Flush(context.Context) error { return nil }
