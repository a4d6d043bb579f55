package ecsimage

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// shapeEnv serves the simulator of one of ecssim's shapes (the fixtures `experiment demo --shape` uses) on the scaled
// clock and seeds its service.
func shapeEnv(t *testing.T, name string) (*simEnv, ecssim.Shape) {
	t.Helper()
	sh, ok := ecssim.ShapeNamed(name)
	if !ok {
		t.Fatalf("no shape %q", name)
	}
	e := newSimEnvWith(t, simenv.Options{Timing: sh.Timing})
	if err := sh.Seed(t.Context(), e.sim, e.client); err != nil {
		t.Fatalf("seed shape %s: %v", name, err)
	}
	return e, sh
}

// shapeOptions are the seed's defaults (TOTAL_CHAOS_DURATION 30, CHAOS_INTERVAL 30, STATUS_CHECK_DELAY 2,
// STATUS_CHECK_TIMEOUT 180) against the shape's service.
func (e *simEnv) shapeOptions(sh ecssim.Shape) Options {
	o := e.options(sh.Service.Service)
	o.Cluster = sh.Service.Cluster
	o.Duration, o.Interval = 30*time.Second, 30*time.Second
	return o
}

func (e *simEnv) describeIn(t *testing.T, cluster, service string) types.Service {
	t.Helper()
	return simenv.Service(t, e.client, cluster, service)
}

// liveTasksOf counts the service's tasks of a revision that are RUNNING or on their way.
func (e *simEnv) liveTasksOf(t *testing.T, cluster, service, revision string) int {
	t.Helper()
	list, err := e.client.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service)})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if len(list.TaskArns) == 0 {
		return 0
	}
	out, err := e.client.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	n := 0
	for _, task := range out.Tasks {
		if aws.ToString(task.TaskDefinitionArn) == revision && aws.ToString(task.LastStatus) != "STOPPED" {
			n++
		}
	}
	return n
}

// Issue 13, finding 1. A DAEMON service's API default minimumHealthyPercent is 0 ("The default
// minimumHealthyPercent value for a service using the DAEMON service schedule is 0% for the CLI, the Amazon Web
// Services SDKs, and the APIs", SDK doc of types.DeploymentConfiguration.MinimumHealthyPercent): a chaos deployment
// under it stops the daemon task on every instance. With TASK_REPLICA_AFFECTED_PERC 100 the fault refuses, before
// any change, naming the tunable.
func TestDaemonRefusedWhenEveryDaemonTaskWouldStop(t *testing.T) {
	e, sh := shapeEnv(t, "daemon")
	opts := e.shapeOptions(sh)
	rep := e.run(t, opts)
	if got := rep.Outcome(); got != OutcomeRefused {
		t.Fatalf("outcome %v, want refused; report %+v", got, rep.Services)
	}
	if msg := rep.Services[0].Error; !strings.Contains(msg, "TASK_REPLICA_AFFECTED_PERC") || !strings.Contains(msg, "every instance") {
		t.Errorf("refusal %q does not name the tunable to lower", msg)
	}
	if ops := e.mutatingCalls(); len(ops) > 0 && slices.ContainsFunc(ops, func(op string) bool {
		return op != "CreateCluster" && op != "RegisterTaskDefinition" && op != "CreateService"
	}) {
		t.Errorf("a refused run changed something: %v", ops)
	}
}

