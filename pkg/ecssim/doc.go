// Package ecssim simulates the Amazon ECS control plane over HTTP so that the fault, its tests, the demo
// and the benchmarks can drive the real aws-sdk-go-v2 ECS client against realistic ECS behaviour.
//
// # Wire
//
// The handler speaks awsJson 1.1 exactly as ECS does: POST / with X-Amz-Target
// AmazonEC2ContainerServiceV20141113.<Operation>, errors as {"__type": code, "message": ...} with HTTP 400
// (500 for ServerException). Bodies are decoded into and encoded from the SDK's own types through the SDK's
// schema-driven protocol, so member names, timestamps (epoch seconds) and enums cannot drift from what the
// client expects, and a task definition comes back from DescribeTaskDefinition with every field it was
// registered with.
//
// # Model
//
// State lives behind one mutex and advances through a time-ordered event queue (task transitions, launch
// back-off expiry, purges) up to Options.Clock's now, both lazily on each request and from a background
// goroutine that wakes at the next event. With clock.NewScaled(50) a one-minute deployment plays out in
// about a second, deterministically for a given sequence of calls.
//
// Tasks go PROVISIONING -> PENDING -> RUNNING when every image is in the simulator's registry (`nginx`,
// `nginx:latest` and whatever AddImage adds; references are normalised, so `nginx` is
// docker.io/library/nginx:latest). Otherwise they sit in PENDING for Timing.PullFailure and stop with
// stopCode TaskFailedToStart and a `CannotPullContainerError:` reason. Stopping goes through STOPPING for
// Timing.StopDuration; STOPPED tasks stay listed for an hour.
//
// The service scheduler keeps desiredCount: during a rolling deployment it keeps RUNNING+PENDING tasks
// (PROVISIONING counts as pending; STOPPING as neither) at or below maximumPercent (rounded down) and stops older tasks only while minimumHealthyPercent
// (rounded up) of RUNNING tasks remain; pending tasks are never healthy. A deployment is COMPLETED when it
// runs desiredCount tasks and older deployments have no task left; those then leave deployments[]. After
// three launch failures in a row launches back off (Timing.LaunchBackoff, doubling up to 16x) and the
// service reports that it "is unable to consistently start tasks successfully". The deployment circuit
// breaker fails a deployment after max(3, min(200, ceil(desired/2))) failed tasks (or what its
// thresholdConfiguration says; a healthy task resets the count unless resetOnHealthyTask is false), then
// stops launching and, with rollback, starts a new deployment of the last COMPLETED deployment's task
// definition. Service events use ECS's wording.
//
// With SetRegistrationWindow, a RegisterTaskDefinition is in flight for that long on the simulator's clock, and
// another registration of the same family arriving meanwhile gets ECS's ClientException "Too many concurrent
// attempts to create a new revision of the specified family." With SetRateLimit (ECSRateLimits), calls are throttled
// per ECS's documented buckets (pkg/ecsthrottle): one per category of actions, shared by all of them, so
// RegisterTaskDefinition and DeregisterTaskDefinition drain one bucket; actions ECS does not list are not throttled.
//
// # Where it simplifies ECS
//
//   - No capacity providers, load balancers or container health checks: a task is healthy when it is RUNNING
//     and Timing.HealthCheckGrace has passed (0 by default; 40 s in FargateTiming and EC2Timing, profiles.go).
//   - Container instances exist only when AddContainerInstances (or SeedSpec.ContainerInstances) registers them:
//     then EC2 tasks are placed by CPU and memory, with ECS's "unable to place a task" event, and a DAEMON
//     service runs one task per instance (capacity.go). Without them EC2 capacity is unbounded and a DAEMON
//     service runs desiredCount tasks (1 when unset) as if that were the instance count.
//   - BLUE_GREEN, LINEAR and CANARY deployments go through ECS's lifecycle stages with scriptable lifecycle
//     hooks (SetHookOutcome); traffic is a number, there is no load balancer (strategies.go).
//   - CODE_DEPLOY and EXTERNAL services get an initial deployment like ECS services so they have tasks;
//     UpdateService refuses a new task definition for them, as ECS does. Task sets are not modelled.
//   - A rollback starts fresh tasks of the old revision and drains the old ones, instead of reusing them.
//   - A stopping task leaves RUNNING at once (lastStatus STOPPING) instead of passing through DEACTIVATING.
//   - Several launches or failures at the same instant produce one event each rather than one batched event.
//   - UpdateService merges a given deploymentConfiguration member by member over the current one and starts
//     a deployment only for a different task definition, forceNewDeployment or a network/capacity change
//     (naming the revision the service already runs starts none). Older deployments leave deployments[] once
//     they have no task left, except a FAILED one, which stays until the primary completes.
//   - Tag rule violations are InvalidParameterException; an empty tag list is accepted (the API model allows it).
//   - Fault latency is measured on the simulator's clock, like every other duration here.
//
// Tests of other packages start it with StartServer and create a steady service with SeedService; the demo starts
// it with Serve (neither links the testing package). Shapes (shapes.go) are the services rehearsals and tests share.
package ecssim
