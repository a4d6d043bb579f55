package result_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

func TestName(t *testing.T) {
	tests := []struct {
		engine, experiment, instance, want string
	}{
		{"nginx-chaos", "ecs-invalid-container-image", "", "nginx-chaos-ecs-invalid-container-image"},
		{"nginx-chaos", "ecs-invalid-container-image", "a1", "nginx-chaos-ecs-invalid-container-image-a1"},
		{"", "ecs-invalid-container-image", "", "ecs-invalid-container-image"},
		{"", "ecs-invalid-container-image", "a1", "ecs-invalid-container-image"},
	}
	for _, tt := range tests {
		if got := result.Name(tt.engine, tt.experiment, tt.instance); got != tt.want {
			t.Errorf("Name(%q, %q, %q) = %q, want %q", tt.engine, tt.experiment, tt.instance, got, tt.want)
		}
	}
}

func readFile(t *testing.T, path string) result.Stored {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := result.ReadYAML(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return stored
}

// TestFileWriterOutcomes runs one whole run per case and checks what a
// reader of the file sees at the start and at the end.
func TestFileWriterOutcomes(t *testing.T) {
	target := func(s result.ChaosStatus) []result.Target {
		return []result.Target{{Name: "svc-a", Kind: "ECSService", ChaosStatus: s}}
	}
	tests := []struct {
		name        string
		finish      result.ChaosResult
		wantPhase   result.Phase
		wantVerdict result.Verdict
		wantPercent string
		wantHistory result.History
		wantErrCode string
	}{
		{
			name:        "pass",
			finish:      result.ChaosResult{Phase: result.PhaseCompleted, Verdict: result.VerdictPass, Targets: target(result.ChaosReverted)},
			wantPhase:   result.PhaseCompleted,
			wantVerdict: result.VerdictPass,
			wantPercent: "100",
			wantHistory: result.History{PassedRuns: 1, Targets: target(result.ChaosReverted)},
		},
		{
			name: "probe failure",
			finish: result.ChaosResult{
				Phase: result.PhaseCompletedWithProbeFailure, Verdict: result.VerdictFail,
				ProbeStatuses: []result.ProbeStatus{
					{Name: "http", Type: "httpProbe", Mode: "Continuous", Status: result.ProbeStatusBody{Verdict: result.ProbePassed}},
					{Name: "prom", Type: "promProbe", Mode: "EOT", Status: result.ProbeStatusBody{Verdict: result.ProbeFailed, Description: "value 3 > 1"}},
				},
			},
			wantPhase:   result.PhaseCompletedWithProbeFailure,
			wantVerdict: result.VerdictFail,
			wantPercent: "50",
			wantHistory: result.History{FailedRuns: 1, Targets: target(result.ChaosInjected)},
		},
		{
			name: "error",
			finish: result.ChaosResult{Phase: result.PhaseError, Verdict: result.VerdictError,
				ErrorOutput: &result.ErrorOutput{ErrorCode: "PREFLIGHT", Reason: "service is DRAINING"}},
			wantPhase:   result.PhaseError,
			wantVerdict: result.VerdictError,
			wantPercent: "0",
			wantHistory: result.History{FailedRuns: 1, Targets: target(result.ChaosInjected)},
			wantErrCode: "PREFLIGHT",
		},
		{
			name:        "stopped",
			finish:      result.ChaosResult{Phase: result.PhaseStopped, Verdict: result.VerdictStopped, Targets: target(result.ChaosReverted)},
			wantPhase:   result.PhaseStopped,
			wantVerdict: result.VerdictStopped,
			wantPercent: "0",
			wantHistory: result.History{StoppedRuns: 1, Targets: target(result.ChaosReverted)},
		},
		{
			name:        "finished without a verdict is an error, never Awaited",
			finish:      result.ChaosResult{Phase: result.PhaseRunning, Verdict: result.VerdictAwaited},
			wantPhase:   result.PhaseError,
			wantVerdict: result.VerdictError,
			wantPercent: "0",
			wantHistory: result.History{FailedRuns: 1, Targets: target(result.ChaosInjected)},
			wantErrCode: "RESULT_INCOMPLETE",
		},
		{
			name:        "error verdict without a reason gets one",
			finish:      result.ChaosResult{Phase: result.PhaseCompleted, Verdict: result.VerdictError},
			wantPhase:   result.PhaseCompleted,
			wantVerdict: result.VerdictError,
			wantPercent: "0",
			wantHistory: result.History{FailedRuns: 1, Targets: target(result.ChaosInjected)},
			wantErrCode: "UNKNOWN",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "result.yaml")
			w := result.NewFileWriter(path)
			base := result.ChaosResult{Engine: "e", EngineUID: "uid-1", Experiment: "ecs-invalid-container-image", Namespace: "litmus"}

			start := base
			start.Phase, start.Verdict = result.PhaseCompleted, result.VerdictPass // Start must ignore these
			start.Targets = target(result.ChaosTargeted)
			if err := w.Start(ctx, &start); err != nil {
				t.Fatal(err)
			}
			got := readFile(t, path)
			if got.Result.Phase != result.PhaseRunning || got.Result.Verdict != result.VerdictAwaited || got.Result.ProbeSuccessPercentage != "Awaited" {
				t.Fatalf("after Start: %s/%s/%s, want Running/Awaited/Awaited", got.Result.Phase, got.Result.Verdict, got.Result.ProbeSuccessPercentage)
			}

			update := base
			update.Targets = target(result.ChaosInjected)
			if err := w.Update(ctx, &update); err != nil {
				t.Fatal(err)
			}

			finish := tt.finish
			finish.Engine, finish.EngineUID, finish.Experiment, finish.Namespace = base.Engine, base.EngineUID, base.Experiment, base.Namespace
			if err := w.Finish(ctx, &finish); err != nil {
				t.Fatal(err)
			}
			got = readFile(t, path)
			if got.Result.Phase != tt.wantPhase || got.Result.Verdict != tt.wantVerdict || got.Result.ProbeSuccessPercentage != tt.wantPercent {
				t.Errorf("after Finish: %s/%s/%s, want %s/%s/%s", got.Result.Phase, got.Result.Verdict, got.Result.ProbeSuccessPercentage,
					tt.wantPhase, tt.wantVerdict, tt.wantPercent)
			}
			if !reflect.DeepEqual(got.History, tt.wantHistory) {
				t.Errorf("history = %+v, want %+v", got.History, tt.wantHistory)
			}
			gotCode := ""
			if got.Result.ErrorOutput != nil {
				gotCode = got.Result.ErrorOutput.ErrorCode
			}
			if gotCode != tt.wantErrCode {
				t.Errorf("errorOutput = %+v, want code %q", got.Result.ErrorOutput, tt.wantErrCode)
			}
			if len(got.Result.ProbeStatuses) != len(tt.finish.ProbeStatuses) {
				t.Errorf("probeStatuses = %+v, want %+v", got.Result.ProbeStatuses, tt.finish.ProbeStatuses)
			}
		})
	}
}

