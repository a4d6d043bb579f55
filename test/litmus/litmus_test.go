//go:build litmus

package litmus

import (
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ktypes "k8s.io/apimachinery/pkg/types"

	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// sampleProbes are the probes of manifests/fault/engine.yaml.
var sampleProbes = []string{"deployment-settled", "pending-tasks-built-up", "service-stays-available"}

// TestPassUnderLitmus: one run of the sample engine with every probe passing.
//   - Env precedence: chaos-runner sets CHAOSENGINE, CHAOS_UID, EXPERIMENT_NAME and
//     TERMINATION_GRACE_PERIOD_SECONDS (chaos-runner pkg/utils/environment.go, SetENV), then copies the
//     ChaosExperiment's env over them (pkg/utils/experimentHelper.go, SetDefaultEnvFromChaosExperiment), then
//     the engine's (pkg/utils/engineHelper.go, SetOverrideEnvFromChaosEngine); it appends POD_NAME itself
//     (pkg/utils/builders.go, getEnvFromMap).
//   - The verdict: chaos-runner reads the ChaosResult <engine>-<experiment> (pkg/utils/watchJob.go,
//     GetResultName / UpdateEngineWithResult) into status.experiments[] once the pod Succeeded
//     (pkg/utils/common.go, GetChaosContainerStatus).
//   - chaos-exporter exports results whose spec.engine names an existing engine (controller/collect-data.go,
//     GetExperimentMetricsFromResult), with the metrics of controller/types.go.
func TestPassUnderLitmus(t *testing.T) {
	w := newWorld(t, "web")
	const name = "pass"
	uid := w.createEngine(t, engineOptions{name: name, service: "web", hold: 6})
	st := w.waitVerdict(t, name)
	if st.Verdict != "Pass" || st.Status != "Completed" {
		t.Errorf("engine status.experiments: %+v, want Completed/Pass", st)
	}
	pods := w.faultPods(t, uid)
	if len(pods) != 1 {
		t.Fatalf("%d experiment pods, want 1", len(pods))
	}
	pod := pods[0]
	if st.ExperimentPod != pod.Name {
		t.Errorf("engine names experimentPod %q, want %s", st.ExperimentPod, pod.Name)
	}
	if pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("experiment pod %s is %s, want Succeeded", pod.Name, pod.Status.Phase)
	}
	// The Job chaos-runner built: POD_NAME once.
	job := w.job(t, pod)
	count := 0
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "POD_NAME" {
			count++
		}
	}
	if count != 1 {
		t.Errorf("the experiment Job lists POD_NAME %d times, want once", count)
	}
	env := w.node.Env(w.ns, pod.Name)
	for k, want := range map[string]string{"CHAOSENGINE": name, "CHAOS_UID": uid, "EXPERIMENT_NAME": experimentName,
		"TERMINATION_GRACE_PERIOD_SECONDS": "30", "CHAOS_NAMESPACE": w.ns, "POD_NAME": pod.Name,
		"JOB_UID": string(job.UID)} {
		if env[k] != want {
			t.Errorf("the fault saw %s=%q, want %q", k, env[k], want)
		}
	}
	w.assertResult(t, name, uid, "Pass", "passedRuns")
	w.assertSourceProbeAccount(t)
	if n := simenv.Succeeded(w.sim, "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d chaos revisions registered, want 1", n)
	}
	w.assertRestored(t, "web")
	w.assertEngineEvents(t, name)
	w.assertMetrics(t, name, "Pass", "litmuschaos_passed_experiments")
}

