//go:build integration

package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"k8s.io/client-go/rest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
)

func k8sJSON(name, mode, inputs, data string) string {
	dataField := ""
	if data != "" {
		dataField = fmt.Sprintf(`"data": %q, `, data)
	}
	return fmt.Sprintf(`{"name": %q, "type": "k8sProbe", "mode": %q, %s"k8sProbe/inputs": {%s},
		"runProperties": {"probeTimeout": "20s", "interval": "1s"}}`, name, mode, dataField, inputs)
}

func TestK8sAndSourceProbesAgainstRealAPIServer(t *testing.T) {
	cluster := kube.Start(t)
	const ns = "probes"
	cluster.TokenFor(t, ns, "probe-runner") // creates the namespace and the source pods' ServiceAccount
	core := cluster.Clientset(t)
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, name := range []string{"app-a", "app-b"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web"}}}
		if _, err := core.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cms := `"version": "v1", "resource": "configmaps", "namespace": "` + ns + `"`
	marker := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chaos-marker\n  labels:\n    app: marker\n"

	t.Run("operations", func(t *testing.T) {
		tests := []struct {
			name, probe string
			want        Verdict
			description string
		}{
			{"present by selector", k8sJSON("p", ModeSOT, cms+`, "labelSelector": "app=web", "operation": "present"`, ""), Passed, "2 configmaps/v1 in namespace probes match"},
			{"present by names", k8sJSON("p", ModeSOT, cms+`, "resourceNames": "app-a, app-b", "operation": "present"`, ""), Passed, "present: app-a, app-b"},
			{"present by field selector", k8sJSON("p", ModeSOT, cms+`, "fieldSelector": "metadata.name=app-a", "operation": "present"`, ""), Passed, ""},
			{"present fails", k8sJSON("p", ModeSOT, cms+`, "labelSelector": "app=db", "operation": "present"`, ""), Failed, "no configmaps/v1 in namespace probes matches"},
			{"present name missing", k8sJSON("p", ModeSOT, cms+`, "resourceNames": "app-a,app-z", "operation": "present"`, ""), Failed, `"app-z" not found`},
			{"absent", k8sJSON("p", ModeSOT, cms+`, "labelSelector": "app=db", "operation": "absent"`, ""), Passed, ""},
			{"absent fails", k8sJSON("p", ModeSOT, cms+`, "resourceNames": "app-b", "operation": "absent"`, ""), Failed, `"app-b" exists but is expected to be absent`},
			{"create", k8sJSON("p", ModeSOT, cms+`, "operation": "create"`, marker), Passed, `created configmaps/v1 in namespace probes "chaos-marker"`},
			{"create again fails", k8sJSON("p", ModeSOT, cms+`, "operation": "create"`, marker), Failed, "already exists"},
			{"delete by selector", k8sJSON("p", ModeSOT, cms+`, "labelSelector": "app=marker", "operation": "delete"`, ""), Passed, "deleted configmaps/v1 in namespace probes: chaos-marker"},
			{"delete nothing fails", k8sJSON("p", ModeSOT, cms+`, "labelSelector": "app=marker", "operation": "delete"`, ""), Failed, "nothing to delete"},
			{"unknown resource", k8sJSON("p", ModeSOT, `"version": "v1", "resource": "widgets", "operation": "present"`, ""), Failed, "could not list"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				defs, err := Parse([]byte("[" + tt.probe + "]"))
				if err != nil {
					t.Fatal(err)
				}
				r := NewRunner(defs, Deps{Clock: clock.NewScaled(speed), Kube: dyn})
				r.PreChaos(ctx)
				res := r.Results()[0]
				if res.Verdict != tt.want || !strings.Contains(res.Description, tt.description) {
					t.Fatalf("result = %s %q, want %s containing %q", res.Verdict, res.Description, tt.want, tt.description)
				}
			})
		}
	})

	t.Run("delete by names", func(t *testing.T) {
		defs, err := Parse([]byte("[" + k8sJSON("p", ModeEOT, cms+`, "resourceNames": "app-b", "operation": "delete"`, "") + "]"))
		if err != nil {
			t.Fatal(err)
		}
		r := NewRunner(defs, Deps{Clock: clock.NewScaled(speed), Kube: dyn})
		r.PostChaos(ctx)
		if res := r.Results()[0]; res.Verdict != Passed {
			t.Fatalf("result = %+v", res)
		}
		if _, err := core.CoreV1().ConfigMaps(ns).Get(ctx, "app-b", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("app-b still there: %v", err)
		}
	})

	t.Run("source mode never runs without a kubelet", func(t *testing.T) {
		probe := `{"name": "From Pod", "type": "cmdProbe", "mode": "SOT",
			"cmdProbe/inputs": {"command": "echo 1", "source": {"image": "busybox:1.36", "labels": {"team": "sre"}},
			 "comparator": {"type": "int", "criteria": "==", "value": "1"}},
			"runProperties": {"probeTimeout": "10s", "interval": "1s"}}`
		defs, err := Parse([]byte("[" + probe + "]"))
		if err != nil {
			t.Fatal(err)
		}
		seen := make(chan *corev1.Pod, 1)
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		go func() {
			w, err := core.CoreV1().Pods(ns).Watch(watchCtx, metav1.ListOptions{LabelSelector: labelManagedBy + "=" + managedBy})
			if err != nil {
				return
			}
			defer w.Stop()
			for ev := range w.ResultChan() {
				if pod, ok := ev.Object.(*corev1.Pod); ok {
					select {
					case seen <- pod:
					default:
					}
					return
				}
			}
		}()
		time.Sleep(100 * time.Millisecond) // let the watch start
		r := NewRunner(defs, Deps{Clock: clock.NewScaled(speed), Pods: mustPods(t, cluster.Config), Namespace: ns, ServiceAccount: "probe-runner"})
		started := time.Now()
		r.PreChaos(ctx)
		res := r.Results()[0]
		t.Logf("source probe: %s", res.Description)
		if res.Verdict != Failed || !strings.Contains(res.Description, "did not finish: probeTimeout of 10s elapsed") ||
			!strings.Contains(res.Description, "not scheduled on any node") {
			t.Fatalf("result = %s %q", res.Verdict, res.Description)
		}
		if elapsed := time.Since(started); elapsed > 5*time.Second {
			t.Fatalf("probeTimeout of 10s at x%d took %v", speed, elapsed)
		}
		select {
		case pod := <-seen:
			c := pod.Spec.Containers[0]
			if c.Image != "busybox:1.36" || strings.Join(c.Command, " ") != "/bin/sh -c echo 1" ||
				pod.Spec.ServiceAccountName != "probe-runner" || pod.Labels["team"] != "sre" || pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Fatalf("source pod = %+v", pod.Spec)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no source pod was created")
		}
		pods, err := core.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labelManagedBy + "=" + managedBy})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 0 {
			t.Fatalf("source pod left behind: %s", pods.Items[0].Name)
		}
	})
}

