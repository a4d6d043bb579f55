//go:build integration

package result_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/timeline"
	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
)

// One apiserver per CRD variant serves every test of the package, started
// by the first test that needs it; tests isolate themselves by namespace.
// The variants are the ChaosResult CRDs the writer must work on: Litmus's as
// published (status written with the object) and one with a status
// subresource (status dropped on Update, written with UpdateStatus).
var clusters = map[string]*kube.Shared{
	"litmus": {Setup: func(t testing.TB, c *kube.Cluster) { c.InstallLitmusCRDs(t) }},
	"status-subresource": {Setup: func(t testing.TB, c *kube.Cluster) {
		c.InstallLitmusCRDs(t)
		c.ApplyFile(t, withStatusSubresource(t))
	}},
}

var variants = []string{"litmus", "status-subresource"}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range clusters {
		c.Stop()
	}
	os.Exit(code)
}

// withStatusSubresource writes Litmus's ChaosResult CRD with a status
// subresource added, the one change a future Litmus (or a fork) could make.
func withStatusSubresource(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(kube.LitmusCRDsPath(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var crd map[string]any
		if err := yaml.Unmarshal([]byte(doc), &crd); err != nil || crd == nil {
			continue
		}
		if name, _, _ := unstructured.NestedString(crd, "metadata", "name"); name != "chaosresults.litmuschaos.io" {
			continue
		}
		versions, _, _ := unstructured.NestedSlice(crd, "spec", "versions")
		for _, v := range versions {
			v.(map[string]any)["subresources"] = map[string]any{"status": map[string]any{}}
		}
		if err := unstructured.SetNestedSlice(crd, versions, "spec", "versions"); err != nil {
			t.Fatal(err)
		}
		out, err := yaml.Marshal(crd)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "chaosresults-status-subresource.yaml")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Fatal("no chaosresults CRD in Litmus's bundle")
	return ""
}

// env is one test's namespace on one variant, with the clients a chaos pod
// would have.
type env struct {
	cluster   *kube.Cluster
	namespace string
	// runner is the dynamic client of a ServiceAccount holding only the
	// permissions the writer needs (see runnerRules).
	runner dynamic.Interface
	admin  dynamic.Interface
}

// runnerRules are the least permissions the writer needs; the manifests'
// Role must grant at least these.
var runnerRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"litmuschaos.io"}, Resources: []string{"chaosresults"}, Verbs: []string{"get", "create", "update"}},
	{APIGroups: []string{"litmuschaos.io"}, Resources: []string{"chaosresults/status"}, Verbs: []string{"update"}},
	{APIGroups: []string{"litmuschaos.io"}, Resources: []string{"chaosengines"}, Verbs: []string{"get", "list", "watch"}},
}

func newEnv(t *testing.T, variant string) env {
	t.Helper()
	c := clusters[variant].Get(t)
	ns := c.Namespace(t)

	ctx := t.Context()
	cs := c.Clientset(t)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "chaos-runner", Namespace: ns}, Rules: runnerRules}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "chaos-runner", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "chaos-runner"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "chaos-runner", Namespace: ns}},
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runner, err := dynamic.NewForConfig(c.ConfigFor(c.TokenFor(t, ns, "chaos-runner")))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	return env{cluster: c, namespace: ns, runner: runner, admin: admin}
}

func (e env) get(t *testing.T, name string) (result.Stored, *unstructured.Unstructured) {
	t.Helper()
	obj, err := e.admin.Resource(result.GVR).Namespace(e.namespace).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := result.FromUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return stored, obj
}

// createEngine creates a ChaosEngine like Litmus's samples and returns its UID.
func (e env) createEngine(t *testing.T, name string) string {
	t.Helper()
	return kube.CreateEngine(t, e.admin, e.namespace, name, "chaos-runner", map[string]any{"name": "ecs-invalid-container-image"})
}

func forEachVariant(t *testing.T, test func(t *testing.T, e env)) {
	for _, v := range variants {
		t.Run(v, func(t *testing.T) { test(t, newEnv(t, v)) })
	}
}