// TestFailUnderLitmus: the availability probe fails (its URL answers 500). The fault records Fail with the
// probe's status and exits 0, so chaos-runner reads the verdict: a Failed pod would be a watch error to it
// (pkg/utils/common.go, GetChaosContainerStatus), leaving the engine Skipped with experimentPod N/A.
func TestFailUnderLitmus(t *testing.T) {
	w := newWorld(t, "web")
	w.httpStatus.Store(500)
	const name = "fail"
	uid := w.createEngine(t, engineOptions{name: name, service: "web", hold: 6})
	st := w.waitVerdict(t, name)
	if st.Verdict != "Fail" || st.Status != "Completed" {
		t.Errorf("engine status.experiments: %+v, want Completed/Fail", st)
	}
	pods := w.faultPods(t, uid)
	if len(pods) != 1 || pods[0].Status.Phase != corev1.PodSucceeded {
		t.Errorf("experiment pods %v, want one Succeeded (exit 0 under a ChaosEngine)", podPhases(pods))
	}
	r := w.assertResult(t, name, uid, "Fail", "failedRuns")
	if probe := probeStatus(r, "service-stays-available"); !strings.Contains(strings.ToLower(probe), "fail") {
		t.Errorf("probe service-stays-available status %q, want a failure", probe)
	}
	w.assertRestored(t, "web")
	w.assertEngineEvents(t, name)
	w.assertMetrics(t, name, "Fail", "litmuschaos_failed_experiments")
}

// TestStoppedUnderLitmus: engineState: stop mid-hold. chaos-operator deletes the runner and experiment pods
// with the engine's terminationGracePeriodSeconds (controllers/chaosengine_controller.go,
// forceRemoveChaosResources) and marks the experiment Aborted/Stopped in the engine's status
// (updateExperimentStatusesForStop); the fault, on SIGTERM, restores within its grace and records Stopped.
func TestStoppedUnderLitmus(t *testing.T) {
	w := newWorld(t, "web")
	const name = "stop"
	injected := simenv.OnInject(w.sim)
	uid := w.createEngine(t, engineOptions{name: name, service: "web", hold: 60})
	binary.Await(t, injected, runTimeout, "the inject")
	w.stopEngine(t, name)
	waitFor(t, 60*time.Second, "the engine to stop", func() bool {
		_, es := w.engineExperiment(t, name)
		return es == "stopped"
	})
	st, _ := w.engineExperiment(t, name)
	if st.Verdict != "Stopped" {
		t.Errorf("engine status.experiments: %+v, want verdict Stopped", st)
	}
	waitFor(t, 60*time.Second, "the fault's pod to be gone", func() bool { return len(w.faultPods(t, uid)) == 0 })
	r := w.result(t, name+"-"+experimentName)
	if v := str(r, "status", "experimentStatus", "verdict"); v != "Stopped" {
		t.Errorf("ChaosResult verdict %q, want Stopped", v)
	}
	if n := num(r, "status", "history", "stoppedRuns"); n != 1 {
		t.Errorf("stoppedRuns %d, want 1", n)
	}
	w.assertRestored(t, "web")
	w.assertMetrics(t, name, "Stopped", "")
}

// TestRetryAfterFailDoesNotInjectAgain: the first pod records Fail and is then reported failed (as when it
// is killed on its way out); the Job, which chaos-runner builds without backoffLimit (pkg/utils/builders.go,
// buildJobSpec: Kubernetes' default of 6 applies), starts a second pod. That pod must not inject again nor
// touch the first run's verdict.
func TestRetryAfterFailDoesNotInjectAgain(t *testing.T) {
	w := newWorld(t, "web")
	w.httpStatus.Store(500)
	const name = "retry-fail"
	uid := w.createEngine(t, engineOptions{name: name, service: "web", hold: 6})
	var once sync.Once
	w.node.OnExit(func(p *corev1.Pod, code int) int {
		reported := code
		if p.Labels["chaosUID"] == uid && p.Labels["app.kubernetes.io/component"] == "experiment-job" {
			once.Do(func() { reported = 137 })
		}
		return reported
	})
	t.Cleanup(func() { w.node.OnExit(nil) })
	waitFor(t, runTimeout, "a second experiment pod to end", func() bool {
		pods := w.faultPods(t, uid)
		return len(pods) >= 2 && terminal(pods[1])
	})
	pods := w.faultPods(t, uid)
	if pods[1].Status.Phase != corev1.PodSucceeded {
		t.Errorf("the retried pod is %s, want Succeeded (nothing to do, exit 0)", pods[1].Status.Phase)
	}
	if n := simenv.Succeeded(w.sim, "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d chaos revisions registered over two pods, want 1 (the retry must not inject)", n)
	}
	r := w.result(t, name+"-"+experimentName)
	if v := str(r, "status", "experimentStatus", "verdict"); v != "Fail" {
		t.Errorf("ChaosResult verdict %q after the retry, want the first run's Fail", v)
	}
	if n := num(r, "status", "history", "failedRuns"); n != 1 {
		t.Errorf("failedRuns %d after the retry, want 1", n)
	}
	w.assertRestored(t, "web")
	t.Logf("pods: %v", podPhases(pods))
}

