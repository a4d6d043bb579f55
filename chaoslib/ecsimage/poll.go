package ecsimage

import (
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// recordPoll keeps what one DescribeServices answer showed of the service's deployments, so that Hooks.Progress
// carries the task counts per revision and a caller needs no ECS call of its own to draw them.
func (t *target) recordPoll(svc types.Service, now time.Time) {
	obs := &t.report.Observations
	obs.LastPoll = now
	obs.DesiredCount = int(svc.DesiredCount)
	obs.Deployments = make([]DeploymentCounts, 0, len(svc.Deployments))
	for _, d := range svc.Deployments {
		td := aws.ToString(d.TaskDefinition)
		role := "other"
		switch {
		case td == t.originalARN():
			role = "original"
		case td == t.chaosARN || slices.Contains(t.report.ChaosTaskDefinitions, td):
			role = "chaos"
		}
		obs.Deployments = append(obs.Deployments, DeploymentCounts{
			TaskDefinition: td, Role: role, Status: aws.ToString(d.Status), RolloutState: string(d.RolloutState),
			Desired: int(d.DesiredCount), Running: int(d.RunningCount), Pending: int(d.PendingCount), Failed: int(d.FailedTasks),
		})
	}
}

// restoreProgress reports one poll of the restore wait through Hooks.Progress, like a poll of the hold.
func (r *runState) restoreProgress(t *target, svc types.Service) {
	t.recordPoll(svc, r.opts.Clock.Now())
	r.callHook(func() {
		if r.opts.Hooks.Progress != nil {
			r.opts.Hooks.Progress(r.snapshot(t))
		}
	})
}

func timeAt(t time.Time) *time.Time { return &t }
