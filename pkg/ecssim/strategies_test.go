package ecssim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// stagedService seeds a 2-task service with the given ECS-native strategy on a manual clock, with a second
// revision registered; it returns the revision ARNs.
func stagedService(ctx context.Context, t *testing.T, s *Simulator, c *ecs.Client, dc *types.DeploymentConfiguration, image string) (blue, green string) {
	t.Helper()
	s.AddImage("nginx:1.27", "")
	s.AddImage("nginx:1.28", "")
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", Image: "nginx:1.27", DesiredCount: 2, DeploymentConfiguration: dc}); err != nil {
		t.Fatal(err)
	}
	blue = aws.ToString(describeService(ctx, t, c, "prod", "web").TaskDefinition)
	return blue, registerRevision(ctx, t, c, "web", image)
}

func stageOf(t *testing.T, s *Simulator) (types.ServiceDeploymentLifecycleStage, float64) {
	t.Helper()
	stage, traffic, err := s.DeploymentStage("prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	return stage, traffic
}

// BLUE_GREEN (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html):
// green scales up beside blue, traffic shifts, then both revisions run through bakeTimeInMinutes ("both blue and
// green service revisions are running simultaneously after the production traffic has shifted", SDK doc of
// DeploymentConfiguration.BakeTimeInMinutes), then blue is terminated. DescribeServices shows green PRIMARY and blue
// ACTIVE, both with their running tasks, IN_PROGRESS until the clean-up.
func TestBlueGreenStagesAndBake(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
	dc := &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(3)}
	blue, green := stagedService(ctx, t, s, c, dc, "nginx:1.28")
	updateTaskDefinition(ctx, t, c, "prod", "web", green)

	svc := watch(ctx, t, s, c, "prod", "web", time.Minute, nil, func(svc types.Service) bool {
		stage, _ := stageOf(t, s)
		return stage == types.ServiceDeploymentLifecycleStageBakeTime
	})
	if len(svc.Deployments) != 2 {
		t.Fatalf("during the bake: %s", summarize(svc))
	}
	for _, d := range svc.Deployments {
		want := map[string]string{"PRIMARY": green, "ACTIVE": blue}[aws.ToString(d.Status)]
		if aws.ToString(d.TaskDefinition) != want || d.RunningCount != 2 {
			t.Errorf("during the bake, deployment %s runs %d tasks of %s, want 2 of %s", aws.ToString(d.Status), d.RunningCount, aws.ToString(d.TaskDefinition), want)
		}
	}
	if p := primary(svc); p.RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("rolloutState during the bake = %s, want IN_PROGRESS", p.RolloutState)
	}
	if _, traffic := stageOf(t, s); traffic != 100 {
		t.Errorf("production traffic on green during the bake = %v, want 100", traffic)
	}
	// Still baking just before the 3 minutes are over.
	clockSleep(ctx, t, s, 2*time.Minute+50*time.Second)
	if svc := describeService(ctx, t, c, "prod", "web"); len(svc.Deployments) != 2 {
		t.Fatalf("blue left before the bake time was over: %s", summarize(svc))
	}
	svc = watch(ctx, t, s, c, "prod", "web", time.Minute, nil, func(svc types.Service) bool {
		return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if svc.RunningCount != 2 || aws.ToString(svc.TaskDefinition) != green {
		t.Errorf("after the clean-up: %s", summarize(svc))
	}
}

// LINEAR shifts production traffic in stepPercent steps with stepBakeTimeInMinutes between them, "not applied after
// reaching 100 percent traffic"; CANARY shifts canaryPercent, waits canaryBakeTimeInMinutes, then the rest (SDK docs
// of types.LinearConfiguration and types.CanaryConfiguration).
func TestLinearAndCanaryTrafficSteps(t *testing.T) {
	cases := []struct {
		name  string
		dc    *types.DeploymentConfiguration
		steps []float64 // traffic seen at each minute after the shift began
	}{
		{"linear", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(10),
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(1)}}, []float64{25, 50, 75, 100}},
		{"canary", &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(10),
			CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(2)}}, []float64{10, 10, 100}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
			_, green := stagedService(ctx, t, s, c, tc.dc, "nginx:1.28")
			updateTaskDefinition(ctx, t, c, "prod", "web", green)
			watch(ctx, t, s, c, "prod", "web", time.Minute, nil, func(types.Service) bool {
				stage, _ := stageOf(t, s)
				return stage == types.ServiceDeploymentLifecycleStageProductionTrafficShift || stage == types.ServiceDeploymentLifecycleStageBakeTime
			})
			for i, want := range tc.steps {
				if _, got := stageOf(t, s); got != want {
					t.Errorf("minute %d of the shift: %v%% of production traffic on green, want %v", i, got, want)
				}
				clockSleep(ctx, t, s, time.Minute)
			}
			if stage, _ := stageOf(t, s); stage != types.ServiceDeploymentLifecycleStageBakeTime {
				t.Errorf("after the shift, stage %s, want BAKE_TIME", stage)
			}
		})
	}
}

