package ecssim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Container image resolution,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html#deployment-container-image-stability:
// a deployment resolves a tag once and starts every task with that digest (scaling out included); a new
// deployment resolves again; a container with versionConsistency disabled resolves per task.
func TestDeploymentPinsDigestUntilTheNextDeployment(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	s.AddImage("registry.example/app:latest", digestV1)
	s.AddImage("registry.example/sidecar:latest", digestV1)
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 1, Containers: []types.ContainerDefinition{
		{Name: aws.String("app"), Image: aws.String("registry.example/app:latest"), Essential: aws.Bool(true)},
		{Name: aws.String("sidecar"), Image: aws.String("registry.example/sidecar:latest"), VersionConsistency: types.VersionConsistencyDisabled},
	}}); err != nil {
		t.Fatal(err)
	}
	mustMoveTag(t, s, "registry.example/app:latest", digestV2)
	mustMoveTag(t, s, "registry.example/sidecar:latest", digestV2)
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	svc := watch(ctx, t, s, c, "prod", "web", 2*time.Minute, nil, func(svc types.Service) bool { return svc.RunningCount == 3 })
	got := containerDigests(t, ctx, c)
	if got["app"][digestV1] != 3 || len(got["app"]) != 1 {
		t.Errorf("app (version consistency) runs %v after scale-out, want %s everywhere", got["app"], digestV1)
	}
	if got["sidecar"][digestV1] != 1 || got["sidecar"][digestV2] != 2 {
		t.Errorf("sidecar (versionConsistency disabled) runs %v, want the old digest once and the moved one on the 2 new tasks", got["sidecar"])
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	watch(ctx, t, s, c, "prod", "web", 3*time.Minute, nil, steady(aws.ToString(svc.TaskDefinition)))
	if got := containerDigests(t, ctx, c); got["app"][digestV2] != 3 || len(got["app"]) != 1 {
		t.Errorf("after a new deployment app runs %v, want the moved tag's %s", got["app"], digestV2)
	}
}

func containerDigests(t *testing.T, ctx context.Context, c *ecs.Client) map[string]map[string]int {
	t.Helper()
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int{}
	for _, task := range desc.Tasks {
		if aws.ToString(task.LastStatus) != "RUNNING" {
			continue
		}
		for _, ct := range task.Containers {
			name := aws.ToString(ct.Name)
			if out[name] == nil {
				out[name] = map[string]int{}
			}
			out[name][aws.ToString(ct.ImageDigest)]++
		}
	}
	return out
}

// "If three or more attempts at establishing the container image digests fail, the deployment continues
// without image digest resolution. If the deployment circuit breaker is enabled, the deployment is
// additionally failed and rolled back." (deployment-type-ecs.html#deployment-container-image-stability):
// with 10 tasks the breaker's own threshold would be 5.
func TestUnresolvableTagFailsTheDeploymentAfterThreeAttempts(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 10,
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true},
			MaximumPercent: aws.Int32(120), MinimumHealthyPercent: aws.Int32(100)}}); err != nil { // two new tasks at a time
		t.Fatal(err)
	}
	updateTaskDefinition(ctx, t, c, "prod", "web", registerRevision(ctx, t, c, "web", "nginx:no-such-tag"))
	svc := watch(ctx, t, s, c, "prod", "web", 5*time.Minute, nil, func(svc types.Service) bool {
		return primary(svc).RolloutState == types.DeploymentRolloutStateFailed
	})
	if p := primary(svc); p.FailedTasks >= circuitBreakerThreshold(10) || p.FailedTasks < digestResolutionAttempts {
		t.Errorf("deployment FAILED after %d failed tasks, want %d resolution attempts (before the breaker's %d)", p.FailedTasks, digestResolutionAttempts, circuitBreakerThreshold(10))
	}
	d := serviceDeployments(ctx, t, c, "prod", "web")[0]
	if d.Status != types.ServiceDeploymentStatusStopped || d.DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		t.Errorf("service deployment %s, breaker %+v: want STOPPED (no rollback option) with the breaker TRIGGERED", d.Status, d.DeploymentCircuitBreaker)
	}
}