func TestFileWriterObjectShape(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "result.yaml")
	w := result.NewFileWriter(path)
	r := result.ChaosResult{
		Engine: "nginx-chaos", EngineUID: "0b0f", Experiment: "ecs-invalid-container-image", Namespace: "litmus",
		Phase: result.PhaseCompleted, Verdict: result.VerdictPass,
		FaultStatus: map[string]any{
			"services": []map[string]any{{"name": "svc-a", "failedTasks": 3, "firstFailure": "CannotPullContainerError: x"}},
			"ratio":    0.5,
			"rolledBack": struct {
				At string `json:"at"`
			}{At: "2026-11-29T00:00:00Z"},
		},
	}
	if err := w.Finish(ctx, &r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"apiVersion: litmuschaos.io/v1alpha1", "kind: ChaosResult",
		"name: nginx-chaos-ecs-invalid-container-image", "namespace: litmus",
		`chaosUID: "0b0f"`, "kind: ChaosEngine", `uid: "0b0f"`,
		"engine: nginx-chaos", "experiment: ecs-invalid-container-image",
		"experimentStatus:", "phase: Completed", "verdict: Pass",
		"faultStatus:", "failedTasks: 3", "ratio: 0.5", "at: \"2026-11-29T00:00:00Z\"",
		"history:", "passedRuns: 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("file lacks %q:\n%s", want, text)
		}
	}
}

func TestFileWriterKeepsHistoryAcrossWriters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "result.yaml")
	for run := 0; run < 3; run++ {
		w := result.NewFileWriter(path)
		r := result.ChaosResult{Experiment: "ecs-invalid-container-image"}
		if err := w.Start(ctx, &r); err != nil {
			t.Fatal(err)
		}
		r.Phase, r.Verdict = result.PhaseCompleted, result.VerdictPass
		if err := w.Finish(ctx, &r); err != nil {
			t.Fatal(err)
		}
		// A Finish retried for the same run is not counted again.
		if err := w.Finish(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, path).History.PassedRuns; got != 3 {
		t.Errorf("passedRuns = %d, want 3", got)
	}

	// A file holding another result starts a fresh history.
	w := result.NewFileWriter(path)
	other := result.ChaosResult{Experiment: "other", Phase: result.PhaseStopped, Verdict: result.VerdictStopped}
	if err := w.Finish(ctx, &other); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	if got.Result.Name != "other" || !reflect.DeepEqual(got.History, result.History{StoppedRuns: 1}) {
		t.Errorf("other result = %s %+v, want a fresh history with one stopped run", got.Result.Name, got.History)
	}
}