// TestRetryAfterKillMidHold: the fault's process is SIGKILLed mid-hold (OOM, node loss): no restore ran. The
// Job's replacement pod finds its predecessor's chaos revision (the marker names the Job), restores the
// service and ends with an Error verdict; only one chaos revision was ever registered.
func TestRetryAfterKillMidHold(t *testing.T) {
	w := newWorld(t, "web")
	const name = "retry-kill"
	inHold := simenv.OnHold(w.sim, 2)
	uid := w.createEngine(t, engineOptions{name: name, service: "web", hold: 60})
	binary.Await(t, inHold, runTimeout, "the hold")
	first := w.faultPods(t, uid)
	if len(first) != 1 {
		t.Fatalf("%d experiment pods in the hold, want 1", len(first))
	}
	if !w.node.Signal(w.ns, first[0].Name, syscall.SIGKILL) {
		t.Fatalf("no running container for %s", first[0].Name)
	}
	waitFor(t, runTimeout, "a second experiment pod to end", func() bool {
		pods := w.faultPods(t, uid)
		return len(pods) >= 2 && terminal(pods[1])
	})
	pods := w.faultPods(t, uid)
	w.assertRestored(t, "web")
	if n := simenv.Succeeded(w.sim, "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d chaos revisions registered, want 1 (the retry restores, never injects)", n)
	}
	r := w.result(t, name+"-"+experimentName)
	if v := str(r, "status", "experimentStatus", "verdict"); v != "Error" {
		t.Errorf("ChaosResult verdict %q, want Error (restored after the predecessor was killed)", v)
	}
	if pods[1].Status.Phase != corev1.PodSucceeded {
		t.Errorf("the retried pod is %s, want Succeeded", pods[1].Status.Phase)
	}
	t.Logf("pods: %v; result %s", podPhases(pods), str(r, "status", "experimentStatus"))
}

// TestEngineWithoutGracePeriod: with terminationGracePeriodSeconds unset, chaos-runner passes "0"
// (pkg/utils/environment.go: strconv.Itoa of the unset field) and builds the pod without the field
// (pkg/utils/builders.go, buildPodTemplateSpec), so the pod has Kubernetes' default of 30 s, which the
// operator's delete uses too (forceRemoveChaosResources sets no grace when the engine has none). The fault's
// abort deadline must stay below those 30 s, and a stop must end in a restore before the SIGKILL.
func TestEngineWithoutGracePeriod(t *testing.T) {
	w := newWorld(t, "web")
	const name = "nograce"
	injected := simenv.OnInject(w.sim)
	uid := w.createEngine(t, engineOptions{name: name, service: "web", hold: 60, noGrace: true})
	binary.Await(t, injected, runTimeout, "the inject")
	pods := w.faultPods(t, uid)
	if len(pods) != 1 {
		t.Fatalf("%d experiment pods, want 1", len(pods))
	}
	pod := pods[0]
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g != 30 {
		t.Errorf("the pod's terminationGracePeriodSeconds is %v, want the default 30", g)
	}
	if v := w.node.Env(w.ns, pod.Name)["TERMINATION_GRACE_PERIOD_SECONDS"]; v != "0" {
		t.Errorf("the fault got TERMINATION_GRACE_PERIOD_SECONDS=%q, want the runner's \"0\"", v)
	}
	w.stopEngine(t, name)
	stopped := time.Now()
	waitFor(t, 60*time.Second, "the fault's pod to be gone", func() bool { return len(w.faultPods(t, uid)) == 0 })
	log := w.node.Log(w.ns, pod.Name)
	if d, ok := AbortDeadline(log); !ok {
		t.Errorf("the fault did not log its abort deadline")
	} else if d <= 0 || d >= 30*time.Second {
		t.Errorf("abort deadline %s, want below the pod's 30 s grace period", d)
	} else {
		t.Logf("abort deadline %s", d)
	}
	if code, ok := w.node.ExitCode(w.ns, pod.Name); !ok || code == 137 {
		t.Errorf("the fault's exit code %d (ended: %v): it did not end within its grace period", code, ok)
	}
	t.Logf("the pod was gone %s after the stop", time.Since(stopped).Round(time.Millisecond))
	w.assertRestored(t, "web")
	r := w.result(t, name+"-"+experimentName)
	if v := str(r, "status", "experimentStatus", "verdict"); v != "Stopped" {
		t.Errorf("ChaosResult verdict %q, want Stopped", v)
	}
}

