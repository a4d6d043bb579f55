package ecssim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Shape is a kind of service users point the fault at, as plain data: the simulator's timing, the service to seed
// (cluster "demo"), scripted lifecycle hooks, and the tunables a rehearsal sets unless the user gives their own.
// `experiment demo --shape NAME` and the tests use the same shapes.
type Shape struct {
	Name    string
	Summary string // one line for `experiment demo --list-shapes`
	Timing  Timing
	// Scale is how many times faster than the wall clock a rehearsal runs the simulator and the fault.
	Scale   float64
	Service SeedSpec
	Hooks   map[string]HookOutcome // lifecycle hook target ARN -> scripted answer
	Images  map[string]string      // extra images in the registry before seeding: reference -> digest
	Env     map[string]string      // tunables of a rehearsal (the user's environment wins)
	// Prepare, when set, scripts the simulator further once the service is seeded.
	Prepare func(ctx context.Context, sim *Simulator, c *ecs.Client) error
	// Unavailable, when set, says why this shape cannot run in this build.
	Unavailable string
	// Notes say what a shape copied from a real service (ShapeOf) assumes or cannot know; none for built-in shapes.
	Notes []string
}

// DemoTiming is the data plane of rehearsals that are not about timing: a chaos task fails its pull about 1.5 s after
// its launch, well within a 30 s hold.
func DemoTiming() Timing {
	return Timing{
		Provisioning: 500 * time.Millisecond, PendingToRunning: time.Second, PullFailure: time.Second,
		StopDuration: 500 * time.Millisecond, LaunchBackoff: 2 * time.Second,
	}
}

// demoImage is the original image of every shape: pullable, with a known digest.
const demoImage = "nginx:1.27"

// DemoImageDigest is demoImage's digest in every shape's simulator.
const DemoImageDigest = "sha256:000000000000000000000000000000000000000000000000000000000000007f"

// HookARN is the Lambda hook target of the lifecycle-hooks shape.
const HookARN = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"

// Shapes returns every shape, in the order `--list-shapes` prints them. Each call builds fresh values.
func Shapes() []Shape {
	rolling := func(minPct, maxPct int32, breaker bool) *types.DeploymentConfiguration {
		return &types.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(minPct), MaximumPercent: aws.Int32(maxPct),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker},
		}
	}
	staged := func(strategy types.DeploymentStrategy) *types.DeploymentConfiguration {
		dc := rolling(100, 200, false)
		dc.Strategy = strategy
		dc.BakeTimeInMinutes = aws.Int32(2)
		return dc
	}
	service := func(desired int32, dc *types.DeploymentConfiguration) SeedSpec {
		return SeedSpec{Cluster: "demo", Service: "web", Family: "web", Image: demoImage, DesiredCount: desired, DeploymentConfiguration: dc}
	}
	linear := staged(types.DeploymentStrategyLinear)
	linear.LinearConfiguration = &types.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(1)}
	canary := staged(types.DeploymentStrategyCanary)
	canary.CanaryConfiguration = &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(2)}
	hooked := staged(types.DeploymentStrategyBlueGreen)
	hooked.LifecycleHooks = []types.DeploymentLifecycleHook{{
		HookTargetArn:   aws.String(HookARN),
		RoleArn:         aws.String("arn:aws:iam::123456789012:role/ecs-lifecycle-hooks"),
		TargetType:      types.DeploymentLifecycleHookTargetTypeAwsLambda,
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreScaleUp, types.DeploymentLifecycleHookStagePostTestTrafficShift},
		HookDetails:     document.NewLazyDocument(map[string]any{"suite": "smoke", "paths": []any{"/health"}, "timeoutSeconds": 20}),
	}}
	ec2 := service(3, rolling(100, 200, false))
	ec2.LaunchType, ec2.ContainerInstances, ec2.Instance = types.LaunchTypeEc2, 2, InstanceSpec{CPU: 1024, Memory: 2048}
	ec2.TaskCPU, ec2.TaskMemory = "512", "1024"
	daemon := service(0, &types.DeploymentConfiguration{}) // the API default for DAEMON: minimumHealthyPercent 0
	daemon.Service, daemon.Family = "node-agent", "node-agent"
	daemon.LaunchType, daemon.SchedulingStrategy, daemon.ContainerInstances = types.LaunchTypeEc2, types.SchedulingStrategyDaemon, 4

	return []Shape{
		{Name: "rolling", Summary: "3 Fargate tasks, rolling update (maximumPercent 200, minimumHealthyPercent 100), no circuit breaker",
			Timing: DemoTiming(), Scale: 10, Service: service(3, rolling(100, 200, false))},
		{Name: "rolling-breaker", Summary: "4 Fargate tasks, rolling update with the deployment circuit breaker and rollback: ECS rolls the chaos deployment back",
			Timing: DemoTiming(), Scale: 10, Service: service(4, rolling(100, 200, true))},
		{Name: "fargate", Summary: "3 Fargate tasks with realistic Fargate timing (provisioning, ENI, pull retries, 40 s health grace) and the default 30 s hold",
			Timing: FargateTiming(), Scale: 30, Service: service(3, rolling(100, 200, false))},
		{Name: "ec2", Summary: "3 EC2 tasks on 2 container instances with room for one more: the chaos deployment is 'unable to place a task'; a 60 s hold outlasts the pull retries",
			Timing: EC2Timing(), Scale: 30, Service: ec2, Env: map[string]string{"TOTAL_CHAOS_DURATION": "60", "CHAOS_INTERVAL": "60"}},
		{Name: "daemon", Summary: "a DAEMON service on 4 container instances with the API default minimumHealthyPercent 0: refused unless TASK_REPLICA_AFFECTED_PERC < 100",
			Timing: DemoTiming(), Scale: 10, Service: daemon},
		{Name: "blue-green", Summary: "3 tasks, ECS-native BLUE_GREEN with a 2 min bake time: the blue revision keeps serving",
			Timing: DemoTiming(), Scale: 10, Service: service(3, staged(types.DeploymentStrategyBlueGreen))},
		{Name: "linear", Summary: "3 tasks, LINEAR traffic shift in 25 % steps every minute, 2 min bake time",
			Timing: DemoTiming(), Scale: 10, Service: service(3, linear)},
		{Name: "canary", Summary: "3 tasks, CANARY 10 % for 2 min then the rest, 2 min bake time",
			Timing: DemoTiming(), Scale: 10, Service: service(3, canary)},
		{Name: "lifecycle-hooks", Summary: "BLUE_GREEN with a Lambda lifecycle hook (hookDetails document) at PRE_SCALE_UP and POST_TEST_TRAFFIC_SHIFT",
			Timing: DemoTiming(), Scale: 10, Service: service(3, hooked), Hooks: map[string]HookOutcome{HookARN: {Status: HookSucceeded, After: 2 * time.Second}}},
		versionConsistencyShape(),
	}
}

