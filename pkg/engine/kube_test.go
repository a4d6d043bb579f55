//go:build integration

package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/engine"
	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
)

// One apiserver with Litmus's CRDs serves every test of the package, started
// by the first test that needs it; tests isolate themselves by namespace.
var cluster = &kube.Shared{Setup: func(t testing.TB, c *kube.Cluster) { c.InstallLitmusCRDs(t) }}

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// sampleEngine is a ChaosEngine as users write it, with probes for this
// experiment; it must pass Litmus's CRD validation unchanged.
const sampleEngine = `
apiVersion: litmuschaos.io/v1alpha1
kind: ChaosEngine
metadata:
  name: nginx-chaos
spec:
  engineState: active
  chaosServiceAccount: chaos-runner
  experiments:
  - name: ecs-invalid-container-image
    spec:
      probe:
      - name: check-frontend
        type: httpProbe
        mode: Continuous
        httpProbe/inputs:
          url: http://frontend.example/healthz
          method:
            get:
              criteria: ==
              responseCode: "200"
        runProperties:
          probeTimeout: 5s
          interval: 2s
          attempt: 1
      components:
        env:
        - name: CLUSTER_NAME
          value: prod
`

type env struct {
	namespace string
	admin     dynamic.Interface
}

// newEnv installs Litmus's CRDs (idempotent) and creates the sample engine
// in a namespace of the test's own.
func newEnv(t *testing.T) env {
	t.Helper()
	ns := cluster.Get(t).Namespace(t)
	admin, err := dynamic.NewForConfig(cluster.Get(t).Config)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(sampleEngine), &obj); err != nil {
		t.Fatal(err)
	}
	_, err = admin.Resource(engine.GVR).Namespace(ns).Create(t.Context(), &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return env{namespace: ns, admin: admin}
}

// runnerClient authenticates as a ServiceAccount allowed only verbs on
// chaosengines.
func (e env) runnerClient(t *testing.T, verbs ...string) dynamic.Interface {
	t.Helper()
	ctx := t.Context()
	cs := cluster.Get(t).Clientset(t)
	name := "runner-" + strings.Join(verbs, "-")
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.namespace},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"litmuschaos.io"}, Resources: []string{"chaosengines"}, Verbs: verbs}}}
	if _, err := cs.RbacV1().Roles(e.namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: e.namespace}},
	}
	if _, err := cs.RbacV1().RoleBindings(e.namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	client, err := dynamic.NewForConfig(cluster.Get(t).ConfigFor(cluster.Get(t).TokenFor(t, e.namespace, name)))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func (e env) setState(t *testing.T, state string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"engineState":%q}}`, state)
	_, err := e.admin.Resource(engine.GVR).Namespace(e.namespace).Patch(t.Context(), "nginx-chaos", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGetReadsUIDAndProbes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	client := engine.New(e.runnerClient(t, "get"), e.namespace, "nginx-chaos", engine.Options{})
	got, err := client.Get(ctx, "ecs-invalid-container-image")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.admin.Resource(engine.GVR).Namespace(e.namespace).Get(ctx, "nginx-chaos", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.UID == "" || got.UID != string(stored.GetUID()) || got.State != "active" || !got.ExperimentFound {
		t.Errorf("engine = %+v, want uid %s, active, experiment found", got, stored.GetUID())
	}
	var probes []map[string]any
	if err := json.Unmarshal(got.Probes, &probes); err != nil {
		t.Fatalf("probes %s: %v", got.Probes, err)
	}
	if len(probes) != 1 || probes[0]["name"] != "check-frontend" || probes[0]["httpProbe/inputs"] == nil {
		t.Errorf("probes = %s", got.Probes)
	}

	other, err := client.Get(ctx, "another-experiment")
	if err != nil || other.ExperimentFound || other.Probes != nil {
		t.Errorf("another experiment: %+v, %v", other, err)
	}
	_, err = engine.New(e.admin, e.namespace, "missing", engine.Options{}).Get(ctx, "x")
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("missing engine: %v, want ErrNotFound", err)
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: the stop signal did not fire", what)
	}
}

func assertOpen(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s: the stop signal fired early", what)
	default:
	}
}

func TestWatchFiresOnStop(t *testing.T) {
	tests := []struct {
		name  string
		verbs []string
	}{
		// With watch permission the stop arrives through the watch.
		{"watch", []string{"get", "list", "watch"}},
		// Without it, re-reading every PollInterval still catches it.
		{"poll", []string{"get"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			// 5 s of poll interval pass in 50 ms of wall time.
			opts := engine.Options{Clock: clock.NewScaled(100), PollInterval: 5 * time.Second}
			stop := engine.New(e.runnerClient(t, tt.verbs...), e.namespace, "nginx-chaos", opts).Watch(ctx)

			e.setState(t, "active") // a change that is not a stop
			assertOpen(t, stop, "after an update to active")
			e.setState(t, "stop")
			waitClosed(t, stop, "after engineState stop")
		})
	}
}

func TestWatchFiresWhenDeleted(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	client := engine.New(e.runnerClient(t, "get", "list", "watch"), e.namespace, "nginx-chaos", engine.Options{Clock: clock.NewScaled(100)})
	stop := client.Watch(ctx)
	if err := e.admin.Resource(engine.GVR).Namespace(e.namespace).Delete(ctx, "nginx-chaos", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, stop, "after deleting the engine")
}

func TestWatchFiresWhenStoppedBeforehand(t *testing.T) {
	e := newEnv(t)
	e.setState(t, "stop")
	stop := engine.New(e.admin, e.namespace, "nginx-chaos", engine.Options{}).Watch(t.Context())
	waitClosed(t, stop, "engine stopped before the watch")
}