// TestTwoEnginesAtOnce: two engines on two services in one namespace run together: each has its own
// ChaosResult <engine>-<experiment> with its own chaosUID and history.
func TestTwoEnginesAtOnce(t *testing.T) {
	w := newWorld(t, "web", "api")
	uids := map[string]string{}
	for name, svc := range map[string]string{"first": "web", "second": "api"} {
		uids[name] = w.createEngine(t, engineOptions{name: name, service: svc, hold: 6})
	}
	var wg sync.WaitGroup
	verdicts := map[string]expStatus{}
	var mu sync.Mutex
	for name := range uids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := w.waitVerdictNoFatal(t, name)
			mu.Lock()
			verdicts[name] = st
			mu.Unlock()
		}()
	}
	wg.Wait()
	for name, uid := range uids {
		if verdicts[name].Verdict != "Pass" {
			t.Errorf("engine %s: %+v, want Pass", name, verdicts[name])
		}
		w.assertResult(t, name, uid, "Pass", "passedRuns")
	}
	var names []string
	for _, r := range w.results(t) {
		names = append(names, r.GetName())
	}
	sort.Strings(names)
	if want := []string{"first-" + experimentName, "second-" + experimentName}; strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("ChaosResults %v, want %v", names, want)
	}
	if n := simenv.Succeeded(w.sim, "RegisterTaskDefinition"); n != 2 {
		t.Errorf("%d chaos revisions registered, want 2 (one per engine)", n)
	}
	w.assertRestored(t, "web")
	w.assertRestored(t, "api")
}

// ---- helpers for these tests ----

// assertSourceProbeAccount: Litmus runs a source-mode cmdProbe's pod under the experiment pod's own
// ServiceAccount (litmus-go pkg/probe/cmdprobe.go, createProbePod / getServiceAccount), which is what gives it
// the chaos identity (IRSA) the sample engine relies on.
func (w *world) assertSourceProbeAccount(t *testing.T) {
	t.Helper()
	ran := false
	for _, p := range w.node.Started() {
		if p.Namespace != w.ns || imageName(p.Image) != awsCLIImage {
			continue
		}
		ran = true
		if p.ServiceAccount != "ecs-invalid-container-image-sa" {
			t.Errorf("the cmdProbe's source pod %s ran under ServiceAccount %q, want the experiment pod's ecs-invalid-container-image-sa", p.Name, p.ServiceAccount)
		}
	}
	if !ran {
		t.Errorf("no source pod of the cmdProbe ran")
	}
}

func (w *world) job(t *testing.T, pod corev1.Pod) *batchJob {
	t.Helper()
	ref := metav1.GetControllerOf(&pod)
	if ref == nil || ref.Kind != "Job" {
		t.Fatalf("pod %s has no Job controller", pod.Name)
	}
	j, err := w.cs.BatchV1().Jobs(w.ns).Get(t.Context(), ref.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get job %s: %v", ref.Name, err)
	}
	return j
}

