package recorder

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
)

// bigReport is a run over services services of cycles cycles each, with every list the fault keeps filled.
func bigReport(services, cycles int) *ecsimage.Report {
	rep := &ecsimage.Report{RunID: "r1", StartedAt: time.Unix(0, 0), EndedAt: time.Unix(3600, 0)}
	for i := range services {
		s := ecsimage.ServiceReport{Service: fmt.Sprintf("svc-%04d", i), Cluster: "prod", State: ecsimage.StateRestored, Changed: true,
			Cycles: cycles, Effective: true, Effect: ecsimage.EffectConfirmed, OriginalTaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
			Warnings: []string{"first warning", "second warning"}}
		s.Restore.Action, s.Restore.Completed = ecsimage.RestoreReverted, true
		s.Observations.FailedTasks, s.Observations.FirstFailureReason = 3, "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
		s.Observations.StoppedReasons = []string{strings.Repeat("stopped ", 20)}
		s.Observations.ServiceEvents = []string{strings.Repeat("event ", 20)}
		for c := range cycles {
			arn := fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/web:%d", c+2)
			s.ChaosTaskDefinitions = append(s.ChaosTaskDefinitions, arn)
			s.Restore.Deregistered = append(s.Restore.Deregistered, arn)
			s.Observations.RolloutStates = append(s.Observations.RolloutStates, ecsimage.RolloutChange{Deployment: "ecs-svc/1", Revision: arn, State: "IN_PROGRESS"})
		}
		rep.Services = append(rep.Services, s)
	}
	return rep
}

func TestFaultStatusFitsTheChaosResult(t *testing.T) {
	cases := []struct {
		name              string
		services, cycles  int
		wantCompacted     string // "" when the report fits whole
		wantChaosRevision int    // chaos revisions kept per service
	}{
		{"one service, one cycle: whole", 1, 1, "", 1},
		{"100 services, 10 cycles: whole", 100, 10, "", 10},
		{"200 services, 60 cycles: per-cycle lists shortened", 200, 60, "first and last entries", 4},
		{"600 services, 30 cycles: observation texts dropped", 600, 30, "counts and the first failure", 4},
		{"5000 services: essentials only", 5000, 2, "essentials", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := bigReport(tc.services, tc.cycles)
			fs := faultStatus(rep, ecsimage.OutcomePass)
			data, err := json.Marshal(fs)
			if err != nil {
				t.Fatal(err)
			}
			if tc.services <= 1000 && len(data) > servicesBudget+1024 {
				t.Errorf("faultStatus is %d KiB, want at most %d KiB", len(data)>>10, servicesBudget>>10)
			}
			compacted, _ := fs["compacted"].(string)
			switch {
			case tc.wantCompacted == "" && compacted != "":
				t.Errorf("compacted %q, want the whole report", compacted)
			case tc.wantCompacted == "essentials" && !strings.Contains(compacted, "state, effect, error and restore outcome"):
				t.Errorf("compacted %q, want essentials only", compacted)
			case tc.wantCompacted != "" && tc.wantCompacted != "essentials" && !strings.Contains(compacted, tc.wantCompacted):
				t.Errorf("compacted %q, want it to say %q", compacted, tc.wantCompacted)
			}
			services := fs["services"].([]any)
			if len(services) != tc.services {
				t.Fatalf("%d services reported, want %d", len(services), tc.services)
			}
			last := services[len(services)-1].(map[string]any)
			restore := last["restore"].(map[string]any)
			if last["state"] != "restored" || restore["action"] != "reverted" || last["effective"] != true || fs["outcome"] != "pass" {
				t.Errorf("essentials lost: %v", last)
			}
			revisions, _ := last["chaosTaskDefinitions"].([]any)
			if len(revisions) != tc.wantChaosRevision {
				t.Errorf("%d chaos revisions kept, want %d", len(revisions), tc.wantChaosRevision)
			}
			// The run's own report is left whole: the restore reads it.
			if got := len(rep.Services[0].ChaosTaskDefinitions); got != tc.cycles {
				t.Errorf("the report itself lost chaos revisions: %d, want %d", got, tc.cycles)
			}
		})
	}
}
