//go:build integration

package probe

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/test/prometheus"
)

// promSpeed is slower than speed: Prometheus scrapes on the wall clock, so a chaos window must last
// several real scrape intervals.
const promSpeed = 10

func promJSON(name, mode, endpoint, query, criteria, value string) string {
	return fmt.Sprintf(`{"name": %q, "type": "promProbe", "mode": %q,
		"promProbe/inputs": {"endpoint": %q, "query": %q, "comparator": {"criteria": %q, "value": %q}},
		"runProperties": {"probeTimeout": "20s", "interval": "1s", "probePollingInterval": "2s"}}`,
		name, mode, endpoint, query, criteria, value)
}

func TestPromProbeAgainstRealPrometheus(t *testing.T) {
	ctx := t.Context()
	var pending atomic.Int64
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP aws_ecs_pending_task_count Pending tasks.\n# TYPE aws_ecs_pending_task_count gauge\n")
		fmt.Fprintf(w, "aws_ecs_pending_task_count{service=\"web\"} %d\n", pending.Load())
	}))
	t.Cleanup(exporter.Close)
	prom := prometheus.Start(t, exporter.URL+"/metrics")
	const query = `aws_ecs_pending_task_count{service="web"}`
	if _, err := prom.WaitForSample(ctx, query); err != nil {
		t.Fatal(err)
	}
	queryFile := filepath.Join(t.TempDir(), "query.promql")
	if err := os.WriteFile(queryFile, []byte(query+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	probes := []string{
		promJSON("steady-before", ModeSOT, prom.URL, query, "==", "0"),
		promJSON("no-pending-during-chaos", ModeOnChaos, prom.URL, query, "<=", "0"),
		promJSON("never-negative", ModeContinuous, prom.URL, query, ">=", "0"),
		promJSON("steady-after", ModeEOT, prom.URL, query, "==", "0"),
		strings.Replace(promJSON("from-query-path", ModeEdge, prom.URL, "", "oneOf", "[0,5]"),
			`"query": ""`, `"queryPath": "`+queryFile+`"`, 1),
	}
	defs, err := Parse([]byte("[" + strings.Join(probes, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	c := clock.NewScaled(promSpeed)
	r := NewRunner(defs, Deps{Clock: c})
	r.PreChaos(ctx)
	r.ChaosStarted(ctx)
	pending.Store(5) // the fault takes effect: tasks pile up
	if _, err := prom.WaitForValue(ctx, query, func(v float64) bool { return v == 5 }); err != nil {
		t.Fatal(err)
	}
	clock.Sleep(c, 10*time.Second, ctx.Done()) // OnChaos polls every 2s (scaled)
	r.ChaosEnded(ctx)
	pending.Store(0) // restored
	if _, err := prom.WaitForValue(ctx, query, func(v float64) bool { return v == 0 }); err != nil {
		t.Fatal(err)
	}
	r.PostChaos(ctx)

	want := map[string]Verdict{"steady-before": Passed, "no-pending-during-chaos": Failed, "never-negative": Passed,
		"steady-after": Passed, "from-query-path": Passed}
	for _, res := range r.Results() {
		if res.Verdict != want[res.Name] {
			t.Errorf("%s: %s (%s), want %s", res.Name, res.Verdict, res.Description, want[res.Name])
		}
	}
	if res := r.Results()[1]; !strings.Contains(res.Description, "actual value 5") {
		t.Errorf("OnChaos description %q does not show the value seen", res.Description)
	}
}

func TestPromProbeFailures(t *testing.T) {
	prom := prometheus.Start(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	notProm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<html>login</html>")
	}))
	t.Cleanup(notProm.Close)

	tests := []struct {
		name, endpoint, query, description string
	}{
		{"no sample", prom.URL, "metric_that_does_not_exist", "no sample"},
		{"bad query", prom.URL, "sum(", "refused query"},
		{"unreachable", closedURL, "up", "connection refused"},
		{"not prometheus", notProm.URL, "up", "not the query API's JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runOnce(t, promJSON("p", ModeSOT, tt.endpoint, tt.query, ">=", "0"))
			if res.Verdict != Failed || !strings.Contains(res.Description, tt.description) {
				t.Fatalf("result = %s %q, want Failed containing %q", res.Verdict, res.Description, tt.description)
			}
		})
	}
	// A scalar answer is a sample too.
	if res := runOnce(t, promJSON("p", ModeSOT, prom.URL, "scalar(vector(3))", "==", "3")); res.Verdict != Passed {
		t.Fatalf("scalar query: %+v", res)
	}
}