// Issue 13, finding 1. With TASK_REPLICA_AFFECTED_PERC 50 the chaos deployment runs with minimumHealthyPercent 50: a
// daemon deployment stops tasks before starting new ones within that bound, so at least half of the 4 instances keep
// their daemon task, and the original configuration (minimumHealthyPercent 0) comes back. The low
// minimumHealthyPercent is warned about for DAEMON too.
func TestDaemonKeepsTheShareTheTunableAllows(t *testing.T) {
	e, sh := shapeEnv(t, "daemon")
	before := e.describeIn(t, "demo", "node-agent")
	if before.DesiredCount != 4 {
		t.Fatalf("daemon runs %d tasks on 4 instances", before.DesiredCount)
	}
	opts := e.shapeOptions(sh)
	opts.AffectedPercent = 50
	// Watch the running daemon tasks from outside through the hold and the restore, every simulated second: the
	// restore must not stop the daemon on the protected instances either.
	done, lowest := make(chan struct{}), make(chan int32, 1)
	go func() {
		low := before.RunningCount
		for clock.Sleep(e.clock, time.Second, done) {
			out, err := e.client.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("demo"), Services: []string{"node-agent"}})
			if err == nil && len(out.Services) == 1 {
				low = min(low, out.Services[0].RunningCount)
			}
		}
		lowest <- low
	}()
	rep := e.run(t, opts)
	close(done)
	if low := <-lowest; low < 2 {
		t.Errorf("daemon tasks RUNNING fell to %d of 4 during the run (hold or restore), want at least 2", low)
	}
	if got := rep.Outcome(); got != OutcomePass {
		t.Fatalf("outcome %v, want Pass; report %+v", got, rep.Services)
	}
	s := rep.Services[0]
	if s.Observations.OriginalRunningLowest < 2 {
		t.Errorf("the original revision ran as few as %d of 4 daemon tasks during the hold, want at least 2", s.Observations.OriginalRunningLowest)
	}
	if !slices.ContainsFunc(s.Warnings, func(w string) bool { return strings.Contains(w, "minimumHealthyPercent is 0") }) {
		t.Errorf("no low-minimumHealthyPercent warning for a DAEMON service: %v", s.Warnings)
	}
	after := e.describeIn(t, "demo", "node-agent")
	if aws.ToInt32(after.DeploymentConfiguration.MinimumHealthyPercent) != 0 || aws.ToString(after.TaskDefinition) != aws.ToString(before.TaskDefinition) {
		t.Errorf("after the fault: %s minimumHealthyPercent %d, want the original revision and 0", aws.ToString(after.TaskDefinition), aws.ToInt32(after.DeploymentConfiguration.MinimumHealthyPercent))
	}
}

// Issue 13, finding 7. ECS-native BLUE_GREEN, LINEAR and CANARY deployments keep both revisions through the bake
// time ("The time period when both blue and green service revisions are running simultaneously after the
// production traffic has shifted", SDK doc of DeploymentConfiguration.BakeTimeInMinutes). The restore is done once
// the original revision runs the desired count and no chaos task remains; the bake is reported, not waited on.
// Before, "restored" required one deployment, so a bake longer than STATUS_CHECK_TIMEOUT failed every run.
func TestStagedStrategiesRestoreWithoutWaitingForTheBake(t *testing.T) {
	for _, name := range []string{"blue-green", "linear", "canary"} {
		t.Run(name, func(t *testing.T) {
			e, sh := shapeEnv(t, name)
			before := e.describeIn(t, "demo", "web")
			opts := e.shapeOptions(sh)
			opts.StatusCheckTimeout = 60 * time.Second // shorter than the 2 min bake time
			rep := e.run(t, opts)
			if got := rep.Outcome(); got != OutcomePass {
				t.Fatalf("outcome %v, want Pass; report %+v", got, rep.Services)
			}
			s := rep.Services[0]
			if !s.Effective || !s.Restore.Completed {
				t.Errorf("effective %v, restore completed %v", s.Effective, s.Restore.Completed)
			}
			if !strings.Contains(s.Restore.InProgress, "bake time 2 min") {
				t.Errorf("restore note %q does not report the bake time", s.Restore.InProgress)
			}
			after := e.describeIn(t, "demo", "web")
			if aws.ToString(after.TaskDefinition) != aws.ToString(before.TaskDefinition) {
				t.Errorf("service runs %s, want the original %s", aws.ToString(after.TaskDefinition), aws.ToString(before.TaskDefinition))
			}
			for _, chaos := range s.ChaosTaskDefinitions {
				if n := e.liveTasksOf(t, "demo", "web", chaos); n > 0 {
					t.Errorf("%d chaos task(s) of %s remain after the restore", n, chaos)
				}
			}
			if n := e.liveTasksOf(t, "demo", "web", aws.ToString(before.TaskDefinition)); n < 3 {
				t.Errorf("the original revision runs %d tasks after the restore, want at least the desired 3", n)
			}
			if !sameDeploymentConfiguration(after.DeploymentConfiguration, before.DeploymentConfiguration) {
				t.Errorf("deployment configuration after = %s, want %s", cliJSON(after.DeploymentConfiguration), cliJSON(before.DeploymentConfiguration))
			}
		})
	}
}