// A rollback to a revision whose digest was deleted cannot pull it (the digest, not the tag, is what the
// revision runs).
func TestDeletedDigestFailsTheRollback(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	s.AddImage("registry.example/app:latest", digestV1)
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 1, Image: "registry.example/app:latest"}); err != nil {
		t.Fatal(err)
	}
	updateTaskDefinition(ctx, t, c, "prod", "web", registerRevision(ctx, t, c, "web", "registry.example/app:chaos"))
	chaos := aws.ToString(describeService(ctx, t, c, "prod", "web").CurrentServiceDeployment)
	mustMoveTag(t, s, "registry.example/app:latest", digestV2)
	s.DeleteDigest("registry.example/app", digestV1)
	if _, err := c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(chaos), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatal(err)
	}
	watch(ctx, t, s, c, "prod", "web", 3*time.Minute, nil, func(svc types.Service) bool { return primary(svc).FailedTasks > 0 })
	for _, task := range stoppedTasks(ctx, t, c, "prod", "web") {
		if reason := aws.ToString(task.StoppedReason); task.StopCode == types.TaskStopCodeTaskFailedToStart && !strings.Contains(reason, "registry.example/app@"+digestV1) {
			t.Errorf("rollback task failed with %q, want the deleted digest named", reason)
		}
	}
}

// types.Deployment.FailedTasks: "The number of consecutively failed tasks in the deployment ... Once a service
// deployment has one or more successfully running tasks, the failed task count resets to zero and stops being
// evaluated."
func TestFailedTasksResetOnceATaskRan(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	s.AddImage("registry.example/app:v1", digestV1)
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 1, Image: "nginx"}); err != nil {
		t.Fatal(err)
	}
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("app"), Image: aws.String("registry.example/app:v1"), VersionConsistency: types.VersionConsistencyDisabled}}})
	if err != nil {
		t.Fatal(err)
	}
	updateTaskDefinition(ctx, t, c, "prod", "web", aws.ToString(reg.TaskDefinition.TaskDefinitionArn))
	watch(ctx, t, s, c, "prod", "web", 2*time.Minute, nil, func(svc types.Service) bool { return primary(svc).RunningCount == 1 })
	s.DeleteTag("registry.example/app:v1")
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	clockSleep(ctx, t, s, 2*time.Minute)
	svc := describeService(ctx, t, c, "prod", "web")
	if n := len(stoppedTasks(ctx, t, c, "prod", "web")); n < 2 {
		t.Fatalf("want failing tasks after the tag was deleted, %d stopped:\n%s", n, summarize(svc))
	}
	if p := primary(svc); p.FailedTasks != 0 {
		t.Errorf("failedTasks = %d after a task of the deployment ran, want 0:\n%s", p.FailedTasks, summarize(svc))
	}
}

// rolloutState "is only returned for services that use the rolling update (ECS) deployment type that aren't
// behind a Classic Load Balancer" (types.Deployment.RolloutState).
func TestRolloutStateOnlyForTheECSController(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	for _, ctl := range []types.DeploymentControllerType{types.DeploymentControllerTypeEcs, types.DeploymentControllerTypeExternal} {
		name := strings.ToLower(string(ctl))
		if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: name, Family: name, DesiredCount: 1, Controller: ctl}); err != nil {
			t.Fatal(err)
		}
		d := primary(describeService(ctx, t, c, "prod", name))
		if want := map[bool]types.DeploymentRolloutState{true: types.DeploymentRolloutStateCompleted}[ctl == types.DeploymentControllerTypeEcs]; d.RolloutState != want || (want == "" && d.RolloutStateReason != nil) {
			t.Errorf("%s controller: rolloutState %q reason %v, want %q", ctl, d.RolloutState, d.RolloutStateReason, want)
		}
	}
}

func mustMoveTag(t *testing.T, s *Simulator, ref, digest string) {
	t.Helper()
	if err := s.MoveTag(ref, digest); err != nil {
		t.Fatal(err)
	}
}
