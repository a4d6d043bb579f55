package recorder

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// slowWriter is a result.Writer whose Update takes as long as a slow apiserver; it counts the writes.
type slowWriter struct {
	result.Writer
	delay time.Duration

	mu      sync.Mutex
	updates int
	last    *result.ChaosResult
}

func (w *slowWriter) Update(ctx context.Context, r *result.ChaosResult) error {
	select {
	case <-time.After(w.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	w.mu.Lock()
	w.updates++
	w.last = r
	w.mu.Unlock()
	return w.Writer.Update(ctx, r)
}

func (w *slowWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.updates
}

func testConfig() tunables.Config {
	return tunables.Config{ClusterName: "prod", Services: []string{"web", "api"}, ExperimentName: "ecs-invalid-container-image",
		ChaosNamespace: "litmus", ExpectHealthyTasks: -1}
}

func newTestRecorder(t *testing.T, w result.Writer) *Recorder {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	rec, err := New(t.Context(), Outputs{Writer: w}, Params{Config: testConfig(), Run: result.Run{ID: "run-1"}, Clock: clock.Real{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestHooksDoNotWaitForTheWriter: with a writer that takes 300 ms per update (a slow apiserver), the hooks the
// fault calls on its inject and restore path return at once; the updates land behind, folded, and the final
// write carries the end state.
func TestHooksDoNotWaitForTheWriter(t *testing.T) {
	w := &slowWriter{Writer: result.NewFileWriter(filepath.Join(t.TempDir(), "result.yaml")), delay: 300 * time.Millisecond}
	rec := newTestRecorder(t, w)
	if err := rec.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	hooks := rec.Hooks(t.Context())
	began := time.Now()
	for range 5 {
		hooks.Injected("web", "web:8")
		hooks.Injected("api", "api:3")
	}
	hooks.Restored(ecsimage.ServiceReport{Service: "web", State: ecsimage.StateRestored, Changed: true})
	if took := time.Since(began); took > 100*time.Millisecond {
		t.Errorf("12 hook calls took %s with a 300 ms writer: the hooks wait for the apiserver", took)
	}
	// The updates land behind the hooks (Finish would drop one still pending: its own write follows).
	deadline := time.Now().Add(5 * time.Second)
	for w.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	final := rec.Finish(t.Context(), &ecsimage.Report{RunID: "run-1", Services: []ecsimage.ServiceReport{
		{Service: "web", State: ecsimage.StateRestored, Changed: true, ChaosTaskDefinitions: []string{"web:8"}, Effective: true},
		{Service: "api", State: ecsimage.StateRestored, Changed: true, ChaosTaskDefinitions: []string{"api:3"}, Effective: true},
	}})
	if updates := w.count(); updates == 0 || updates > 3 {
		t.Errorf("%d updates written for 11 requests, want them folded into 1 to 3", updates)
	}
	if !final.Recorded || final.Result.Run.ID != "run-1" {
		t.Fatalf("final = %+v, want recorded with run id run-1", final)
	}
	stored, found, err := w.Read(t.Context(), rec.Name())
	if err != nil || !found {
		t.Fatalf("Read = %v, %v", found, err)
	}
	for _, tg := range stored.Result.Targets {
		if tg.ChaosStatus != result.ChaosReverted {
			t.Errorf("target %s is %s in the final result, want reverted", tg.Name, tg.ChaosStatus)
		}
	}
}

// failingWriter refuses the final write, like an apiserver that went away.
type failingWriter struct{ result.Writer }

func (failingWriter) Finish(context.Context, *result.ChaosResult) error {
	return errors.New("the server is currently unable to handle the request")
}

// TestUnwrittenVerdictIsNotAPass: a Pass whose final write failed is reported as Error and not recorded, so the
// pod's exit status cannot claim a pass nobody can read.
func TestUnwrittenVerdictIsNotAPass(t *testing.T) {
	rec := newTestRecorder(t, failingWriter{result.NewStreamWriter(io.Discard)})
	if err := rec.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	final := rec.Finish(t.Context(), &ecsimage.Report{RunID: "run-1", Services: []ecsimage.ServiceReport{
		{Service: "web", State: ecsimage.StateRestored, Changed: true, ChaosTaskDefinitions: []string{"web:8"}, Effective: true},
	}})
	if final.Recorded || final.Outcome != ecsimage.OutcomeError {
		t.Fatalf("final = recorded %v, outcome %s; want not recorded, error", final.Recorded, final.Outcome)
	}
}

// TestRecordFailureUsesTheRunsWriter: an early failure lands where every other result of the run goes (here
// RESULT_FILE), under the run's name, with its reason and the run's identity.
func TestRecordFailureUsesTheRunsWriter(t *testing.T) {
	cfg := testConfig()
	cfg.ResultFile = filepath.Join(t.TempDir(), "result.yaml")
	out, err := Open(cfg, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	run := result.Run{ID: "run-2", JobUID: "job-1", Pod: "fault-x"}
	if err := RecordFailure(t.Context(), out, cfg, run, "GENERIC_ERROR", "invalid input: TOTAL_CHAOS_DURATION"); err != nil {
		t.Fatal(err)
	}
	stored, found, err := result.NewFileWriter(cfg.ResultFile).Read(t.Context(), "ecs-invalid-container-image")
	if err != nil || !found {
		t.Fatalf("Read = %v, %v", found, err)
	}
	r := stored.Result
	if r.Phase != result.PhaseError || r.Verdict != result.VerdictError || r.ErrorOutput == nil ||
		r.ErrorOutput.Reason != "invalid input: TOTAL_CHAOS_DURATION" || r.Run != run || r.Namespace != "litmus" {
		t.Fatalf("stored %+v, want Error/Error with the reason, run %+v, namespace litmus", r, run)
	}
	if stored.History.FailedRuns != 1 {
		t.Errorf("history %+v, want one failed run", stored.History)
	}
}

// TestOpenPicksTheOutput: outside a cluster the result goes to RESULT_FILE, else to stdout at the end.
func TestOpenPicksTheOutput(t *testing.T) {
	var stdout bytes.Buffer
	cfg := testConfig()
	out, err := Open(cfg, nil, &stdout)
	if err != nil || out.InCluster() {
		t.Fatalf("Open = %+v, %v; want a stream, not in cluster", out, err)
	}
	if err := RecordFailure(t.Context(), out, cfg, result.Run{ID: "r"}, "GENERIC_ERROR", "x"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stdout.Bytes(), []byte("kind: ChaosResult")) {
		t.Errorf("stdout holds no ChaosResult:\n%s", stdout.String())
	}
}
