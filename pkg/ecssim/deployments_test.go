package ecssim

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

func TestBounds(t *testing.T) {
	cases := []struct {
		desired, minPct, maxPct int32
		wantMax, wantMin        int
	}{
		{desired: 4, minPct: 100, maxPct: 200, wantMax: 8, wantMin: 4},
		{desired: 3, minPct: 50, maxPct: 150, wantMax: 4, wantMin: 2}, // 4.5 down, 1.5 up
		{desired: 3, minPct: 0, maxPct: 100, wantMax: 3, wantMin: 0},
		{desired: 1, minPct: 50, maxPct: 100, wantMax: 1, wantMin: 1},
		{desired: 5, minPct: 33, maxPct: 133, wantMax: 6, wantMin: 2},
	}
	for _, tc := range cases {
		svc := &service{desired: tc.desired, cfg: types.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(tc.minPct), MaximumPercent: aws.Int32(tc.maxPct)}}
		gotMax, gotMin := svc.bounds()
		if gotMax != tc.wantMax || gotMin != tc.wantMin {
			t.Errorf("desired %d min %d%% max %d%%: got max %d min %d, want %d %d", tc.desired, tc.minPct, tc.maxPct, gotMax, gotMin, tc.wantMax, tc.wantMin)
		}
	}
}

func TestCircuitBreakerThreshold(t *testing.T) {
	cases := map[int32]int32{0: 3, 1: 3, 5: 3, 6: 3, 7: 4, 10: 5, 399: 200, 400: 200, 1000: 200}
	for desired, want := range cases {
		if got := circuitBreakerThreshold(desired); got != want {
			t.Errorf("threshold(%d) = %d, want %d", desired, got, want)
		}
	}
	configured := []struct {
		cfg     types.ThresholdConfiguration
		desired int32
		want    int32
	}{
		{types.ThresholdConfiguration{Type: types.ThresholdTypeCount, Value: 2}, 10, 2},
		{types.ThresholdConfiguration{Type: types.ThresholdTypeUnboundedPercent, Value: 100}, 1000, 1000},
		{types.ThresholdConfiguration{Type: types.ThresholdTypeUnboundedPercent, Value: 10}, 2, 1},
		{types.ThresholdConfiguration{Type: types.ThresholdTypeBoundedPercent, Value: 100}, 2, 3},
	}
	for _, tc := range configured {
		if got := thresholdFor(&tc.cfg, tc.desired); got != tc.want {
			t.Errorf("%+v of %d = %d, want %d", tc.cfg, tc.desired, got, tc.want)
		}
	}
}

// Without rollback, a tripped circuit breaker leaves the deployment FAILED and launches nothing more.
func TestCircuitBreakerWithoutRollbackStopsLaunching(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	_, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 2,
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	bad := registerRevision(ctx, t, c, "web", "nginx:missing")
	updateTaskDefinition(ctx, t, c, "prod", "web", bad)
	failed := watch(ctx, t, s, c, "prod", "web", 3*time.Minute, nil, func(svc types.Service) bool {
		return primary(svc).RolloutState == types.DeploymentRolloutStateFailed
	})
	clockSleep(ctx, t, s, 2*time.Minute)
	later := describeService(ctx, t, c, "prod", "web")
	if primary(later).FailedTasks != primary(failed).FailedTasks || later.PendingCount != 0 || later.RunningCount != 2 ||
		aws.ToString(later.TaskDefinition) != bad || hasEvent(later, "rolling back") {
		t.Fatalf("after FAILED without rollback:\n%s", summarize(later))
	}
}