func (w *world) assertResult(t *testing.T, engine, uid, verdict, counter string) *unstructuredObj {
	t.Helper()
	r := w.result(t, engine+"-"+experimentName)
	if got := r.GetLabels()["chaosUID"]; got != uid {
		t.Errorf("ChaosResult label chaosUID %q, want the engine's %s", got, uid)
	}
	if got := str(r, "spec", "engine"); got != engine {
		t.Errorf("ChaosResult spec.engine %q, want %s", got, engine)
	}
	if got := str(r, "status", "experimentStatus", "verdict"); got != verdict {
		t.Errorf("ChaosResult verdict %q, want %s", got, verdict)
	}
	if n := num(r, "status", "history", counter); n != 1 {
		t.Errorf("ChaosResult history.%s %d, want 1 (no shared history)", counter, n)
	}
	var got []string
	probes, _, _ := unstructuredSlice(r, "status", "probeStatuses")
	for _, p := range probes {
		got = append(got, p["name"].(string))
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(sampleProbes, ",") {
		t.Errorf("ChaosResult probeStatuses %v, want the engine's probes %v", got, sampleProbes)
	}
	return r
}

func (w *world) assertEngineEvents(t *testing.T, engine string) {
	t.Helper()
	ev := w.events(t, "ChaosEngine", engine)
	for _, reason := range []string{"PreChaosCheck", "ChaosInject", "PostChaosCheck", "Summary"} {
		if ev[reason] == 0 {
			t.Errorf("no %s event on ChaosEngine %s; its events: %v", reason, engine, ev)
		}
	}
}

// assertMetrics checks chaos-exporter's metrics for the engine's result (controller/types.go names them).
func (w *world) assertMetrics(t *testing.T, engine, verdict, counter string) {
	t.Helper()
	labels := map[string]string{"chaosresult_namespace": w.ns, "chaosresult_name": engine + "-" + experimentName, "chaosengine_name": engine}
	if counter != "" {
		waitMetric(t, counter, labels, func(v float64) bool { return v == 1 })
	}
	verdictLabels := map[string]string{"chaosresult_verdict": verdict}
	for k, v := range labels {
		verdictLabels[k] = v
	}
	waitMetric(t, "litmuschaos_experiment_verdict", verdictLabels, func(float64) bool { return true })
	want := 100.0
	if verdict == "Fail" {
		want = 200.0 / 3
	}
	if verdict == "Pass" || verdict == "Fail" {
		waitMetric(t, "litmuschaos_probe_success_percentage", labels, func(v float64) bool { return v > want-1 && v < want+1 })
	}
}

func (w *world) stopEngine(t *testing.T, name string) {
	t.Helper()
	_, err := w.dyn.Resource(enginesGVR).Namespace(w.ns).Patch(t.Context(), name, ktypes.MergePatchType, []byte(`{"spec":{"engineState":"stop"}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("stop engine %s: %v", name, err)
	}
}

func (w *world) waitVerdictNoFatal(t *testing.T, name string) expStatus {
	deadline := time.Now().Add(runTimeout)
	var last expStatus
	for time.Now().Before(deadline) && t.Context().Err() == nil {
		st, es := w.engineExperiment(t, name)
		last = st
		if st.Verdict != "" && st.Verdict != "Awaited" && st.Verdict != "<nil>" && es == "completed" {
			return st
		}
		time.Sleep(300 * time.Millisecond)
	}
	return last
}

func terminal(p corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func podPhases(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name+"="+string(p.Status.Phase))
	}
	return out
}

func probeStatus(r *unstructuredObj, name string) string {
	probes, _, _ := unstructuredSlice(r, "status", "probeStatuses")
	for _, p := range probes {
		if p["name"] == name {
			if st, ok := p["status"].(map[string]any); ok {
				return strings.TrimSpace(toString(st["verdict"]) + " " + toString(st["description"]))
			}
		}
	}
	return ""
}
