package kubefault

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

const engineName = "ecs-chaos"

// engineResultName is Litmus's <engine>-<experiment>.
const engineResultName = engineName + "-" + experimentName

// TestEventsOnChaosEngine: a run under a ChaosEngine reports each step as a core/v1 event on that engine (with
// its UID, so kubectl describe shows them), and a repeated step raises the count of one event instead of adding
// another. Two cycles restore twice with the same message.
func TestEventsOnChaosEngine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	uid := e.createEngine(t, engineName)
	p, code := run(t, e.childEnv(t, e.kubeconfig(t, ""), map[string]string{
		"CHAOSENGINE": engineName, "TOTAL_CHAOS_DURATION": "4", "CHAOS_INTERVAL": "2",
	}))
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	events := e.eventsAbout(t, "ChaosEngine", engineName)
	assertEventReasons(t, events, "PreChaosCheck", "ChaosInject", "PostChaosCheck", "Summary")
	for _, ev := range events {
		if ev.InvolvedObject.UID != uid {
			t.Errorf("event %s involves UID %q, want the engine's %s", ev.Reason, ev.InvolvedObject.UID, uid)
		}
		if ev.Count < 1 {
			t.Errorf("event %s has count %d", ev.Reason, ev.Count)
		}
	}
	if n := maxCount(events, "PostChaosCheck"); n != 2 {
		t.Errorf("PostChaosCheck count %d over two cycles, want one event with count 2: %+v", n, events)
	}
	if others := e.eventsAbout(t, "ChaosResult", engineResultName); len(others) != 0 {
		t.Errorf("%d events on the ChaosResult, want them all on the engine", len(others))
	}
	r := e.mustResult(t, engineResultName)
	if r.state() != "Completed/Pass" || r.Spec.Engine != engineName {
		t.Errorf("ChaosResult %s for engine %q, want Completed/Pass for %s", r.state(), r.Spec.Engine, engineName)
	}
	assertOwnedByEngine(t, r, uid)
	logOnFailure(t, p)
}

// TestEngineStopAbortsAndRestores: a user sets engineState: stop while the fault holds; the run stops at once,
// restores the service and records Stopped.
func TestEngineStopAbortsAndRestores(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createEngine(t, engineName)
	injected := simenv.OnInject(e.sim)
	p := start(t, e.childEnv(t, e.kubeconfig(t, ""), map[string]string{
		"CHAOSENGINE": engineName, "TOTAL_CHAOS_DURATION": "60", "CHAOS_INTERVAL": "60",
	}))
	binary.Await(t, injected, 30*time.Second, "the inject UpdateService")
	stopped := e.stopEngine(t)
	code := p.Wait(t)
	if code != 0 {
		t.Errorf("exit code %d, want 0: under a ChaosEngine the Stopped verdict is in the ChaosResult", code)
	}
	// The hold is 60 s: ending well before it means the stop, not the schedule, ended the run.
	// The watch delivers the stop at once; re-reading the engine, the fallback, takes up to 5 s.
	if took := e.restoreStartedAt(t).Sub(stopped); took > 2*time.Second {
		t.Errorf("the restore started %s after engineState: stop, want it within 2 s", took.Round(time.Millisecond))
	} else {
		t.Logf("the restore started %s after engineState: stop", took.Round(time.Millisecond))
	}
	r := e.mustResult(t, engineResultName)
	assertError(t, r, "Stopped/Stopped", "", "engineState")
	if r.Status.History.StoppedRuns != 1 {
		t.Errorf("stoppedRuns %d, want 1", r.Status.History.StoppedRuns)
	}
	assertTarget(t, r, "reverted")
	e.assertRestored(t)
	logOnFailure(t, p)
}

// restoreStartedAt is when the simulator answered the second successful UpdateService, the restore of a one-cycle
// run.
func (e *env) restoreStartedAt(t *testing.T) time.Time {
	t.Helper()
	updates := 0
	for _, r := range e.sim.Requests() {
		if r.Operation == "UpdateService" && r.Mutating && r.ErrorCode == "" {
			if updates++; updates == 2 {
				return r.WallTime
			}
		}
	}
	t.Fatalf("no restore UpdateService in the simulator's log")
	return time.Time{}
}

// stopEngine sets the engine's spec.engineState to stop, as `kubectl patch` would, and returns when it did.
func (e *env) stopEngine(t *testing.T) time.Time {
	t.Helper()
	patch := []byte(`{"spec":{"engineState":"stop"}}`)
	if _, err := e.admin.Resource(chaosEnginesGVR).Namespace(e.namespace).Patch(binary.Deadline(t, 10*time.Second), engineName,
		types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("set engineState stop: %v", err)
	}
	return time.Now()
}

func assertEventReasons(t *testing.T, events []kubeEvent, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, ev := range events {
		got[ev.Reason] = true
	}
	for _, reason := range want {
		if !got[reason] {
			t.Errorf("no %s event; events: %v", reason, reasons(events))
		}
	}
}

func maxCount(events []kubeEvent, reason string) int32 {
	var n int32
	for _, ev := range events {
		if ev.Reason == reason {
			n = max(n, ev.Count)
		}
	}
	return n
}