// Lifecycle hooks (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html): ECS
// invokes the hook at its stages with its hookDetails; SUCCEEDED moves on, IN_PROGRESS holds the deployment (invoked
// again after 30 s), FAILED rolls back to the last successful revision: blue is PRIMARY again and green's tasks stop.
func TestLifecycleHookOutcomes(t *testing.T) {
	const hookARN = "arn:aws:lambda:us-east-1:123456789012:function:check"
	hooked := func() *types.DeploymentConfiguration {
		return &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1),
			LifecycleHooks: []types.DeploymentLifecycleHook{{
				HookTargetArn: aws.String(hookARN), TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda,
				RoleArn:         aws.String("arn:aws:iam::123456789012:role/hooks"),
				LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp},
				HookDetails:     document.NewLazyDocument(map[string]any{"check": "smoke"}),
			}}}
	}
	t.Run("hold then succeed", func(t *testing.T) {
		s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
		_, green := stagedService(ctx, t, s, c, hooked(), "nginx:1.28")
		s.SetHookOutcome(hookARN, HookOutcome{Status: HookInProgress})
		updateTaskDefinition(ctx, t, c, "prod", "web", green)
		clockSleep(ctx, t, s, 90*time.Second)
		if stage, _ := stageOf(t, s); stage != types.ServiceDeploymentLifecycleStagePostScaleUp {
			t.Fatalf("with the hook IN_PROGRESS the deployment is at %s, want held at POST_SCALE_UP", stage)
		}
		calls := s.HookInvocations()
		if len(calls) < 3 || !strings.Contains(calls[0].HookDetails, `"check":"smoke"`) {
			t.Errorf("hook invocations over 90 s of IN_PROGRESS (every 30 s): %+v", calls)
		}
		s.SetHookOutcome(hookARN, HookOutcome{Status: HookSucceeded})
		watch(ctx, t, s, c, "prod", "web", 3*time.Minute, nil, func(svc types.Service) bool {
			return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && aws.ToString(svc.TaskDefinition) == green
		})
	})
	t.Run("fail rolls back to blue", func(t *testing.T) {
		s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
		blue, green := stagedService(ctx, t, s, c, hooked(), "nginx:1.28")
		s.SetHookOutcome(hookARN, HookOutcome{Status: HookFailed})
		updateTaskDefinition(ctx, t, c, "prod", "web", green)
		svc := watch(ctx, t, s, c, "prod", "web", time.Minute, func(svc types.Service) {
			for _, d := range svc.Deployments {
				if aws.ToString(d.TaskDefinition) == blue && d.RunningCount < 2 {
					t.Errorf("blue dropped to %d running tasks: a blue/green rollback keeps blue", d.RunningCount)
				}
			}
		}, func(svc types.Service) bool {
			return aws.ToString(svc.TaskDefinition) == blue && svc.RunningCount == 2 && len(svc.Deployments) == 1
		})
		if !hasEvent(svc, "lifecycle hook "+hookARN+" failed at stage POST_SCALE_UP") {
			t.Errorf("no event for the failed hook: %s", summarize(svc))
		}
	})
}

// A blue/green deployment whose green tasks cannot pull: blue keeps serving with every task (green never gets
// traffic), and a new deployment of the blue revision supersedes it: the failing green tasks stop at once.
func TestBlueGreenWithFailingGreenKeepsBlue(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
	dc := &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5)}
	blue, bad := stagedService(ctx, t, s, c, dc, "nginx:does-not-exist")
	updateTaskDefinition(ctx, t, c, "prod", "web", bad)
	watch(ctx, t, s, c, "prod", "web", 20*time.Second, func(svc types.Service) {
		for _, d := range svc.Deployments {
			if aws.ToString(d.TaskDefinition) == blue && d.RunningCount != 2 {
				t.Errorf("blue runs %d tasks while green fails, want 2", d.RunningCount)
			}
		}
	}, func(svc types.Service) bool { return primary(svc).FailedTasks >= 2 })
	if stage, _ := stageOf(t, s); stage != types.ServiceDeploymentLifecycleStageScaleUp {
		t.Errorf("failing green at stage %s, want SCALE_UP", stage)
	}
	updateTaskDefinition(ctx, t, c, "prod", "web", blue)
	clockSleep(ctx, t, s, time.Second)
	svc := describeService(ctx, t, c, "prod", "web")
	for _, d := range svc.Deployments {
		if aws.ToString(d.TaskDefinition) == bad && d.RunningCount+d.PendingCount > 0 {
			t.Errorf("superseded green still has %d tasks: %s", d.RunningCount+d.PendingCount, summarize(svc))
		}
	}
}

// The deployment circuit breaker on a blue/green deployment whose green tasks cannot start: once the failed-task
// threshold is reached the deployment FAILED and, with rollback, production goes back to blue, which kept its tasks
// throughout: no task is started for the rollback (contrast with ROLLING, which deploys the old revision again).
func TestBlueGreenCircuitBreakerRollsBackToBlue(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Timing: FastTiming()})
	dc := &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	blue, bad := stagedService(ctx, t, s, c, dc, "nginx:does-not-exist")
	blueTasks := map[string]bool{}
	for _, task := range liveTasks(ctx, t, c, "prod", "web") {
		blueTasks[aws.ToString(task.TaskArn)] = true
	}
	updateTaskDefinition(ctx, t, c, "prod", "web", bad)
	svc := watch(ctx, t, s, c, "prod", "web", time.Minute, nil, func(svc types.Service) bool {
		return aws.ToString(svc.TaskDefinition) == blue && len(svc.Deployments) == 1
	})
	if !hasEvent(svc, "deployment failed: tasks failed to start") || !hasEvent(svc, "rolling back to deployment") {
		t.Errorf("no breaker events: %s", summarize(svc))
	}
	for _, task := range liveTasks(ctx, t, c, "prod", "web") {
		if aws.ToString(task.LastStatus) != "STOPPED" && !blueTasks[aws.ToString(task.TaskArn)] {
			t.Errorf("task %s was started for the rollback; blue's own tasks should serve", aws.ToString(task.TaskArn))
		}
	}
	if svc.RunningCount != 2 {
		t.Errorf("after the rollback: %s", summarize(svc))
	}
}
