package ecsimage

import (
	"testing"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// Progress carries each poll's task counts per revision, in the hold and in the restore wait, so a timeline can be
// drawn from the hooks alone; the restore's two moments are in the report.
func TestProgressCarriesCountsPerRevisionThroughTheRestoreWait(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	opts := e.options("web")
	var polls []ServiceReport
	opts.Hooks.Progress = func(s ServiceReport) { polls = append(polls, s) }
	report := e.run(t, opts)
	s := report.Services[0]
	if s.Restore.At == nil || s.Restore.CompletedAt == nil || s.Restore.CompletedAt.Before(*s.Restore.At) {
		t.Fatalf("restore times = %v, %v; want both, completed after the restore", s.Restore.At, s.Restore.CompletedAt)
	}
	var sawChaos, sawAfterRestore bool
	for i, p := range polls {
		o := p.Observations
		if o.LastPoll.IsZero() || o.DesiredCount != 2 || len(o.Deployments) == 0 {
			t.Fatalf("poll %d: LastPoll %v, desired %d, %d deployments; want a time, 2 and the deployments", i, o.LastPoll, o.DesiredCount, len(o.Deployments))
		}
		if i > 0 && o.LastPoll.Before(polls[i-1].Observations.LastPoll) {
			t.Fatalf("poll %d went back in time", i)
		}
		for _, d := range o.Deployments {
			switch d.Role {
			case "chaos":
				sawChaos = sawChaos || d.Pending+d.Failed > 0 || d.Desired > 0
			case "original":
			default:
				t.Errorf("poll %d: deployment %s has role %q", i, d.TaskDefinition, d.Role)
			}
		}
		sawAfterRestore = sawAfterRestore || o.LastPoll.After(*s.Restore.At)
	}
	if !sawChaos || !sawAfterRestore {
		t.Errorf("polls saw the chaos deployment: %v, a poll of the restore wait: %v; want both", sawChaos, sawAfterRestore)
	}
	last := polls[len(polls)-1].Observations.Deployments
	if len(last) != 1 || last[0].Role != "original" || last[0].Running != 2 {
		t.Errorf("last poll = %+v, want the original deployment alone with 2 running", last)
	}
}