// assertOwnedByEngine checks the result is tied to the engine it read: owner reference and Litmus's chaosUID
// label carry the engine's UID.
func assertOwnedByEngine(t *testing.T, r chaosResult, uid string) {
	t.Helper()
	owned := false
	for _, ref := range r.Metadata.OwnerReferences {
		owned = owned || (ref.Kind == "ChaosEngine" && ref.Name == engineName && ref.UID == uid)
	}
	if !owned || r.Metadata.Labels["chaosUID"] != uid {
		t.Errorf("ChaosResult owners %+v, chaosUID label %q; want the engine %s (UID %s)", r.Metadata.OwnerReferences, r.Metadata.Labels["chaosUID"], engineName, uid)
	}
}

// TestMissingChaosEngineIsRecordedAsError: CHAOSENGINE names an engine that does not exist (deleted before the
// pod started, or a typo in a Job). Nothing may change in ECS, and since the ChaosResult can be written, the
// failure must be visible there as Error with a reason, like every other run that changes nothing (exit 0 under
// an engine once that is recorded).
func TestMissingChaosEngineIsRecordedAsError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, code := run(t, e.childEnv(t, e.kubeconfig(t, ""), map[string]string{"CHAOSENGINE": engineName}))
	if code != 0 {
		t.Errorf("exit code %d, want 0 (Error recorded under a ChaosEngine)", code)
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d ECS calls without an engine, want none", n)
	}
	r, found, err := e.getResult(binary.Deadline(t, 10*time.Second), engineResultName)
	if err != nil || !found {
		t.Fatalf("no ChaosResult %s (found %v, %v): the failed run is invisible in Kubernetes; log:\n%s", engineResultName, found, err, p.Stderr.String())
	}
	assertError(t, r, "Error/Error", "", engineName)
}

// TestBadChaosEngineChangesNothing: a ChaosEngine whose contents the fault cannot use ends the run before any ECS
// call, with an Error ChaosResult that says why (and exit 0, the verdict being recorded under an engine).
func TestBadChaosEngineChangesNothing(t *testing.T) {
	httpProbe := func(inputs map[string]any) map[string]any {
		return map[string]any{"name": "app", "type": "httpProbe", "mode": "Continuous", "httpProbe/inputs": inputs,
			"runProperties": map[string]any{"probeTimeout": "2s", "interval": "1s"}}
	}
	cases := []struct {
		name   string
		state  string
		probes []any
		want   string
	}{
		{"engine already stopped", "stop", nil, "set to stop"},
		{"cmd probe comparing an int with a word", "active", []any{map[string]any{"name": "cli", "type": "cmdProbe", "mode": "EOT",
			"cmdProbe/inputs": map[string]any{"command": "echo 1", "comparator": map[string]any{"type": "int", "criteria": "==", "value": "one"}},
			"runProperties":   map[string]any{"probeTimeout": "2s", "interval": "1s"}}}, "one"},
		{"http probe with an unknown criterion", "active", []any{httpProbe(map[string]any{"url": "http://127.0.0.1:1/", "method": map[string]any{"get": map[string]any{"criteria": "~=", "responseCode": "200"}}})}, "criteria"},
		{"prom probe with a string criterion on a number", "active", []any{map[string]any{"name": "metric", "type": "promProbe", "mode": "SOT",
			"promProbe/inputs": map[string]any{"endpoint": "http://127.0.0.1:1", "query": "up", "comparator": map[string]any{"criteria": "contains", "value": "1"}},
			"runProperties":    map[string]any{"probeTimeout": "2s", "interval": "1s"}}}, "criteria"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			spec := map[string]any{"components": map[string]any{}}
			if tc.probes != nil {
				spec["probe"] = tc.probes
			}
			obj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "litmuschaos.io/v1alpha1", "kind": "ChaosEngine",
				"metadata": map[string]any{"name": engineName, "namespace": e.namespace},
				"spec": map[string]any{"engineState": tc.state, "chaosServiceAccount": "ecs-invalid-container-image-sa",
					"experiments": []any{map[string]any{"name": experimentName, "spec": spec}}},
			}}
			if _, err := e.admin.Resource(chaosEnginesGVR).Namespace(e.namespace).Create(binary.Deadline(t, 10*time.Second), obj, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create ChaosEngine: %v", err)
			}
			p, code := run(t, e.childEnv(t, e.kubeconfig(t, ""), map[string]string{"CHAOSENGINE": engineName}))
			if code != 0 {
				t.Errorf("exit code %d, want 0 (Error recorded under a ChaosEngine)\n%s", code, p.Stderr.String())
			}
			if n := len(e.sim.Requests()); n != 0 {
				t.Errorf("%d ECS calls, want none", n)
			}
			if !strings.Contains(p.Stderr.String(), tc.want) {
				t.Errorf("the log does not say %q:\n%s", tc.want, p.Stderr.String())
			}
			r, found, err := e.getResult(binary.Deadline(t, 10*time.Second), engineResultName)
			if err != nil || !found {
				t.Fatalf("no ChaosResult (found %v, %v)", found, err)
			}
			assertError(t, r, "Error/Error", "", "")
		})
	}
}
