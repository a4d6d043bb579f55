package ecsimage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

const (
	digestV1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digestV2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func denied(op string) ecssim.Fault {
	return ecssim.Fault{Error: &ecssim.APIError{Code: "AccessDeniedException", Message: "not authorized to perform ecs:" + op}}
}

// Finding 4 of issue 13: a revert by a person or a pipeline is not ECS's rollback. ECS's own evidence is the
// service deployment's rollback record (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html)
// or, without ecs:DescribeServiceDeployments, the chaos deployment's FAILED rolloutState (types.Deployment.RolloutState).
func TestRevertBySomeoneElseIsNotECSRollback(t *testing.T) {
	for _, history := range []bool{true, false} {
		t.Run(map[bool]string{true: "with DescribeServiceDeployments", false: "without"}[history], func(t *testing.T) {
			e := newSimEnv(t)
			e.seed(t, ecssim.SeedSpec{Service: "api", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, true)})
			before := e.describe(t, "api")
			if !history {
				e.sim.SetFault("DescribeServiceDeployments", denied("DescribeServiceDeployments"))
			}
			opts := e.options("api")
			opts.Hooks.Injected = func(string, string) { // an operator reverts by hand at once
				if _, err := e.client.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"),
					TaskDefinition: before.TaskDefinition}); err != nil {
					t.Errorf("manual revert: %v", err)
				}
			}
			report := e.run(t, opts)
			s := report.Services[0]
			o := s.Observations
			if o.RolledBackByECS || !o.RevertedBySomeoneElse {
				t.Errorf("rolledBackByECS %v revertedBySomeoneElse %v (%s), want a revert by someone else", o.RolledBackByECS, o.RevertedBySomeoneElse, o.RollbackEvidence)
			}
			if s.Restore.Action != RestoreRevertedBySomeoneElse || !hasWarning(s, "by someone else") {
				t.Errorf("restore action %s, warnings %q", s.Restore.Action, s.Warnings)
			}
		})
	}
}

// The circuit breaker's rollback stays ECS's, with the evidence named, whether or not the history API is granted.
func TestECSRollbackEvidence(t *testing.T) {
	for _, history := range []bool{true, false} {
		t.Run(map[bool]string{true: "service deployment", false: "rolloutState"}[history], func(t *testing.T) {
			e := newSimEnv(t)
			e.seed(t, ecssim.SeedSpec{Service: "api", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, true)})
			if !history {
				e.sim.SetFault("DescribeServiceDeployments", denied("DescribeServiceDeployments"))
			}
			opts := e.options("api")
			opts.Duration, opts.Interval = 240*time.Second, 240*time.Second
			report := e.run(t, opts)
			s := report.Services[0]
			o := s.Observations
			want := map[bool]string{true: "ROLLBACK_", false: "FAILED"}[history]
			if !o.RolledBackByECS || o.RevertedBySomeoneElse || !strings.Contains(o.RollbackEvidence, want) {
				t.Errorf("rolledBackByECS %v evidence %q, want ECS's with %q", o.RolledBackByECS, o.RollbackEvidence, want)
			}
			if history && (o.CircuitBreaker == nil || o.CircuitBreaker.Status != "TRIGGERED") {
				t.Errorf("circuit breaker %+v, want TRIGGERED", o.CircuitBreaker)
			}
			if s.Restore.Action != RestoreRolledBackByECS || report.Outcome() != OutcomePass {
				t.Errorf("restore %s outcome %v", s.Restore.Action, report.Outcome())
			}
		})
	}
}

