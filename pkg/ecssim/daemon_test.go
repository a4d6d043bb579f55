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

func liveTasks(ctx context.Context, t *testing.T, c *ecs.Client, cluster, service string) []types.Task {
	t.Helper()
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service)})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	return out.Tasks
}

// registerSized registers an awsvpc revision of family with task-level CPU and memory, like SeedService's.
func registerSized(ctx context.Context, t *testing.T, c *ecs.Client, family, image, cpu, memory string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: registerInput(image), NetworkMode: types.NetworkModeAwsvpc,
		Cpu: aws.String(cpu), Memory: aws.String(memory),
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", image, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func daemonService(ctx context.Context, t *testing.T, s *Simulator, c *ecs.Client, instances int, dc *types.DeploymentConfiguration) {
	t.Helper()
	s.AddImage("agent:1", "")
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "agent", Family: "agent", Image: "agent:1",
		LaunchType: types.LaunchTypeEc2, SchedulingStrategy: types.SchedulingStrategyDaemon, ContainerInstances: instances,
		DeploymentConfiguration: dc}); err != nil {
		t.Fatal(err)
	}
}

// DAEMON: "The daemon scheduling strategy deploys exactly one task on each active container instance"
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html, service scheduler concepts);
// registering an instance adds a task.
func TestDaemonOneTaskPerInstance(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
	daemonService(ctx, t, s, c, 3, nil)
	svc := describeService(ctx, t, c, "prod", "agent")
	if svc.DesiredCount != 3 || svc.RunningCount != 3 || aws.ToInt32(svc.DeploymentConfiguration.MinimumHealthyPercent) != 0 || aws.ToInt32(svc.DeploymentConfiguration.MaximumPercent) != 100 {
		t.Fatalf("daemon on 3 instances: %s (minimumHealthyPercent %d, maximumPercent %d)", summarize(svc),
			aws.ToInt32(svc.DeploymentConfiguration.MinimumHealthyPercent), aws.ToInt32(svc.DeploymentConfiguration.MaximumPercent))
	}
	seen := map[string]bool{}
	for _, task := range liveTasks(ctx, t, c, "prod", "agent") {
		seen[aws.ToString(task.ContainerInstanceArn)] = true
	}
	if len(seen) != 3 || seen[""] {
		t.Errorf("daemon tasks on instances %v, want one on each of 3", seen)
	}
	if _, err := s.AddContainerInstances("prod", 1, InstanceSpec{}); err != nil {
		t.Fatal(err)
	}
	watch(ctx, t, s, c, "prod", "agent", 10*time.Second, nil, func(svc types.Service) bool { return svc.DesiredCount == 4 && svc.RunningCount == 4 })
}

// A DAEMON deployment stops tasks before starting new ones, within minimumHealthyPercent (maximumPercent stays 100);
// with the API default of 0 ("The default minimumHealthyPercent value for a service using the DAEMON service schedule
// is 0%", SDK doc of types.DeploymentConfiguration.MinimumHealthyPercent) every daemon task stops first.
func TestDaemonDeploymentStopsBeforeStarting(t *testing.T) {
	cases := []struct {
		name       string
		minPct     *int32
		wantLowest int32
	}{
		{"API default 0 stops every daemon task", nil, 0},
		{"50 keeps half", aws.Int32(50), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
			daemonService(ctx, t, s, c, 4, &types.DeploymentConfiguration{MinimumHealthyPercent: tc.minPct})
			original := aws.ToString(describeService(ctx, t, c, "prod", "agent").TaskDefinition)
			bad := registerRevision(ctx, t, c, "agent", "agent:missing")
			updateTaskDefinition(ctx, t, c, "prod", "agent", bad)
			lowest := int32(4)
			watch(ctx, t, s, c, "prod", "agent", 15*time.Second, func(svc types.Service) {
				var running int32
				for _, d := range svc.Deployments {
					if aws.ToString(d.TaskDefinition) == original {
						running += d.RunningCount
					}
				}
				lowest = min(lowest, running)
				if total := svc.RunningCount + svc.PendingCount; total > 4 {
					t.Errorf("%d daemon tasks RUNNING or PENDING on 4 instances", total)
				}
			}, func(svc types.Service) bool { return primary(svc).FailedTasks >= 4 })
			if lowest != tc.wantLowest {
				t.Errorf("original daemon tasks running fell to %d, want %d", lowest, tc.wantLowest)
			}
		})
	}
}