func TestStreamWriterWritesOneFinalDocument(t *testing.T) {
	ctx := t.Context()
	var out bytes.Buffer
	w := result.NewStreamWriter(&out)
	r := result.ChaosResult{Experiment: "ecs-invalid-container-image"}
	if err := w.Start(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if err := w.Update(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("stream written before Finish:\n%s", out.String())
	}
	r.Phase, r.Verdict = result.PhaseStopped, result.VerdictStopped
	if err := w.Finish(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "kind: ChaosResult"); n != 1 {
		t.Fatalf("%d documents, want 1:\n%s", n, out.String())
	}
	got, err := result.ReadYAML(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.Result.Verdict != result.VerdictStopped || got.History.StoppedRuns != 1 {
		t.Errorf("got %+v", got)
	}
}

func TestWritersRejectInvalidResults(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		r    *result.ChaosResult
	}{
		{"nil", nil},
		{"no name", &result.ChaosResult{}},
		{"fault status that is not JSON", &result.ChaosResult{Experiment: "x", FaultStatus: map[string]any{"c": make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "result.yaml")
			err := result.NewFileWriter(path).Start(ctx, tt.r)
			if !errors.Is(err, result.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
			if _, statErr := os.Stat(path); statErr == nil {
				t.Error("an invalid result was written")
			}
		})
	}
}

// TestRunIdentityIsStoredAndReadBack: status.run holds the fault's run id, Job uid and pod, the history counts
// the run under that id (a second Finish of the same run is not counted again, a new run id is), and Read gives
// back what a retried pod of the same Job needs to see.
func TestRunIdentityIsStoredAndReadBack(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "result.yaml")
	w := result.NewFileWriter(path)
	run := result.Run{ID: "0a1b2c3d4e", JobUID: "5f0c3a5e-8a43-4b7e-9d39-1b8f3c0e2d11", Pod: "fault-abcde"}
	r := &result.ChaosResult{Experiment: "ecs-invalid-container-image", Namespace: "litmus", Run: run}

	if _, found, err := w.Read(ctx, r.Experiment); err != nil || found {
		t.Fatalf("Read before the first write = found %v, %v; want nothing", found, err)
	}
	if err := w.Start(ctx, r); err != nil {
		t.Fatal(err)
	}
	st, found, err := w.Read(ctx, r.Experiment)
	if err != nil || !found || st.Result.Run != run || st.Result.Phase != result.PhaseRunning || st.Result.Phase.Ended() {
		t.Fatalf("Read after Start = %+v, %v, %v; want run %+v, phase Running", st.Result, found, err, run)
	}
	r.Phase, r.Verdict = result.PhaseCompleted, result.VerdictPass
	for range 2 {
		if err := w.Finish(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A new writer (a retried pod) reads the file as the predecessor left it.
	st, found, err = result.NewFileWriter(path).Read(ctx, r.Experiment)
	if err != nil || !found || st.Result.Run != run || !st.Result.Phase.Ended() || st.History.PassedRuns != 1 {
		t.Fatalf("Read by a new writer = %+v, history %+v, %v, %v; want run %+v, ended, one passed run", st.Result, st.History, found, err, run)
	}
	if got := readFile(t, path); got.Result.Run != run {
		t.Fatalf("the file holds run %+v, want %+v", got.Result.Run, run)
	}

	r.Run = result.Run{ID: "ffffffffff", JobUID: "another-job"}
	if err := w.Start(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got.History.PassedRuns != 2 || got.Result.Run != r.Run {
		t.Fatalf("after a second run: history %+v, run %+v; want 2 passed runs and run %+v", got.History, got.Result.Run, r.Run)
	}
}

func TestPhaseEnded(t *testing.T) {
	for phase, want := range map[result.Phase]bool{
		result.PhaseRunning: false, "": false, result.PhaseCompleted: true, result.PhaseCompletedWithProbeFailure: true,
		result.PhaseError: true, result.PhaseStopped: true,
	} {
		if got := phase.Ended(); got != want {
			t.Errorf("%q.Ended() = %v, want %v", phase, got, want)
		}
	}
}
