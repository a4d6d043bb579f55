package ecssim

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// FastTiming is the data plane of unit tests and benchmarks: a task provisions in 100 ms, runs 200 ms later, and a
// pull that cannot succeed fails after 1 s; healthy as soon as it runs. Nothing here is realistic on purpose.
func FastTiming() Timing {
	return Timing{
		Provisioning:     100 * time.Millisecond,
		PendingToRunning: 200 * time.Millisecond,
		PullFailure:      time.Second,
		StopDuration:     200 * time.Millisecond,
		LaunchBackoff:    2 * time.Second,
	}
}

// ProcessTiming is the data plane of the tests that run the built binary on the wall clock with a cycle of 3 s or
// more (test/binary's PodEnv: test/e2e, test/kubefault, test/litmus): a chaos task fails its pull about 1.2 s after
// its launch (200 ms provisioning, a 1 s pull), well inside the first hold, and a failing deployment backs off only
// 500 ms, so a hold of a minute keeps failing tasks. Those suites' waits were set against these values; FastTiming's
// 2 s back-off would thin out the failures of their longer holds.
func ProcessTiming() Timing {
	return Timing{
		Provisioning:     200 * time.Millisecond,
		PendingToRunning: 300 * time.Millisecond,
		PullFailure:      time.Second,
		StopDuration:     200 * time.Millisecond,
		LaunchBackoff:    500 * time.Millisecond,
	}
}

// ShortCycleTiming is ProcessTiming halved for TOTAL_CHAOS_DURATION 2: test/reliability runs the binary up to 50
// times per matrix (crash recovery, secret hygiene), so its cycle is 2 s, and a chaos task must fail within it: 600
// ms after its launch (100 ms provisioning, a 500 ms pull). RELIABILITY.md's figures were measured on these values.
func ShortCycleTiming() Timing {
	return Timing{
		Provisioning:     100 * time.Millisecond,
		PendingToRunning: 200 * time.Millisecond,
		PullFailure:      500 * time.Millisecond,
		StopDuration:     100 * time.Millisecond,
		LaunchBackoff:    500 * time.Millisecond,
	}
}

// FargateTiming is a Fargate task's life as public reports measure it. Use it with a scaled clock.
//
//   - PROVISIONING: Fargate finds capacity for every task ("In the PROVISIONING state, neither the task nor the
//     containers exist as Amazon ECS needs to find compute capacity", ECS best practices, Speeding up task launch:
//     https://docs.aws.amazon.com/AmazonECS/latest/bestpracticesguide/task.html), 10 s here.
//   - Network attachment: every Fargate task is awsvpc, whose ENI "adds an overhead of several seconds to your task
//     launches" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-recommendations.html); a field
//     report of stuck launches at scale measured "ENI attachment latency: < 10 seconds per task (normal)"
//     (https://www.cloudkeeper.com/insights/blog/addressing-network-bottlenecks-while-scaling-amazon-ecs): 8 s.
//   - PENDING -> RUNNING: every Fargate task pulls its image (caching with ECS_IMAGE_PULL_BEHAVIOR is an EC2
//     launch type setting, task-recommendations page above): 10 s for a small image.
//   - A pull that cannot succeed: the agent retries it before the task stops with "CannotPullContainerError: pull
//     image manifest has been retried 5 time(s)" (the error text documented at
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html): 30 s of retries.
//     With provisioning, the first chaos task fails about 48 s after its launch: more than the seed's 30 s hold,
//     which is why a default run on Fargate sees the deployment stall rather than fail (issue 13, finding 9).
//   - Health check grace: a task without container health checks counts towards minimumHealthyPercent 40 s after
//     RUNNING (SDK doc of types.DeploymentConfiguration.MinimumHealthyPercent: "the service scheduler will wait for
//     40 seconds after a task reaches a RUNNING state").
func FargateTiming() Timing {
	return Timing{
		Provisioning:      10 * time.Second,
		NetworkAttachment: 8 * time.Second,
		PendingToRunning:  10 * time.Second,
		PullFailure:       30 * time.Second,
		PullAttempts:      5,
		StopDuration:      5 * time.Second,
		LaunchBackoff:     15 * time.Second,
		HealthCheckGrace:  40 * time.Second,
	}
}

// EC2Timing is a task on a running container instance: placement is quick because the instance exists (the same
// best-practices page: capacity is "already up and running" on self-managed hosts), a bridge-mode task attaches no
// ENI (awsvpc tasks add NetworkAttachment as on Fargate), the image pull is shorter than on Fargate because layers
// may be cached on the instance (ECS_IMAGE_PULL_BEHAVIOR, task-recommendations page above), the failing pull is
// retried as on Fargate, and the 40 s health grace is the same scheduler rule.
func EC2Timing() Timing {
	return Timing{
		Provisioning:      time.Second,
		NetworkAttachment: 5 * time.Second,
		PendingToRunning:  4 * time.Second,
		PullFailure:       25 * time.Second,
		PullAttempts:      5,
		StopDuration:      5 * time.Second,
		LaunchBackoff:     15 * time.Second,
		HealthCheckGrace:  40 * time.Second,
	}
}

// provisioningTime is how long a task of td stays in PROVISIONING: awsvpc tasks also wait for their ENI.
func (s *Simulator) provisioningTime(td *types.TaskDefinition) time.Duration {
	d := s.timing.Provisioning
	if td != nil && td.NetworkMode == types.NetworkModeAwsvpc {
		d += s.timing.NetworkAttachment
	}
	return d
}

// startGrace makes a task that just reached RUNNING healthy once the health check grace has passed; until then it
// does not count towards minimumHealthyPercent nor towards a completed deployment.
func (s *Simulator) startGrace(t *task) {
	if s.timing.HealthCheckGrace <= 0 {
		t.graceOver = true
		return
	}
	s.after(t, s.timing.HealthCheckGrace, func(t *task) {
		t.graceOver = true
		if t.svc != nil {
			s.reconcile(t.svc)
		}
	})
}