// versionConsistencyShape is a rolling service on a mutable tag that a "pipeline" moves as soon as the chaos
// revision is deployed: the restore must bring back the digest that ran before (StopServiceDeployment keeps it,
// an UpdateService would resolve the moved tag again).
func versionConsistencyShape() Shape {
	return Shape{Name: "version-consistency", Summary: "3 tasks on a mutable tag that moves during the hold: the restore must bring back the digests that ran before",
		Timing: DemoTiming(), Scale: 10,
		Images: map[string]string{VersionConsistencyImage: VersionConsistencyBefore},
		Service: SeedSpec{Cluster: "demo", Service: "web", Family: "web", Image: VersionConsistencyImage, DesiredCount: 3,
			DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}},
		Prepare: func(_ context.Context, sim *Simulator, _ *ecs.Client) error {
			var once sync.Once
			sim.OnRequest(func(r Request) {
				if r.Operation == "UpdateService" && r.Mutating && r.ErrorCode == "" {
					// The inject is answered: the pipeline pushes a new image under the same tag.
					once.Do(func() { _ = sim.MoveTag(VersionConsistencyImage, VersionConsistencyAfter) })
				}
			})
			return nil
		}}
}

// ShapeNamed returns the shape called name.
func ShapeNamed(name string) (Shape, bool) {
	for _, sh := range Shapes() {
		if sh.Name == name {
			return sh, true
		}
	}
	return Shape{}, false
}

// Seed sets sim up as the shape describes, through c: images, hooks, container instances and the steady service.
func (sh Shape) Seed(ctx context.Context, sim *Simulator, c *ecs.Client) error {
	if sh.Unavailable != "" {
		return fmt.Errorf("shape %s: %s", sh.Name, sh.Unavailable)
	}
	sim.AddImage(demoImage, DemoImageDigest)
	for ref, digest := range sh.Images {
		sim.AddImage(ref, digest)
	}
	for arn, o := range sh.Hooks {
		sim.SetHookOutcome(arn, o)
	}
	if _, err := sim.SeedService(ctx, c, sh.Service); err != nil {
		return fmt.Errorf("shape %s: %w", sh.Name, err)
	}
	if sh.Prepare != nil {
		if err := sh.Prepare(ctx, sim, c); err != nil {
			return fmt.Errorf("shape %s: %w", sh.Name, err)
		}
	}
	return nil
}