func services(status result.ChaosStatus, names ...string) []result.Target {
	var targets []result.Target
	for _, n := range names {
		targets = append(targets, result.Target{Name: n, Kind: "ECSService", ChaosStatus: status})
	}
	return targets
}

func TestKubeWriterPassingRun(t *testing.T) {
	forEachVariant(t, func(t *testing.T, e env) {
		ctx := t.Context()
		uid := e.createEngine(t, "nginx-chaos")
		w := result.NewKubeWriter(e.runner, e.namespace)
		r := result.ChaosResult{Engine: "nginx-chaos", EngineUID: uid, Experiment: "ecs-invalid-container-image",
			Targets: services(result.ChaosTargeted, "svc-a")}
		name := result.Name(r.Engine, r.Experiment, r.Instance)

		if err := w.Start(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, obj := e.get(t, name)
		if got.Result.Phase != result.PhaseRunning || got.Result.Verdict != result.VerdictAwaited {
			t.Fatalf("after Start: %s/%s, want Running/Awaited", got.Result.Phase, got.Result.Verdict)
		}
		if l := obj.GetLabels(); l[result.LabelChaosUID] != uid || l[result.LabelName] != name {
			t.Errorf("labels = %v", l)
		}
		if refs := obj.GetOwnerReferences(); len(refs) != 1 || string(refs[0].UID) != uid || refs[0].Kind != "ChaosEngine" {
			t.Errorf("ownerReferences = %+v, want the ChaosEngine %s", refs, uid)
		}

		r.Targets = services(result.ChaosInjected, "svc-a")
		r.FaultStatus = map[string]any{"services": []any{map[string]any{"name": "svc-a", "failedTasks": 2}}}
		if err := w.Update(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.get(t, name); got.Result.Verdict != result.VerdictAwaited || !reflect.DeepEqual(got.History.Targets, r.Targets) {
			t.Fatalf("after Update: %+v", got)
		}

		r.Phase, r.Verdict = result.PhaseCompleted, result.VerdictPass
		r.Targets = services(result.ChaosReverted, "svc-a")
		r.ProbeStatuses = []result.ProbeStatus{{Name: "http", Type: "httpProbe", Mode: "Continuous",
			Status: result.ProbeStatusBody{Verdict: result.ProbePassed, Description: "200 OK"}}}
		r.FaultStatus = map[string]any{
			"services": []any{map[string]any{"name": "svc-a", "failedTasks": 3, "firstFailure": "CannotPullContainerError: not found"}},
			"ratio":    0.25,
		}
		if err := w.Finish(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, _ = e.get(t, name)
		want := result.Stored{
			Result: result.ChaosResult{
				Name: name, Namespace: e.namespace, Engine: "nginx-chaos", EngineUID: uid, Experiment: "ecs-invalid-container-image",
				Phase: result.PhaseCompleted, Verdict: result.VerdictPass, ProbeSuccessPercentage: "100",
				ProbeStatuses: r.ProbeStatuses, Targets: r.Targets,
				FaultStatus: map[string]any{
					"services": []any{map[string]any{"name": "svc-a", "failedTasks": float64(3), "firstFailure": "CannotPullContainerError: not found"}},
					"ratio":    0.25,
				},
			},
			History: result.History{PassedRuns: 1, Targets: r.Targets},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stored =\n%+v\nwant\n%+v", got, want)
		}
	})
}

func TestKubeWriterFailingRunEndsInError(t *testing.T) {
	forEachVariant(t, func(t *testing.T, e env) {
		ctx := t.Context()
		w := result.NewKubeWriter(e.runner, e.namespace)
		r := result.ChaosResult{Experiment: "ecs-invalid-container-image"}
		if err := w.Start(ctx, &r); err != nil {
			t.Fatal(err)
		}
		r.Phase, r.Verdict = result.PhaseError, result.VerdictError
		r.ErrorOutput = &result.ErrorOutput{ErrorCode: "RESTORE_FAILED", Reason: "svc-a: roll back to app:7"}
		if err := w.Finish(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, _ := e.get(t, r.Experiment)
		if got.Result.Phase != result.PhaseError || got.Result.Verdict != result.VerdictError ||
			!reflect.DeepEqual(got.Result.ErrorOutput, r.ErrorOutput) || got.History.FailedRuns != 1 {
			t.Errorf("stored = %+v", got)
		}

		// A run whose caller forgot the outcome still ends, never Awaited.
		w = result.NewKubeWriter(e.runner, e.namespace)
		r = result.ChaosResult{Experiment: "ecs-invalid-container-image"}
		if err := w.Start(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, _ = e.get(t, r.Experiment)
		if got.Result.Verdict == result.VerdictAwaited || got.Result.Verdict != result.VerdictError ||
			got.Result.ErrorOutput == nil || got.History.FailedRuns != 2 {
			t.Errorf("stored = %+v, want Error with an errorOutput and 2 failed runs", got)
		}
	})
}

func TestKubeWriterStoppedRun(t *testing.T) {
	forEachVariant(t, func(t *testing.T, e env) {
		ctx := t.Context()
		w := result.NewKubeWriter(e.runner, e.namespace)
		r := result.ChaosResult{Engine: "e", Experiment: "ecs-invalid-container-image", Instance: "i1", Targets: services(result.ChaosInjected, "svc-a")}
		if err := w.Start(ctx, &r); err != nil {
			t.Fatal(err)
		}
		r.Phase, r.Verdict, r.Targets = result.PhaseStopped, result.VerdictStopped, services(result.ChaosReverted, "svc-a")
		if err := w.Finish(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, _ := e.get(t, "e-ecs-invalid-container-image-i1")
		if got.Result.Phase != result.PhaseStopped || got.Result.Verdict != result.VerdictStopped ||
			got.History.StoppedRuns != 1 || got.History.PassedRuns+got.History.FailedRuns != 0 {
			t.Errorf("stored = %+v", got)
		}
	})
}

func TestKubeWriterRerunsKeepHistory(t *testing.T) {
	forEachVariant(t, func(t *testing.T, e env) {
		ctx := t.Context()
		for run := 1; run <= 3; run++ {
			w := result.NewKubeWriter(e.runner, e.namespace)
			r := result.ChaosResult{Experiment: "ecs-invalid-container-image", Targets: services(result.ChaosTargeted, fmt.Sprintf("svc-%d", run))}
			if err := w.Start(ctx, &r); err != nil {
				t.Fatal(err)
			}
			got, _ := e.get(t, r.Experiment)
			if got.Result.Verdict != result.VerdictAwaited || got.Result.ErrorOutput != nil || got.History.PassedRuns != int64(run-1) {
				t.Fatalf("run %d after Start: %+v", run, got)
			}
			r.Phase, r.Verdict = result.PhaseCompleted, result.VerdictPass
			r.Targets = services(result.ChaosReverted, fmt.Sprintf("svc-%d", run))
			for range 2 { // the second Finish of a run must not count it again
				if err := w.Finish(ctx, &r); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, _ := e.get(t, "ecs-invalid-container-image")
		want := result.History{PassedRuns: 3, Targets: services(result.ChaosReverted, "svc-1", "svc-2", "svc-3")}
		if !reflect.DeepEqual(got.History, want) {
			t.Errorf("history = %+v, want %+v", got.History, want)
		}
	})
}

func TestKubeWritersRacingLoseNoUpdate(t *testing.T) {
	forEachVariant(t, func(t *testing.T, e env) {
		ctx := t.Context()
		const writers, runs = 2, 8
		var wg sync.WaitGroup
		errs := make(chan error, writers*runs*3)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := result.NewKubeWriter(e.runner, e.namespace,
					result.WithConflictBackoff(wait.Backoff{Steps: 200, Duration: time.Millisecond, Factor: 1.2, Jitter: 1, Cap: 50 * time.Millisecond}))
				for run := range runs {
					r := result.ChaosResult{Experiment: "shared", Targets: services(result.ChaosInjected, fmt.Sprintf("w%d-r%d", i, run))}
					errs <- w.Start(ctx, &r)
					errs <- w.Update(ctx, &r)
					r.Phase, r.Verdict = result.PhaseCompleted, result.VerdictPass
					r.Targets = services(result.ChaosReverted, fmt.Sprintf("w%d-r%d", i, run))
					errs <- w.Finish(ctx, &r)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, _ := e.get(t, "shared")
		if got.History.PassedRuns != writers*runs {
			t.Errorf("passedRuns = %d, want %d", got.History.PassedRuns, writers*runs)
		}
		if len(got.History.Targets) != writers*runs {
			t.Errorf("%d targets, want %d: %+v", len(got.History.Targets), writers*runs, got.History.Targets)
		}
		for _, target := range got.History.Targets {
			if target.ChaosStatus != result.ChaosReverted {
				t.Errorf("target %s is %s, want reverted", target.Name, target.ChaosStatus)
			}
		}
	})
}

func TestKubeWriterKeepsFieldsItDoesNotOwn(t *testing.T) {
	forEachVariant(t, func(t *testing.T, e env) {
		ctx := t.Context()
		w := result.NewKubeWriter(e.runner, e.namespace)
		r := result.ChaosResult{Experiment: "ecs-invalid-container-image"}
		if err := w.Start(ctx, &r); err != nil {
			t.Fatal(err)
		}
		// Another tool labels the result meanwhile.
		res := e.admin.Resource(result.GVR).Namespace(e.namespace)
		obj, err := res.Get(ctx, r.Experiment, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		labels := obj.GetLabels()
		labels["team"] = "payments"
		obj.SetLabels(labels)
		if _, err := res.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		r.Phase, r.Verdict = result.PhaseCompleted, result.VerdictPass
		if err := w.Finish(ctx, &r); err != nil {
			t.Fatal(err)
		}
		_, obj = e.get(t, r.Experiment)
		if obj.GetLabels()["team"] != "payments" {
			t.Errorf("labels = %v, want the foreign label kept", obj.GetLabels())
		}
	})
}

func TestKubeWriterWithoutPermissionFails(t *testing.T) {
	e := newEnv(t, "litmus")
	cfg := e.cluster.ConfigFor(e.cluster.TokenFor(t, e.namespace, "nobody"))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = result.NewKubeWriter(client, e.namespace).Start(t.Context(), &result.ChaosResult{Experiment: "x"})
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("err = %v, want forbidden", err)
	}
}

// The budgets the recorder keeps (experiment/recorder's servicesBudget, 1 MiB of service reports, and
// timeline.MaxBytes) leave a ChaosResult the apiserver stores, with a thousand targets in the history; twice that
// is refused (etcd's default request limit, 1.5 MiB), which is why the budgets exist.
func TestKubeWriterStoresTheLargestResultTheFaultWrites(t *testing.T) {
	const serviceReports = 1 << 20
	blob := func(n int) []any { // n bytes of JSON strings, in 1 KiB pieces like service reports
		var out []any
		for range n / 1024 {
			out = append(out, strings.Repeat("x", 1024-3))
		}
		return out
	}
	var targets []result.Target
	for i := range 1000 {
		targets = append(targets, result.Target{Name: fmt.Sprintf("service-%04d", i), Kind: "ECSService", ChaosStatus: result.ChaosReverted})
	}
	e := newEnv(t, "litmus")
	w := result.NewKubeWriter(e.runner, e.namespace)
	for _, tc := range []struct {
		name    string
		reports int
		wantErr bool
	}{{"within the budgets", serviceReports, false}, {"twice the budget", 2 * serviceReports, true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := result.ChaosResult{Experiment: "ecs-invalid-container-image", Instance: strings.ReplaceAll(tc.name, " ", "-"), Targets: targets}
			if err := w.Start(t.Context(), &r); err != nil {
				t.Fatal(err)
			}
			r.Phase, r.Verdict = result.PhaseCompleted, result.VerdictPass
			r.FaultStatus = map[string]any{"services": blob(tc.reports), "timeline": map[string]any{"samples": blob(timeline.MaxBytes)}}
			err := w.Finish(t.Context(), &r)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Finish: %v, want an error: %v", err, tc.wantErr)
			}
			if err == nil {
				if got, _ := e.get(t, result.Name("", r.Experiment, r.Instance)); got.Result.Verdict != result.VerdictPass {
					t.Errorf("stored verdict %s, want Pass", got.Result.Verdict)
				}
			}
		})
	}
}