// A deployment to an image that does not exist, with the default 100/200, keeps every healthy task and
// keeps retrying new ones: failed tasks pile up with CannotPullContainerError and launches back off.
// It runs on a scaled clock so that the background scheduler, not only requests, drives the simulation.
func TestBadImageDeploymentStalls(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Clock: clock.NewScaled(testScale)})
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 3}); err != nil {
		t.Fatal(err)
	}
	original := aws.ToString(describeService(ctx, t, c, "prod", "web").TaskDefinition)
	bad := registerRevision(ctx, t, c, "web", "nginx:chaos-x")
	updateTaskDefinition(ctx, t, c, "prod", "web", bad)

	svc := watch(ctx, t, s, c, "prod", "web", 5*time.Minute, func(svc types.Service) {
		if svc.RunningCount != 3 {
			t.Fatalf("running tasks fell to %d during a stalled deployment with minimumHealthyPercent 100:\n%s", svc.RunningCount, summarize(svc))
		}
		if live := svc.RunningCount + svc.PendingCount; live > 6 {
			t.Fatalf("%d tasks exceed maximumPercent 200 of 3", live)
		}
	}, func(svc types.Service) bool { return primary(svc).FailedTasks >= 9 })

	p := primary(svc)
	if aws.ToString(p.TaskDefinition) != bad || p.RolloutState != types.DeploymentRolloutStateInProgress || len(svc.Deployments) != 2 {
		t.Fatalf("want the bad deployment still IN_PROGRESS next to the old one:\n%s", summarize(svc))
	}
	if old := svc.Deployments[1]; aws.ToString(old.TaskDefinition) != original || old.RunningCount != 3 {
		t.Fatalf("old deployment should keep 3 running tasks:\n%s", summarize(svc))
	}
	if !hasEvent(svc, "is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.") {
		t.Fatalf("missing the start-impaired event:\n%s", summarize(svc))
	}
	failed := stoppedTasks(ctx, t, c, "prod", "web")
	if len(failed) < 9 {
		t.Fatalf("ListTasks(STOPPED) shows %d tasks, want the %d failed ones", len(failed), p.FailedTasks)
	}
	for _, task := range failed {
		reason := aws.ToString(task.StoppedReason)
		if task.StopCode != types.TaskStopCodeTaskFailedToStart || aws.ToString(task.LastStatus) != "STOPPED" ||
			!strings.HasPrefix(reason, "CannotPullContainerError:") || !strings.Contains(reason, "docker.io/library/nginx:chaos-x") ||
			!strings.HasPrefix(aws.ToString(task.Containers[0].Reason), "CannotPullContainerError:") ||
			aws.ToString(task.TaskDefinitionArn) != bad || aws.ToString(task.StartedBy) != aws.ToString(p.Id) ||
			aws.ToString(task.Group) != "service:web" || task.StoppedAt == nil || task.PullStartedAt == nil {
			t.Fatalf("failed task not as ECS reports it: %+v reason %q", task, reason)
		}
		// The pull is retried for Timing.PullFailure before the task stops.
		if pending := task.StoppedAt.Sub(*task.PullStartedAt); pending < 20*time.Second {
			t.Fatalf("task stopped %v after the pull started, want the 20s of retries", pending)
		}
	}
	// Launches back off: the gaps between launch batches grow once three launches in a row have failed.
	var batches []time.Time
	for _, task := range failed {
		if n := len(batches); n == 0 || !batches[n-1].Equal(*task.CreatedAt) {
			batches = append(batches, *task.CreatedAt)
		}
	}
	if len(batches) < 3 {
		t.Fatalf("want at least 3 launch batches, got %v", batches)
	}
	firstGap, lastGap := batches[1].Sub(batches[0]), batches[len(batches)-1].Sub(batches[len(batches)-2])
	if lastGap < firstGap+15*time.Second {
		t.Fatalf("launches did not back off: first gap %v, last gap %v", firstGap, lastGap)
	}
}

