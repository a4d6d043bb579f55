package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// hitRecorder is an application stand-in: it records when each path was probed and can be told to fail.
type hitRecorder struct {
	mu      sync.Mutex
	hits    map[string][]time.Time
	failing bool
}

func (h *hitRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hits[r.URL.Path] = append(h.hits[r.URL.Path], time.Now())
	if h.failing {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (h *hitRecorder) setFailing(v bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing = v
}

func (h *hitRecorder) times(path string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.hits[path]...)
}

func newHitRecorder(t *testing.T) (*hitRecorder, string) {
	h := &hitRecorder{hits: map[string][]time.Time{}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func httpProbe(name, mode, url string, stopOnFailure bool) string {
	return fmt.Sprintf(`- name: %s
  type: httpProbe
  mode: %s
  httpProbe/inputs:
    url: %s
    method:
      get:
        criteria: ==
        responseCode: "200"
  runProperties:
    probeTimeout: 2s
    interval: 500ms
    probePollingInterval: 500ms
    attempt: 1
    stopOnFailure: %v
`, name, mode, url, stopOnFailure)
}

func writeProbes(t *testing.T, probes ...string) string {
	path := filepath.Join(t.TempDir(), "probes.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(probes, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// injectAndRestore returns when the simulator took the inject (the first UpdateService to another revision) and
// the restore (the first one back to the original after it). The count of calls is TestLifecycle's business; this
// file is about the probes' moments.
func injectAndRestore(t *testing.T, sim *ecssim.Simulator, original string) (inject, restore time.Time) {
	t.Helper()
	var updates []ecssim.Request
	for _, r := range sim.Requests() {
		if r.Operation != "UpdateService" || r.ErrorCode != "" {
			continue
		}
		updates = append(updates, r)
		revision := ""
		for _, field := range strings.Fields(r.Summary) {
			if arn, ok := strings.CutPrefix(field, "taskDefinition="); ok {
				revision = arn
			}
		}
		switch {
		case inject.IsZero() && revision != "" && revision != original:
			inject = r.WallTime
		case !inject.IsZero() && restore.IsZero() && revision == original:
			restore = r.WallTime
		}
	}
	if inject.IsZero() || restore.IsZero() || len(updates) != 2 {
		for _, r := range updates {
			t.Logf("%s UpdateService %q", r.WallTime.Format(time.StampMicro), r.Summary)
		}
	}
	if inject.IsZero() || restore.IsZero() {
		t.Fatalf("no inject and restore among the UpdateService calls above")
	}
	return inject, restore
}

// ranBetween reports whether one of the times lies between from and to.
func ranBetween(times []time.Time, from, to time.Time) bool {
	for _, at := range times {
		if at.After(from) && at.Before(to) {
			return true
		}
	}
	return false
}

// Every probe mode runs at its moment relative to the inject and the restore, and the verdicts, the percentage and
// the phase land in the ChaosResult.
func TestProbeModesRunAtTheirMoments(t *testing.T) {
	f := newFixture(t)
	app, url := newHitRecorder(t)
	probes := writeProbes(t,
		httpProbe("sot", "SOT", url+"/sot", false),
		httpProbe("eot", "EOT", url+"/eot", false),
		httpProbe("edge", "Edge", url+"/edge", false),
		httpProbe("onchaos", "OnChaos", url+"/onchaos", false),
		httpProbe("continuous", "Continuous", url+"/continuous", false),
	)
	p, code := runExperiment(t, f.env(t, map[string]string{"PROBES_FILE": probes}))

	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, p.Stderr.String())
	}
	r := parseResult(t, p.Stdout.String())
	st := r.Status.ExperimentStatus
	if st.Phase != "Completed" || st.Verdict != "Pass" || st.ProbeSuccessPercentage != "100" {
		t.Errorf("result %s/%s with %s%%, want Completed/Pass with 100%%", st.Phase, st.Verdict, st.ProbeSuccessPercentage)
	}
	if len(r.Status.ProbeStatuses) != 5 {
		t.Fatalf("%d probe statuses, want 5: %+v", len(r.Status.ProbeStatuses), r.Status.ProbeStatuses)
	}
	for _, ps := range r.Status.ProbeStatuses {
		if ps.Status.Verdict != "Passed" {
			t.Errorf("probe %s (%s): %s %q", ps.Name, ps.Mode, ps.Status.Verdict, ps.Status.Description)
		}
	}
	inject, restore := injectAndRestore(t, f.sim, aws.ToString(f.original.TaskDefinition))
	sot, eot, edge, onchaos, continuous := app.times("/sot"), app.times("/eot"), app.times("/edge"), app.times("/onchaos"), app.times("/continuous")
	switch {
	case len(sot) == 0 || !sot[len(sot)-1].Before(inject):
		t.Errorf("SOT probe ran at %v, want before the inject at %v", sot, inject)
	case len(eot) == 0 || !eot[0].After(restore):
		t.Errorf("EOT probe ran at %v, want after the restore at %v", eot, restore)
	case len(edge) < 2 || !edge[0].Before(inject) || !edge[len(edge)-1].After(restore):
		t.Errorf("Edge probe ran at %v, want before the inject and after the restore", edge)
	case len(onchaos) == 0 || onchaos[0].Before(inject) || onchaos[len(onchaos)-1].After(restore):
		t.Errorf("OnChaos probe ran at %v, want only between the inject %v and the restore %v", onchaos, inject, restore)
	case len(continuous) < 2 || !ranBetween(continuous, inject, restore) || continuous[len(continuous)-1].After(eot[0]):
		// The loop starts with the pre-chaos probes but is not waited for (as in Litmus), so its first evaluation
		// may land after the inject on a busy machine; what is promised is that it runs through the chaos and
		// stops before the end-of-test probes.
		t.Errorf("Continuous probe ran at %v, want during the chaos (%v to %v) and ended before the EOT probe at %v", continuous, inject, restore, eot[0])
	}
}

// A failing Continuous probe with stopOnFailure ends the fault early, restores the service, and the verdict is Fail
// (exit 1), not Stopped: a failed hypothesis is not an abort.
func TestStopOnFailureProbeRestoresAndFails(t *testing.T) {
	f := newFixture(t)
	app, url := newHitRecorder(t)
	f.sim.OnRequest(func(r ecssim.Request) {
		if r.Operation == "UpdateService" && r.ErrorCode == "" {
			app.setFailing(true) // the application breaks once the service is pointed at the chaos revision
		}
	})
	probes := writeProbes(t, httpProbe("app-up", "Continuous", url+"/health", true))
	start := time.Now()
	p, code := runExperiment(t, f.env(t, map[string]string{"PROBES_FILE": probes, "TOTAL_CHAOS_DURATION": "60", "CHAOS_INTERVAL": "60"}))

	if code != 1 {
		t.Fatalf("exit %d, want 1 (Fail)\n%s", code, p.Stderr.String())
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("the run took %s: the failing probe must end the 60 s hold early", took)
	}
	r := parseResult(t, p.Stdout.String())
	st := r.Status.ExperimentStatus
	if st.Phase != "Completed_With_Probe_Failure" || st.Verdict != "Fail" || st.ProbeSuccessPercentage != "0" {
		t.Errorf("result %s/%s with %s%%, want Completed_With_Probe_Failure/Fail with 0%%", st.Phase, st.Verdict, st.ProbeSuccessPercentage)
	}
	if len(r.Status.ProbeStatuses) != 1 || r.Status.ProbeStatuses[0].Status.Verdict != "Failed" {
		t.Errorf("probe statuses %+v, want the one probe Failed", r.Status.ProbeStatuses)
	}
	f.assertRestored(t)
}

// The built-in expectations are judged from the fault's observations: the circuit breaker rolls back within
// EXPECT_ROLLBACK_WITHIN on a service where it is on, and the same expectation fails with a description where it is
// off.
func TestBuiltInExpectations(t *testing.T) {
	breaker := func(on bool) *types.DeploymentConfiguration {
		dc := originalDeploymentConfiguration()
		dc.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{Enable: on, Rollback: on}
		return dc
	}
	cases := []struct {
		name        string
		breakerOn   bool
		wantCode    int
		wantVerdict string
		wantText    string
	}{
		{"breaker rolls back in time", true, 0, "Passed", "rolled back after"},
		{"breaker off", false, 1, "Failed", "ECS did not roll back"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, breaker(tc.breakerOn))
			p, code := runExperiment(t, f.env(t, map[string]string{
				"TOTAL_CHAOS_DURATION": "10", "CHAOS_INTERVAL": "10", "EXPECT_ROLLBACK_WITHIN": "10", "EXPECT_HEALTHY_TASKS": "1",
			}))
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, p.Stderr.String())
			}
			r := parseResult(t, p.Stdout.String())
			verdicts := map[string]string{}
			for _, ps := range r.Status.ProbeStatuses {
				verdicts[ps.Name] = ps.Status.Verdict + ": " + ps.Status.Description
			}
			got := verdicts["expect-rollback-within"]
			if !strings.HasPrefix(got, tc.wantVerdict) || !strings.Contains(got, tc.wantText) {
				t.Errorf("expect-rollback-within = %q, want %s mentioning %q", got, tc.wantVerdict, tc.wantText)
			}
			if !strings.HasPrefix(verdicts["expect-healthy-tasks"], "Passed") {
				t.Errorf("expect-healthy-tasks = %q, want Passed (the stalled deployment keeps its tasks)", verdicts["expect-healthy-tasks"])
			}
			if aws.ToString(f.service(t).TaskDefinition) != aws.ToString(f.original.TaskDefinition) {
				t.Errorf("service not back on its original revision")
			}
		})
	}
}
