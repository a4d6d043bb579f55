package ecsimage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

func TestMaximumPercent100StopsOldTasksFirst(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 4, DeploymentConfiguration: rollingDC(50, 100, false)})
	before := e.describe(t, "web")

	report := e.run(t, e.options("web"))

	s := report.Services[0]
	if report.Outcome() != OutcomePass {
		t.Fatalf("outcome = %v: %+v", report.Outcome(), s)
	}
	if s.Observations.ChaosTasksAllowed != 2 {
		t.Errorf("chaos tasks allowed = %d, want 2 (floor(100%% of 4) - ceil(50%% of 4))", s.Observations.ChaosTasksAllowed)
	}
	if s.Observations.OriginalRunningLowest != 2 {
		t.Errorf("original RUNNING lowest = %d, want 2: ECS stops old tasks down to minimumHealthyPercent to make room", s.Observations.OriginalRunningLowest)
	}
	e.assertRestored(t, s, before)
}

func TestMinimumHealthyZeroIsWarnedAndDrainIsRecorded(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(0, 100, false)})
	before := e.describe(t, "web")

	report := e.run(t, e.options("web"))

	s := report.Services[0]
	if !hasWarning(s, "minimumHealthyPercent is 0") {
		t.Errorf("no minimumHealthyPercent warning: %q", s.Warnings)
	}
	if s.Observations.OriginalRunningLowest != 0 {
		t.Errorf("original RUNNING lowest = %d, want 0: minimumHealthyPercent 0 drains healthy tasks", s.Observations.OriginalRunningLowest)
	}
	if report.Outcome() != OutcomePass {
		t.Errorf("outcome = %v: %+v", report.Outcome(), s)
	}
	e.assertRestored(t, s, before)
}

func TestAffectedPercentNarrowsChaosTasks(t *testing.T) {
	cases := []struct {
		name           string
		desired        int32
		percent        int
		wantAllowed    int
		wantMaxPercent int32
		wantOutcome    Outcome
	}{
		{"100 percent of 3", 3, 100, 3, 200, OutcomePass},
		{"50 percent of 3", 3, 50, 1, 150, OutcomePass},
		{"0 percent of 3", 3, 0, 0, 100, OutcomeError},
		{"50 percent of 1 allows none", 1, 50, 0, 150, OutcomeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t)
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: tc.desired, DeploymentConfiguration: rollingDC(100, 200, false)})
			before := e.describe(t, "web")
			var chaosMax int32
			e.sim.OnRequest(func(r ecssim.Request) {
				if r.Operation == "UpdateService" && chaosMax == 0 {
					chaosMax = aws.ToInt32(e.describe(t, "web").DeploymentConfiguration.MaximumPercent)
				}
			})
			opts := e.options("web")
			opts.AffectedPercent = tc.percent
			report := e.run(t, opts)
			s := report.Services[0]
			if s.Observations.ChaosTasksAllowed != tc.wantAllowed {
				t.Errorf("chaos tasks allowed = %d, want %d", s.Observations.ChaosTasksAllowed, tc.wantAllowed)
			}
			if chaosMax != tc.wantMaxPercent {
				t.Errorf("chaos maximumPercent = %d, want %d", chaosMax, tc.wantMaxPercent)
			}
			if s.Observations.ChaosPendingMax+s.Observations.ChaosRunningMax > tc.wantAllowed {
				t.Errorf("ECS ran %d chaos tasks at once, more than the %d allowed", s.Observations.ChaosPendingMax+s.Observations.ChaosRunningMax, tc.wantAllowed)
			}
			if got := report.Outcome(); got != tc.wantOutcome {
				t.Errorf("outcome = %v, want %v (%s)", got, tc.wantOutcome, s.NotEffectiveReason)
			}
			if tc.wantAllowed == 0 && (!hasWarning(s, "may start no chaos task") || s.NotEffectiveReason == "") {
				t.Errorf("zero chaos tasks must be warned and explained: warnings %q, reason %q", s.Warnings, s.NotEffectiveReason)
			}
			e.assertRestored(t, s, before)
		})
	}
}

func TestImageThatPullsIsNotPass(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	opts := e.options("web")
	opts.Image = mustImage("nginx:latest", "testrun")

	report := e.run(t, opts)

	s := report.Services[0]
	if report.Outcome() == OutcomePass || s.Effective {
		t.Fatalf("a pulling image gave outcome %v, effective %v", report.Outcome(), s.Effective)
	}
	if !strings.Contains(s.NotEffectiveReason, "pulled") || !hasWarning(s, "used as given") {
		t.Errorf("reason %q / warnings %q do not say the image pulled", s.NotEffectiveReason, s.Warnings)
	}
	e.assertRestored(t, s, before)
}

