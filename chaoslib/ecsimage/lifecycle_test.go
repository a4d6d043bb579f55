package ecsimage

import (
	"strings"
	"testing"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

func TestStalledDeploymentKeepsHealthyTasksAndRestores(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 3, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")

	report := e.run(t, e.options("web"))

	if got := report.Outcome(); got != OutcomePass {
		t.Fatalf("outcome = %v, want pass; report: %+v", got, report.Services)
	}
	s := report.Services[0]
	o := s.Observations
	if !s.Effective || o.FailedTasks == 0 {
		t.Errorf("effective=%v failed=%d, want chaos tasks failing", s.Effective, o.FailedTasks)
	}
	if !strings.HasPrefix(o.FirstFailureReason, "CannotPullContainerError:") {
		t.Errorf("first failure reason = %q, want CannotPullContainerError", o.FirstFailureReason)
	}
	if o.OriginalRunningLowest != 3 || o.OriginalRunningAtStart != 3 {
		t.Errorf("original RUNNING lowest/start = %d/%d, want 3/3 (a stalled deployment keeps healthy tasks)", o.OriginalRunningLowest, o.OriginalRunningAtStart)
	}
	if o.ChaosTasksAllowed != 3 {
		t.Errorf("chaos tasks allowed = %d, want 3 (100/200 of 3)", o.ChaosTasksAllowed)
	}
	if o.RolledBackByECS {
		t.Error("reported an ECS rollback without a circuit breaker")
	}
	if s.Restore.Action != RestoreReverted || !s.Restore.Completed {
		t.Errorf("restore = %+v, want reverted and completed", s.Restore)
	}
	e.assertRestored(t, s, before)
}

func TestCircuitBreakerRollbackIsObservedAndRestoreIsNoOp(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "api", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, true)})
	before := e.describe(t, "api")
	opts := e.options("api")
	opts.Duration, opts.Interval = 240e9, 240e9 // long enough for 3 failures (the threshold for 2 tasks) and the rollback
	opts.AffectedPercent = 50                   // maximumPercent 150: the configuration differs and must come back

	report := e.run(t, opts)

	s := report.Services[0]
	if got := report.Outcome(); got != OutcomePass {
		t.Fatalf("outcome = %v, want pass: %+v", got, s)
	}
	if !s.Observations.RolledBackByECS || s.Observations.RollbackSeconds <= 0 {
		t.Errorf("rollback not observed: %+v", s.Observations)
	}
	if s.Restore.Action != RestoreRolledBackByECS {
		t.Errorf("restore action = %s, want %s", s.Restore.Action, RestoreRolledBackByECS)
	}
	var failed bool
	for _, c := range s.Observations.RolloutStates {
		failed = failed || c.State == "FAILED"
	}
	if !failed {
		t.Errorf("no FAILED rolloutState recorded: %+v", s.Observations.RolloutStates)
	}
	// ECS rolled back the revision but kept the fault's deployment configuration: restore puts the original back.
	if !s.Restore.DeploymentConfigurationRestored {
		t.Error("deployment configuration not restored after the ECS rollback")
	}
	e.assertRestored(t, s, before)
	if n := countOps(e.mutatingCalls(), "UpdateService"); n != 2 {
		t.Errorf("%d UpdateService calls, want 2 (inject, then the configuration only)", n)
	}
}

func countOps(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}