// With the circuit breaker and rollback, ECS fails the deployment after the threshold and deploys the last
// completed revision again.
func TestCircuitBreakerRollsBack(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	const desired = 8 // threshold ceil(8/2) = 4
	_, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "api", Family: "api", DesiredCount: desired,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			MaximumPercent:           aws.Int32(150), MinimumHealthyPercent: aws.Int32(100),
		}})
	if err != nil {
		t.Fatal(err)
	}
	before := describeService(ctx, t, c, "prod", "api")
	original, completedID := aws.ToString(before.TaskDefinition), aws.ToString(before.Deployments[0].Id)
	// versionConsistency disabled: a missing tag fails no digest resolution, so the breaker's own threshold
	// decides (with resolution, three failed attempts fail the deployment first: registry_test.go).
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("api"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:does-not-exist"),
			VersionConsistency: types.VersionConsistencyDisabled}}})
	if err != nil {
		t.Fatal(err)
	}
	bad := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	updateTaskDefinition(ctx, t, c, "prod", "api", bad)
	chaosID := aws.ToString(primary(describeService(ctx, t, c, "prod", "api")).Id)

	var sawFailed bool
	svc := watch(ctx, t, s, c, "prod", "api", 5*time.Minute, func(svc types.Service) {
		if svc.RunningCount < desired {
			t.Fatalf("running fell below minimumHealthyPercent 100: %d", svc.RunningCount)
		}
		for _, d := range svc.Deployments {
			if aws.ToString(d.Id) == chaosID && d.RolloutState == types.DeploymentRolloutStateFailed {
				sawFailed = true
				if d.FailedTasks < circuitBreakerThreshold(desired) || aws.ToString(d.RolloutStateReason) != "ECS deployment circuit breaker: tasks failed to start." {
					t.Fatalf("failed deployment: %d failed tasks (threshold 4), reason %q", d.FailedTasks, aws.ToString(d.RolloutStateReason))
				}
			}
		}
	}, func(svc types.Service) bool {
		return len(svc.Deployments) == 1 && aws.ToString(svc.Deployments[0].Id) != completedID &&
			svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if !sawFailed {
		t.Fatalf("never observed the chaos deployment FAILED:\n%s", summarize(svc))
	}
	if aws.ToString(svc.TaskDefinition) != original || aws.ToString(svc.Deployments[0].TaskDefinition) != original || svc.RunningCount != desired {
		t.Fatalf("service not back on %s:\n%s", original, summarize(svc))
	}
	for _, want := range []string{
		"(service api) (deployment " + chaosID + ") deployment failed: tasks failed to start.",
		"(service api) rolling back to deployment " + completedID + ".",
		"(service api) (deployment " + aws.ToString(svc.Deployments[0].Id) + ") deployment completed.",
	} {
		if !hasEvent(svc, want) {
			t.Errorf("missing event %q:\n%s", want, summarize(svc))
		}
	}
	if !strings.Contains(aws.ToString(svc.Deployments[0].RolloutStateReason), "completed") {
		t.Errorf("rollback deployment reason %q", aws.ToString(svc.Deployments[0].RolloutStateReason))
	}
}

// maximumPercent 100 leaves no room for new tasks: ECS stops old tasks first, down to minimumHealthyPercent.
func TestMaxPercent100StopsOldTasksFirst(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	s.AddImage("public.ecr.aws/nginx/nginx:1.27", "")
	_, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 4,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(100), MinimumHealthyPercent: aws.Int32(50)}})
	if err != nil {
		t.Fatal(err)
	}
	next := registerRevision(ctx, t, c, "web", "public.ecr.aws/nginx/nginx:1.27")
	upd, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(next)})
	if err != nil {
		t.Fatal(err)
	}
	first := *upd.Service
	// Events are newest first: the stop comes before the start, and new tasks only use the room it made.
	if first.RunningCount != 2 || first.PendingCount != 2 || len(first.Events) < 2 ||
		!strings.Contains(aws.ToString(first.Events[0].Message), "has started 2 tasks") ||
		!strings.Contains(aws.ToString(first.Events[1].Message), "has stopped 2 running tasks") {
		t.Fatalf("want 2 old tasks stopped, then 2 new ones started:\n%s", summarize(first))
	}
	svc := watch(ctx, t, s, c, "prod", "web", 3*time.Minute, func(svc types.Service) {
		if svc.RunningCount < 2 {
			t.Fatalf("running %d below minimumHealthyPercent 50 of 4", svc.RunningCount)
		}
		if svc.RunningCount+svc.PendingCount > 4 {
			t.Fatalf("%d tasks above maximumPercent 100 of 4", svc.RunningCount+svc.PendingCount)
		}
	}, func(svc types.Service) bool {
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if svc.RunningCount != 4 || aws.ToString(svc.TaskDefinition) != next {
		t.Fatalf("deployment did not finish on %s:\n%s", next, summarize(svc))
	}
	running, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: running.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks.Tasks {
		digest := aws.ToString(task.Containers[0].ImageDigest)
		if aws.ToString(task.TaskDefinitionArn) != next || !strings.HasPrefix(digest, "sha256:") || len(digest) != 71 {
			t.Fatalf("running task %s on %s with digest %q", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn), digest)
		}
	}
}

// minimumHealthyPercent 0 lets ECS drain every healthy task even though the new ones never start.
func TestMinHealthyZeroDrainsHealthyTasks(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	_, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 3,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(100), MinimumHealthyPercent: aws.Int32(0)}})
	if err != nil {
		t.Fatal(err)
	}
	updateTaskDefinition(ctx, t, c, "prod", "web", registerRevision(ctx, t, c, "web", "nginx:chaos-gone"))
	svc := watch(ctx, t, s, c, "prod", "web", 2*time.Minute, nil, func(svc types.Service) bool {
		return svc.RunningCount == 0 && primary(svc).FailedTasks >= 3
	})
	if len(svc.Deployments) != 1 {
		t.Fatalf("old deployment should be drained and gone:\n%s", summarize(svc))
	}
}
