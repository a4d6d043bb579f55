package ecsimage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// Sequence says how several services are put under chaos: the one type SEQUENCE is parsed into.
type Sequence = tunables.Sequence

const (
	// Parallel injects every service at once; they share one hold and one restore.
	Parallel = tunables.SequenceParallel
	// Serial puts one service after another under chaos, each for the whole TOTAL_CHAOS_DURATION.
	Serial = tunables.SequenceSerial
)

// Options configure one run of the fault. Durations are on Clock.
type Options struct {
	Cluster          string
	Services         []string
	Region           string
	Image            taskdef.ChaosImage
	TargetContainers []string
	// AffectedPercent narrows the chaos deployment's maximumPercent to min(the service's own, 100+AffectedPercent).
	AffectedPercent int
	// Duration is TOTAL_CHAOS_DURATION: no injection starts once it has elapsed.
	Duration time.Duration
	// Interval is CHAOS_INTERVAL: each cycle holds min(Interval, time left).
	Interval time.Duration
	// RampTime is waited before the first injection and after the last restore.
	RampTime           time.Duration
	Sequence           Sequence
	StatusCheckTimeout time.Duration
	StatusCheckDelay   time.Duration
	// AbortDeadline bounds the restore (and its wait) once the run was stopped; it stays below the pod's
	// termination grace period so the result can still be written. It is measured on the wall clock, since the
	// kubelet's grace period is.
	AbortDeadline time.Duration
	// RunID identifies this run in the marker and in the chaos image tag.
	RunID string
	// JobUID is the uid of the Kubernetes Job running this pod, recorded in the marker. Preflight flags a chaos
	// revision carrying it as left by a previous pod of the same Job (Report.LeftByThisJob), and Recover with
	// JobUID set restores only that Job's chaos revisions, leaving every other run's alone.
	JobUID string
	// Rates paces every ECS call of the run by operation name, with one middleware added to copies of the
	// *ecs.Client values in Clients (another ECS implementation is used as given); nil means DefaultRates (ECS's
	// documented rates). An empty, non-nil map turns pacing off.
	Rates map[string]Rate
	// RetryBackoff is how long the fault waits before its own retry number attempt (1, 2, ...) of a call the SDK
	// does not retry (RegisterTaskDefinition); nil means DefaultBackoff. Tests pass one that returns 0.
	RetryBackoff func(attempt int) time.Duration
	Clock        clock.Clock
	Logger       logrus.FieldLogger
	Hooks        Hooks
}

// Hooks let the caller follow the run (probes, result, events). Every field may be nil. They are called one at a
// time (never concurrently with each other) and must not block for long.
type Hooks struct {
	// PreflightPassed is called once every service has passed preflight, before anything changes.
	PreflightPassed func(services []ServiceReport)
	// ChaosStarted is called when the first cycle's injection is on every service of the group.
	ChaosStarted func()
	// ChaosEnded is called when the last hold ends, before the restore.
	ChaosEnded func()
	// Injected is called after a service was pointed at a chaos revision.
	Injected func(service, chaosTaskDefinition string)
	// Restored is called after a service's restore finished, successfully or not.
	Restored func(service ServiceReport)
	// Progress is called after every observation poll during the hold and the restore wait; the report's
	// Observations.Deployments hold what that poll saw.
	Progress func(service ServiceReport)
}

// withDefaults fills what a caller may leave out.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		o.Logger = l
	}
	if o.Sequence == "" {
		o.Sequence = Parallel
	}
	if o.Interval <= 0 {
		o.Interval = o.Duration
	}
	if o.RetryBackoff == nil {
		o.RetryBackoff = DefaultBackoff
	}
	if o.Rates == nil {
		o.Rates = DefaultRates()
	}
	if o.AbortDeadline <= 0 {
		o.AbortDeadline = 20 * time.Second
	}
	return o
}

// DefaultBackoff doubles from 500 ms up to 8 s, with jitter over the upper half of each step, so that runs
// refused together (several services of one family, or a pipeline) do not retry in lockstep.
func DefaultBackoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(max(attempt-1, 0), 4)
	return d/2 + rand.N(d/2+1)
}

// validate rejects options that would make the run hang or do nothing; tunables already checked user input,
// so these are programming errors and say so.
func (o Options) validate() error {
	var problems []string
	if o.Cluster == "" {
		problems = append(problems, "cluster is empty")
	}
	if len(o.Services) == 0 {
		problems = append(problems, "no service")
	}
	if o.Image.Reference == "" {
		problems = append(problems, "chaos image is empty")
	}
	if o.AffectedPercent < 0 || o.AffectedPercent > 100 {
		problems = append(problems, fmt.Sprintf("affected percent %d is outside 0..100", o.AffectedPercent))
	}
	if o.Duration <= 0 {
		problems = append(problems, "duration must be positive")
	}
	if o.StatusCheckTimeout <= 0 || o.StatusCheckDelay <= 0 {
		problems = append(problems, "status check timeout and delay must be positive")
	}
	if o.RampTime < 0 {
		problems = append(problems, "ramp time is negative")
	}
	if o.Sequence != Parallel && o.Sequence != Serial {
		problems = append(problems, fmt.Sprintf("sequence %q is neither parallel nor serial", o.Sequence))
	}
	if o.RunID == "" {
		problems = append(problems, "run id is empty")
	}
	if len(problems) > 0 {
		return errors.New("invalid fault options: " + strings.Join(problems, "; "))
	}
	return nil
}
