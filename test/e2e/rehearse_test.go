package e2e

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
)

// rehearseSecretKey is the fake secret access key the rehearsal reads the "real" account with.
const rehearseSecretKey = "rehearseEnvSecretValue-DO-NOT-PRINT-5b1d"

// Issue 12's `experiment rehearse`, as a user runs it against their account: a simulator seeded with a built-in
// shape plays the real account, reached through AWS_ENDPOINT_URL_ECS with the run's own credentials. The binary may
// only read it (DescribeServices, DescribeTaskDefinition); the fault runs against its simulated copy, on Fargate's
// real timing at 30x, and the prediction says what ECS did there. The exit code is the simulated run's: a refusal
// by the copy's preflight exits 2, as a real run would.
func TestRehearseReadsTheRealAccountOnly(t *testing.T) {
	cases := []struct {
		shape    string
		env      map[string]string
		wantCode int
		want     []string
	}{
		{shape: "rolling-breaker", wantCode: 0, want: []string{
			"prediction: service web: ECS may start 2 chaos task(s) at once", "prediction: service web: rolled back by ECS after",
			"prediction: service web: effect: confirmed", "prediction: service web: restore rolled-back-by-ecs, completed after",
		}},
		{shape: "rolling", wantCode: 0, want: []string{
			"prediction: service web: not rolled back by ECS (no deployment circuit breaker)",
			"prediction: service web: lowest count of original tasks RUNNING: 3 of 3", "prediction: service web: restore reverted",
		}},
		{shape: "daemon", env: map[string]string{"TASK_REPLICA_AFFECTED_PERC": "100"}, wantCode: 2, want: []string{
			"lower TASK_REPLICA_AFFECTED_PERC", "prediction: service node-agent: not injected (refused)",
			"prediction: service node-agent assumes: EC2 capacity is unknown",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.shape, func(t *testing.T) {
			t.Parallel()
			shape, ok := ecssim.ShapeNamed(tc.shape)
			if !ok {
				t.Fatalf("no shape %s", tc.shape)
			}
			real, client, url := ecssim.StartServer(t, ecssim.Options{Timing: shape.Timing})
			if err := shape.Seed(binary.Deadline(t, 30*time.Second), real, client); err != nil {
				t.Fatalf("seed the real account: %v", err)
			}
			real.ResetRequests()
			overrides := map[string]string{"TOTAL_CHAOS_DURATION": "180", "CHAOS_INTERVAL": "180", "STATUS_CHECK_DELAY": "5", "STATUS_CHECK_TIMEOUT": "600"}
			maps.Copy(overrides, tc.env)
			env := binary.PodEnv(t, "AKIDREHEARSEFAKEKEY", rehearseSecretKey, url, shape.Service.Cluster, shape.Service.Service, overrides)
			p, code := runExperiment(t, env, "rehearse")
			stderr := p.Stderr.String()
			if code != tc.wantCode || !strings.Contains(stderr, fmt.Sprintf("(exit %d) if the real services behave as their copies did", code)) {
				t.Errorf("exit %d, want %d, the simulated run's as the prediction states it", code, tc.wantCode)
			}
			if tc.wantCode == 0 && parseResult(t, p.Stdout.String()).Status.ExperimentStatus.Verdict != "Pass" {
				t.Errorf("the simulated run's ChaosResult is not a Pass:\n%s", p.Stdout.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not say %q", want)
				}
			}
			assertReadOnly(t, real)
			if strings.Contains(stderr+p.Stdout.String(), rehearseSecretKey) {
				t.Error("the secret access key was printed")
			}
			if t.Failed() {
				t.Logf("stderr:\n%s", stderr)
			}
		})
	}
}

// assertReadOnly checks the real account's request log: DescribeServices and DescribeTaskDefinition, both, and
// nothing else.
func assertReadOnly(t *testing.T, real *ecssim.Simulator) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range real.Requests() {
		seen[r.Operation]++
		if r.Mutating || r.Operation != "DescribeServices" && r.Operation != "DescribeTaskDefinition" {
			t.Errorf("the rehearsal called %s on the real account (mutating: %v, %s)", r.Operation, r.Mutating, r.Summary)
		}
	}
	if seen["DescribeServices"] != 1 || seen["DescribeTaskDefinition"] != 1 {
		t.Errorf("the real account answered %v, want one DescribeServices and one DescribeTaskDefinition", seen)
	}
}