// Issue 13, finding 2. A BLUE_GREEN service with a Lambda lifecycle hook whose hookDetails is a document (SDK type
// document.Interface): the run used to panic copying the configuration through encoding/json. Now it runs, the chaos
// and the restore UpdateService carry the hook with its details (ECS invokes the hook with them: lifecycle hooks,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html), and it ends Pass.
func TestLifecycleHooksSurviveTheFault(t *testing.T) {
	e, sh := shapeEnv(t, "lifecycle-hooks")
	rep := e.run(t, e.shapeOptions(sh))
	if got := rep.Outcome(); got != OutcomePass {
		t.Fatalf("outcome %v, want Pass; report %+v", got, rep.Services)
	}
	deployments := map[string]bool{}
	for _, call := range e.sim.HookInvocations() {
		if call.Target != ecssim.HookARN {
			continue
		}
		deployments[call.DeploymentID] = true
		if !strings.Contains(call.HookDetails, `"suite":"smoke"`) {
			t.Errorf("hook invoked at %s for %s with details %q: the fault lost the hookDetails document", call.Stage, call.DeploymentID, call.HookDetails)
		}
	}
	if len(deployments) < 2 {
		t.Errorf("hook invoked for %d deployment(s), want the chaos and the restore deployment", len(deployments))
	}
	after := e.describeIn(t, "demo", "web")
	if hooks := after.DeploymentConfiguration.LifecycleHooks; len(hooks) != 1 || hooks[0].HookDetails == nil {
		t.Errorf("lifecycle hooks after the fault: %+v", hooks)
	}
}

// A restore deployment held by a lifecycle hook (IN_PROGRESS: "Amazon ECS runs the function again after a short
// period of time", lifecycle hooks page above) still counts as restored once the original revision runs the desired
// count and no chaos task remains, and the result names the hook.
func TestRestoreHeldByHookIsReportedWithTheHook(t *testing.T) {
	e, sh := shapeEnv(t, "lifecycle-hooks")
	opts := e.shapeOptions(sh)
	// The restore goes out as an UpdateService (without ecs:StopServiceDeployment), a new deployment that passes
	// through the hooks' stages.
	e.sim.SetFault("StopServiceDeployment", ecssim.Fault{Error: &ecssim.APIError{Code: "AccessDeniedException", Message: "not authorized to perform ecs:StopServiceDeployment", Status: 400}})
	// Hold every hook invocation from the start of the restore on.
	e.sim.OnRequest(func(r ecssim.Request) {
		if r.Operation == "UpdateService" && strings.Contains(r.Summary, "web:1") {
			e.sim.SetHookOutcome(ecssim.HookARN, ecssim.HookOutcome{Status: ecssim.HookInProgress})
		}
	})
	rep := e.run(t, opts)
	if got := rep.Outcome(); got != OutcomePass {
		t.Fatalf("outcome %v, want Pass; report %+v", got, rep.Services)
	}
	if note := rep.Services[0].Restore.InProgress; !strings.Contains(note, ecssim.HookARN) || !strings.Contains(note, "PRE_SCALE_UP") {
		t.Errorf("restore note %q does not name the hook and its stage", note)
	}
	if stage, _, err := e.sim.DeploymentStage("demo", "web"); err != nil || stage != types.ServiceDeploymentLifecycleStagePreScaleUp {
		t.Errorf("restore deployment at stage %q (%v), want held at PRE_SCALE_UP", stage, err)
	}
}

// Issue 13, finding 9. On Fargate a chaos task provisions, attaches its ENI and retries its pull for longer than the
// seed's default 30 s hold (ecssim.FargateTiming cites the figures): the run must still end Pass, with the effect
// confirmed (a chaos task failed) or stalled (chaos tasks launched, none ever ran: "the deployment stalls until the
// fault ends", as the spec puts it), never "not effective".
func TestFargateDefaultsEndPass(t *testing.T) {
	e, sh := shapeEnv(t, "fargate")
	rep := e.run(t, e.shapeOptions(sh))
	s := rep.Services[0]
	if got := rep.Outcome(); got != OutcomePass {
		t.Fatalf("outcome %v, want Pass (effect confirmed or stalled); not effective because %q; observations %+v", got, s.NotEffectiveReason, s.Observations)
	}
	if s.Observations.ChaosRunningMax > 0 {
		t.Errorf("a chaos task ran: %+v", s.Observations)
	}
}