func TestDroppedRegisterReplyRegistersOnce(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	e.sim.ResetRequests()
	e.sim.SetFault("RegisterTaskDefinition", ecssim.Fault{Drop: 1})

	report := e.run(t, e.options("web"))

	s := report.Services[0]
	if n := countOps(e.mutatingCalls(), "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d RegisterTaskDefinition calls reached ECS, want 1 (the dropped one registered)", n)
	}
	if len(s.ChaosTaskDefinitions) != 1 {
		t.Errorf("chaos revisions %v, want exactly one", s.ChaosTaskDefinitions)
	}
	list, err := e.client.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: types.TaskDefinitionStatusInactive})
	if err != nil || len(list.TaskDefinitionArns) != 1 {
		t.Errorf("family has INACTIVE revisions %v (%v), want exactly the one chaos revision", list.TaskDefinitionArns, err)
	}
	if report.Outcome() != OutcomePass {
		t.Errorf("outcome %v: %+v", report.Outcome(), s)
	}
	e.assertRestored(t, s, before)
}

func TestTargetContainersSwapsOnlyThoseNamed(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false),
		Containers: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("nginx"), Essential: aws.Bool(true)},
			{Name: aws.String("sidecar"), Image: aws.String("nginx:latest"), Essential: aws.Bool(false)},
		}})
	before := e.describe(t, "web")
	opts := e.options("web")
	opts.TargetContainers = []string{"sidecar"}

	report := e.run(t, opts)

	s := report.Services[0]
	chaos := e.taskDefinition(t, s.ChaosTaskDefinitions[0])
	images := map[string]string{}
	for _, c := range chaos.ContainerDefinitions {
		images[aws.ToString(c.Name)] = aws.ToString(c.Image)
	}
	if images["app"] != "nginx" || !strings.Contains(images["sidecar"], "chaos-invalid-testrun") {
		t.Errorf("chaos images = %v, want app untouched and sidecar swapped", images)
	}
	if report.Outcome() != OutcomePass {
		t.Errorf("outcome %v: %+v", report.Outcome(), s)
	}
	e.assertRestored(t, s, before)

	opts.TargetContainers = []string{"nope"}
	e.sim.ResetRequests()
	report = e.run(t, opts)
	if report.Outcome() != OutcomeRefused || !strings.Contains(report.Services[0].Error, "app, sidecar") {
		t.Errorf("unknown target: outcome %v, error %q; want a refusal naming the containers", report.Outcome(), report.Services[0].Error)
	}
	if m := e.mutatingCalls(); len(m) != 0 {
		t.Errorf("a refused run made mutating calls %v", m)
	}
}

func TestTwoCycles(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	opts := e.options("web")
	opts.Duration, opts.Interval = 150*time.Second, 40*time.Second

	report := e.run(t, opts)

	s := report.Services[0]
	if s.Cycles < 2 || len(s.ChaosTaskDefinitions) != s.Cycles {
		t.Fatalf("cycles %d with chaos revisions %v, want at least 2 cycles, one revision each", s.Cycles, s.ChaosTaskDefinitions)
	}
	if n := countOps(e.mutatingCalls(), "DeregisterTaskDefinition"); n != s.Cycles {
		t.Errorf("%d deregistrations for %d cycles", n, s.Cycles)
	}
	if report.Outcome() != OutcomePass {
		t.Errorf("outcome %v: %+v", report.Outcome(), s)
	}
	e.assertRestored(t, s, before)
}

func TestThreeServices(t *testing.T) {
	for _, seq := range []Sequence{Parallel, Serial} {
		t.Run(string(seq), func(t *testing.T) {
			e := newSimEnv(t)
			names := []string{"a", "b", "c"}
			befores := map[string]types.Service{}
			for _, n := range names {
				e.seed(t, ecssim.SeedSpec{Service: n, DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
				befores[n] = e.describe(t, n)
			}
			var injectedAt []time.Time
			opts := e.options(names...)
			opts.Sequence = seq
			opts.Duration, opts.Interval = 40*time.Second, 40*time.Second
			opts.Hooks.Injected = func(string, string) { injectedAt = append(injectedAt, e.clock.Now()) }

			report := e.run(t, opts)

			if report.Outcome() != OutcomePass {
				t.Fatalf("outcome %v: %+v", report.Outcome(), report.Services)
			}
			for _, s := range report.Services {
				e.assertRestored(t, s, befores[s.Service])
			}
			spread := injectedAt[len(injectedAt)-1].Sub(injectedAt[0])
			if seq == Parallel && spread > 10*time.Second {
				t.Errorf("parallel injections spread over %s", spread)
			}
			if seq == Serial && spread < 80*time.Second {
				t.Errorf("serial injections spread over only %s, want one full duration per service", spread)
			}
		})
	}
}

func TestThirdPartyDeploymentIsLeftAlone(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	var theirs string
	opts := e.options("web")
	opts.Hooks.Injected = func(string, string) {
		reg, err := e.client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:latest")}},
		})
		if err != nil {
			t.Errorf("third-party register: %v", err)
			return
		}
		theirs = aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
		if _, err := e.client.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(theirs)}); err != nil {
			t.Errorf("third-party deploy: %v", err)
		}
	}

	report := e.run(t, opts)

	s := report.Services[0]
	if s.Restore.Action != RestoreLeftToThirdParty {
		t.Errorf("restore action = %s, want %s", s.Restore.Action, RestoreLeftToThirdParty)
	}
	if got := aws.ToString(e.describe(t, "web").TaskDefinition); got != theirs {
		t.Errorf("service runs %s, want the third party's %s", got, theirs)
	}
	if !hasWarning(s, "someone") || s.Observations.ThirdPartyTaskDefinition != theirs {
		t.Errorf("third-party deployment not reported: %q, %q", s.Warnings, s.Observations.ThirdPartyTaskDefinition)
	}
	if td := e.taskDefinition(t, s.ChaosTaskDefinitions[0]); td.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("chaos revision is %s, want INACTIVE", td.Status)
	}
}