// EC2 capacity: a task is placed only on an instance with the CPU and memory it reserves; otherwise the service
// reports, in ECS's words (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html),
// that it "was unable to place a task because no container instance met all of its requirements".
func TestEC2CapacityUnableToPlace(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
	s.AddImage("app:1", "")
	s.AddImage("app:2", "")
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", Image: "app:1", DesiredCount: 3,
		LaunchType: types.LaunchTypeEc2, ContainerInstances: 2, Instance: InstanceSpec{CPU: 1024, Memory: 2048}, TaskCPU: "512", TaskMemory: "1024",
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}}); err != nil {
		t.Fatal(err)
	}
	next := registerSized(ctx, t, c, "web", "app:2", "512", "1024")
	updateTaskDefinition(ctx, t, c, "prod", "web", next)
	svc := describeService(ctx, t, c, "prod", "web")
	if p := primary(svc); p.RunningCount+p.PendingCount != 1 {
		t.Errorf("room for one more task on 2 instances of 1024 CPU units, but %d new task(s) started: %s", p.RunningCount+p.PendingCount, summarize(svc))
	}
	if !hasEvent(svc, "was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance ") ||
		!hasEvent(svc, "has insufficient CPU units available") {
		t.Errorf("no placement event: %s", summarize(svc))
	}
	// The rolling update still completes, one freed slot at a time.
	watch(ctx, t, s, c, "prod", "web", time.Minute, nil, func(svc types.Service) bool {
		return len(svc.Deployments) == 1 && aws.ToString(svc.TaskDefinition) == next && svc.RunningCount == 3
	})
}

// Timing profiles: on Fargate a task provisions, attaches its ENI, pulls, and counts as healthy only 40 s after
// RUNNING (SDK doc of DeploymentConfiguration.MinimumHealthyPercent: "the service scheduler will wait for 40 seconds
// after a task reaches a RUNNING state before the task is counted towards the minimum healthy percent total"); a
// pull that cannot succeed stops the task after the agent's retries with CannotPullContainerError.
func TestFargateTimingProfile(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Timing: FargateTiming()})
	s.AddImage("app:1", "")
	s.AddImage("app:2", "")
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", Image: "app:1", DesiredCount: 1,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}}); err != nil {
		t.Fatal(err)
	}
	start := s.Now()
	updateTaskDefinition(ctx, t, c, "prod", "web", registerSized(ctx, t, c, "web", "app:2", "256", "512"))
	var runningAt, completedAt time.Duration
	watch(ctx, t, s, c, "prod", "web", 2*time.Minute, func(svc types.Service) {
		if p := primary(svc); p.RunningCount == 1 && runningAt == 0 {
			runningAt = s.Now().Sub(start)
		}
	}, func(svc types.Service) bool {
		done := len(svc.Deployments) == 1 && primary(svc).RolloutState == types.DeploymentRolloutStateCompleted
		if done {
			completedAt = s.Now().Sub(start)
		}
		return done
	})
	// Provisioning 10 s + ENI 8 s + pull and start 10 s; then 40 s of health grace and the old task's 5 s stop.
	if runningAt < 28*time.Second || runningAt > 30*time.Second {
		t.Errorf("new task RUNNING after %v, want about 28 s", runningAt)
	}
	if completedAt < 68*time.Second {
		t.Errorf("deployment COMPLETED after %v: before the 40 s health grace was over", completedAt)
	}

	start = s.Now()
	updateTaskDefinition(ctx, t, c, "prod", "web", registerSized(ctx, t, c, "web", "app:missing", "256", "512"))
	var failedAt time.Duration
	watch(ctx, t, s, c, "prod", "web", 2*time.Minute, nil, func(svc types.Service) bool {
		if primary(svc).FailedTasks > 0 {
			failedAt = s.Now().Sub(start)
			return true
		}
		return false
	})
	if failedAt < 48*time.Second || failedAt > 50*time.Second {
		t.Errorf("first pull failure after %v, want about 48 s (provisioning, ENI, 30 s of pull retries)", failedAt)
	}
	stopped := stoppedTasks(ctx, t, c, "prod", "web")
	if len(stopped) == 0 || !strings.HasPrefix(aws.ToString(stopped[len(stopped)-1].StoppedReason), "CannotPullContainerError: pull image manifest has been retried 5 time(s)") {
		t.Errorf("stopped tasks: %+v", stopped)
	}
}