// Finding 5: the restore keeps the digests. While the chaos deployment is in progress StopServiceDeployment ROLLBACK
// returns to the previous service revision with its digests
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stop-service-deployment.html); UpdateService is a new
// deployment that resolves the moved tag again
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html#deployment-container-image-stability),
// which the report shows as a warning.
func TestRestoreKeepsImageDigests(t *testing.T) {
	for _, stop := range []bool{true, false} {
		t.Run(map[bool]string{true: RestoreMethodStopDeployment, false: RestoreMethodUpdateService}[stop], func(t *testing.T) {
			e := newSimEnv(t)
			e.sim.AddImage("registry.example/app:latest", digestV1)
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, Image: "registry.example/app:latest", DeploymentConfiguration: rollingDC(100, 200, false)})
			before := e.describe(t, "web")
			if !stop {
				e.sim.SetFault("StopServiceDeployment", denied("StopServiceDeployment"))
			}
			opts := e.options("web")
			opts.Hooks.Injected = func(string, string) {
				if err := e.sim.MoveTag("registry.example/app:latest", digestV2); err != nil { // a pipeline pushes meanwhile
					t.Error(err)
				}
			}
			report := e.run(t, opts)
			s := report.Services[0]
			e.assertRestored(t, s, before)
			if got := s.Restore.Method; got != map[bool]string{true: RestoreMethodStopDeployment, false: RestoreMethodUpdateService}[stop] {
				t.Errorf("restore method %q", got)
			}
			if got := s.Observations.DigestsAfter["app"]; len(got) != 1 || got[0] != map[bool]string{true: digestV1, false: digestV2}[stop] {
				t.Errorf("digests after the restore %v (before %v)", got, s.Observations.DigestsBefore)
			}
			changed := len(s.Observations.ChangedDigests) > 0
			if changed == stop || hasWarning(s, "resolved again") == stop {
				t.Errorf("changed digests %+v, warnings %q", s.Observations.ChangedDigests, s.Warnings)
			}
			if report.Outcome() != OutcomePass {
				t.Errorf("outcome %v: %s", report.Outcome(), s.Error)
			}
		})
	}
}

// Finding 8: the effect rests on the chaos deployment's stopped tasks, not on failedTasks, which "resets to zero
// and stops being evaluated" once a task of the deployment ran (types.Deployment.FailedTasks). Here the chaos
// image pulls for the first chaos tasks, then its tag is deleted: later chaos tasks fail to pull while
// failedTasks stays 0.
func TestEffectFromStoppedTasksWhenFailedTasksStaysZero(t *testing.T) {
	e := newSimEnvWith(t, simenv.Options{Timing: ecssim.Timing{Provisioning: 20 * time.Second}})
	e.sim.AddImage("registry.example/app:chaos", digestV2)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 4, DeploymentConfiguration: rollingDC(100, 150, false),
		Containers: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Essential: aws.Bool(true), VersionConsistency: types.VersionConsistencyDisabled}}})
	opts := e.options("web")
	opts.Image = mustImage("registry.example/app:chaos", "testrun")
	opts.Duration, opts.Interval = 120*time.Second, 120*time.Second
	deleted := false
	opts.Hooks.Progress = func(s ServiceReport) {
		if s.Observations.ChaosRunningMax > 0 && !deleted {
			deleted = true
			e.sim.DeleteTag("registry.example/app:chaos")
		}
	}
	report := e.run(t, opts)
	s := report.Services[0]
	if !deleted {
		t.Fatalf("no chaos task ran: %+v", s.Observations)
	}
	if s.Effect != EffectConfirmed || !strings.HasPrefix(s.Observations.FirstFailureReason, "CannotPullContainerError") {
		t.Errorf("effect %q (%s), first failure %q, want confirmed from the stopped tasks", s.Effect, s.NotEffectiveReason, s.Observations.FirstFailureReason)
	}
}

// Chaos tasks launched and still pulling when the hold ends: the deployment stalled, as the spec describes. Not an
// error, with a warning suggesting a longer hold.
func TestStalledEffectIsNotAnError(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	opts := e.options("web")
	opts.Duration, opts.Interval = 12*time.Second, 12*time.Second // pulls fail after 3 s + 20 s
	report := e.run(t, opts)
	s := report.Services[0]
	if s.Effect != EffectStalled || !s.Effective || !hasWarning(s, "longer hold") {
		t.Errorf("effect %q effective %v warnings %q, want stalled with a warning", s.Effect, s.Effective, s.Warnings)
	}
	if report.Outcome() != OutcomePass {
		t.Errorf("outcome %v, want pass: %s %s", report.Outcome(), s.NotEffectiveReason, s.Error)
	}
	e.assertRestored(t, s, before)
}
