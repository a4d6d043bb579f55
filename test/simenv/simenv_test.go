package simenv

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
)

// TestFaultClientsAreThePods: the fault's two clients retry as the pod's do for their purpose (awsclient.ECSOptions),
// each with a retryer of its own, whatever AWS_MAX_ATTEMPTS the machine sets, and they reach the simulator.
func TestFaultClientsAreThePods(t *testing.T) {
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	e := New(t, Options{})
	cases := []struct {
		name    string
		client  *ecs.Client
		purpose string
	}{
		{"main", e.Chaos, awsclient.PurposeMain},
		{"restore", e.Restore, awsclient.PurposeRestore},
	}
	for _, tc := range cases {
		want := ecs.New(ecs.Options{}, awsclient.ECSOptions(tc.purpose)).Options().Retryer.MaxAttempts()
		if got := tc.client.Options().Retryer.MaxAttempts(); got != want {
			t.Errorf("%s client: %d attempts, want the pod's %d", tc.name, got, want)
		}
		if _, err := tc.client.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{}); err != nil {
			t.Errorf("%s client: ListTaskDefinitions against the simulator: %v", tc.name, err)
		}
	}
	if e.Chaos.Options().Retryer == e.Restore.Options().Retryer {
		t.Error("the main and restore clients share a retryer, so one retry budget")
	}
	if n := len(e.Sim.Requests()); n != len(cases) {
		t.Errorf("the simulator answered %d requests, want %d", n, len(cases))
	}
}