func TestKubeProbesWithoutKubernetesFail(t *testing.T) {
	probes := []string{
		k8sJSON("k", ModeSOT, `"version": "v1", "resource": "pods", "operation": "present"`, ""),
		`{"name": "s", "type": "cmdProbe", "mode": "SOT", "cmdProbe/inputs": {"command": "true", "source": {"image": "busybox"},
		  "comparator": {"type": "int", "criteria": "==", "value": "0"}}, "runProperties": {"probeTimeout": "5s", "interval": "1s"}}`,
	}
	defs, err := Parse([]byte("[" + strings.Join(probes, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(defs, Deps{Clock: clock.NewScaled(speed)})
	r.PreChaos(t.Context())
	for _, res := range r.Results() {
		if res.Verdict != Failed || !strings.Contains(res.Description, "not configured") {
			t.Errorf("%s: %s %q, want Failed saying Kubernetes is not configured", res.Name, res.Verdict, res.Description)
		}
	}
}

// TestParseReadsProbesFromALitmusChaosEngine stores a ChaosEngine through Litmus's own CRD (which prunes
// fields it does not know) and parses what the fault would read back: existing engines work unchanged.
func TestParseReadsProbesFromALitmusChaosEngine(t *testing.T) {
	cluster := kube.Start(t)
	cluster.InstallLitmusCRDs(t)
	cluster.CreateNamespace(t, "litmus")
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	var probes []any
	if err := json.Unmarshal([]byte(litmusEngineProbes), &probes); err != nil {
		t.Fatal(err)
	}
	engine := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "litmuschaos.io/v1alpha1", "kind": "ChaosEngine",
		"metadata": map[string]any{"name": "ecs-chaos", "namespace": "litmus"},
		"spec": map[string]any{"engineState": "active", "chaosServiceAccount": "litmus-admin",
			"experiments": []any{map[string]any{"name": "ecs-invalid-container-image", "spec": map[string]any{"probe": probes}}}},
	}}
	gvr := schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosengines"}
	ctx := t.Context()
	var stored *unstructured.Unstructured
	// The CRD may take a moment to be served after it is established.
	for deadline := time.Now().Add(20 * time.Second); ; {
		stored, err = dyn.Resource(gvr).Namespace("litmus").Create(ctx, engine, metav1.CreateOptions{})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	experiments, _, _ := unstructured.NestedSlice(stored.Object, "spec", "experiments")
	raw, err := json.Marshal(experiments[0].(map[string]any)["spec"].(map[string]any)["probe"])
	if err != nil {
		t.Fatal(err)
	}
	defs, err := Parse(raw)
	if err != nil {
		t.Fatalf("probes read back from the ChaosEngine do not parse: %v\n%s", err, raw)
	}
	if len(defs) != 5 || defs[0].Run.ProbeTimeout != 5*time.Second || defs[0].Run.Attempts != 3 || !defs[0].Run.StopOnFailure {
		t.Fatalf("definitions = %+v", defs)
	}
	// Litmus's CRD has no responseTimeout in httpProbe/inputs: the apiserver prunes it (README.md says so).
	if defs[0].HTTP.ResponseTimeout != 0 {
		t.Fatalf("responseTimeout survived Litmus's CRD (%v): update README.md", defs[0].HTTP.ResponseTimeout)
	}
}

func mustPods(t *testing.T, cfg *rest.Config) Pods {
	t.Helper()
	pods, err := NewPods(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pods
}