func TestStopDuringHoldRestores(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	opts := e.options("web")
	opts.Duration, opts.Interval = 600*time.Second, 600*time.Second
	opts.Hooks.Progress = func(s ServiceReport) {
		if s.Observations.FailedTasks > 0 {
			cancel(&StopCause{Reason: "received SIGTERM"})
		}
	}
	var injects int
	opts.Hooks.Injected = func(string, string) { injects++ }

	start := time.Now()
	report := Run(ctx, e.clients, opts)

	if report.Outcome() != OutcomeStopped || report.Stop == nil || report.Stop.Reason != "received SIGTERM" {
		t.Fatalf("outcome %v stop %+v, want stopped by SIGTERM", report.Outcome(), report.Stop)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("the stopped run took %s of real time; the 600 s hold must end at the stop", took)
	}
	if injects != 1 {
		t.Errorf("%d injections, want 1: nothing injects after a stop", injects)
	}
	e.assertRestored(t, report.Services[0], before)
}

func TestRestoreFailureNamesManualSteps(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	opts := e.options("web")
	opts.Hooks.Injected = func(string, string) {
		e.sim.SetFault("UpdateService", ecssim.Fault{Error: &ecssim.APIError{Code: "AccessDeniedException", Message: "not authorized to perform ecs:UpdateService", Status: 400}})
		e.sim.SetFault("StopServiceDeployment", ecssim.Fault{Error: &ecssim.APIError{Code: "AccessDeniedException", Message: "not authorized to perform ecs:StopServiceDeployment", Status: 400}})
	}

	report := e.run(t, opts)

	s := report.Services[0]
	if report.Outcome() != OutcomeRestoreFailed || s.State != StateRestoreFailed {
		t.Fatalf("outcome %v state %s, want restore-failed", report.Outcome(), s.State)
	}
	var rerr *RestoreError
	if !errors.As(s.Err(), &rerr) {
		t.Fatalf("error %v is not a RestoreError", s.Err())
	}
	if len(s.Restore.ManualSteps) == 0 || !strings.Contains(s.Restore.ManualSteps[0], "--task-definition "+s.OriginalTaskDefinition) ||
		!strings.Contains(s.Restore.ManualSteps[0], `"maximumPercent":200`) {
		t.Errorf("manual steps %q do not name the original revision and configuration", s.Restore.ManualSteps)
	}
	if !strings.Contains(s.Error, "ecs:UpdateService") || !strings.Contains(s.Error, "web") {
		t.Errorf("error %q does not name the service and the permission", s.Error)
	}
	// The chaos revision stays ACTIVE: the service still points at it, and deregistering it would only make the
	// manual roll back harder to understand.
	if td := e.taskDefinition(t, s.ChaosTaskDefinitions[0]); td.Status != types.TaskDefinitionStatusActive {
		t.Errorf("chaos revision is %s while the service still uses it", td.Status)
	}
}

func hasWarning(s ServiceReport, part string) bool {
	for _, w := range s.Warnings {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}

func TestStopDuringRestoreWaitStillCompletes(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// The restore deregisters the chaos revision just before it starts waiting: stop right there.
	e.sim.OnRequest(func(r ecssim.Request) {
		if r.Operation == "DeregisterTaskDefinition" {
			cancel(&StopCause{Reason: "received SIGTERM"})
		}
	})

	report := Run(ctx, e.clients, e.options("web"))

	s := report.Services[0]
	if report.Outcome() != OutcomeStopped {
		t.Fatalf("outcome %v, want stopped: %+v", report.Outcome(), s)
	}
	if !s.Restore.Completed {
		t.Errorf("the restore wait was cut short by the stop although the abort deadline leaves it time: %+v", s.Restore)
	}
	e.assertRestored(t, s, before)
}
