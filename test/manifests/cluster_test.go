package manifests_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
)

// kubectlLimit bounds one kubectl run that needs no server (kustomize).
const kubectlLimit = time.Minute

// kustomize renders a kustomization with the project's kubectl (built by test/kube/build.sh).
func kustomize(t *testing.T, dir string) string {
	t.Helper()
	bin, err := kube.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), kubectlLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "kubectl"), "kustomize", dir)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr)
	}
	return string(out)
}

// copyManifests copies manifests/ into a temporary folder and applies edit to its kustomization.yaml, so a
// test can render a variant without touching the checkout.
func copyManifests(t *testing.T, edit func(kustomization string) string) string {
	t.Helper()
	src := filepath.Join(root(t), "manifests")
	dst := filepath.Join(t.TempDir(), "manifests")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copy manifests: %v", err)
	}
	path := filepath.Join(dst, "kustomization.yaml")
	if err := os.WriteFile(path, []byte(edit(string(readFile(t, path)))), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// withCRDComponent opts in to the CRD component the way the kustomization's comment tells users to.
func withCRDComponent(t *testing.T) string {
	t.Helper()
	return copyManifests(t, func(k string) string {
		if !strings.Contains(k, "# components:\n# - crds\n") {
			t.Fatal("kustomization.yaml no longer carries the commented `components: [crds]` opt-in")
		}
		return strings.Replace(k, "# components:\n# - crds\n", "components:\n- crds\n", 1)
	})
}

type object struct {
	Kind, Name, Namespace string
	Doc                   []byte
}

func parseRendered(t *testing.T, rendered string) []object {
	t.Helper()
	var objs []object
	for _, doc := range documents([]byte(rendered)) {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("rendered document: %v\n%s", err, doc)
		}
		objs = append(objs, object{meta.Kind, meta.Metadata.Name, meta.Metadata.Namespace, doc})
	}
	return objs
}

func keys(objs []object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Kind+"/"+o.Name)
	}
	sort.Strings(out)
	return out
}

var wantRendered = []string{
	"ChaosExperiment/" + faultName,
	"Job/" + faultName,
	"Namespace/" + chaosNamespace,
	"Role/" + faultName,
	"Role/" + faultName + "-probes",
	"RoleBinding/" + faultName,
	"RoleBinding/" + faultName + "-probes",
	"ServiceAccount/" + serviceAccount,
}

func TestKustomizeRenders(t *testing.T) {
	objs := parseRendered(t, kustomize(t, filepath.Join(root(t), "manifests")))
	if got := keys(objs); !reflect.DeepEqual(got, wantRendered) {
		t.Errorf("rendered %v\nwant %v", got, wantRendered)
	}
	for _, o := range objs {
		if o.Kind != "Namespace" && o.Namespace != chaosNamespace {
			t.Errorf("%s/%s is in namespace %q, want %s", o.Kind, o.Name, o.Namespace, chaosNamespace)
		}
	}

	withCRDs := parseRendered(t, kustomize(t, withCRDComponent(t)))
	want := append([]string{
		"CustomResourceDefinition/chaosengines.litmuschaos.io",
		"CustomResourceDefinition/chaosexperiments.litmuschaos.io",
		"CustomResourceDefinition/chaosresults.litmuschaos.io",
	}, wantRendered...)
	sort.Strings(want)
	if got := keys(withCRDs); !reflect.DeepEqual(got, want) {
		t.Errorf("with the CRD component: rendered %v\nwant %v", got, want)
	}
}

// Changing the tag in kustomization.yaml changes every image of the fault, the ChaosExperiment's included.
func TestVersionIsSetInOnePlace(t *testing.T) {
	current := kustomizationTag(t)
	const next = "9.8.7-test"
	dir := copyManifests(t, func(k string) string {
		return strings.Replace(k, "newTag: "+current, "newTag: "+next, 1)
	})
	rendered := kustomize(t, dir)
	if n := strings.Count(rendered, imageRepo+":"+next); n != 2 {
		t.Errorf("found %s:%s %d times in the rendered manifests, want 2 (Job and ChaosExperiment)", imageRepo, next, n)
	}
	if strings.Contains(rendered, imageRepo+":"+current) {
		t.Errorf("the rendered manifests still name %s:%s", imageRepo, current)
	}
}

// TestServerDryRun applies every manifest to a real kube-apiserver, once with the project's CRD component
// and once on top of Litmus's own CRDs, each on a fresh apiserver.
func TestServerDryRun(t *testing.T) {
	t.Run("crd-component", func(t *testing.T) {
		c := kube.Start(t)
		var crds, rest []object
		for _, o := range parseRendered(t, kustomize(t, withCRDComponent(t))) {
			if o.Kind == "CustomResourceDefinition" {
				crds = append(crds, o)
			} else {
				rest = append(rest, o)
			}
		}
		c.ApplyFile(t, writeObjects(t, "crds.yaml", crds))
		checkDryRun(t, c, rest)
		checkPodSecurity(t, c, rest)
		checkRBAC(t, c, rest)
	})
	t.Run("litmus-crds", func(t *testing.T) {
		c := kube.Start(t)
		c.InstallLitmusCRDs(t)
		checkDryRun(t, c, parseRendered(t, kustomize(t, filepath.Join(root(t), "manifests"))))
	})
}

func writeObjects(t *testing.T, name string, objs []object) string {
	t.Helper()
	var docs []string
	for _, o := range objs {
		docs = append(docs, strings.TrimSpace(string(o.Doc)))
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkDryRun creates the namespace for real (a dry-run cannot create objects inside a namespace it only
// pretends to create), then server-side dry-runs the rendered objects and the files kept out of the
// kustomization. Litmus's CRDs prune unknown fields, so the custom resources the server returns are compared
// with what was sent: a field Litmus's schema does not know would vanish silently.
func checkDryRun(t *testing.T, c *kube.Cluster, rendered []object) {
	t.Helper()
	c.ApplyFile(t, manifestPath(t, "namespace.yaml"))
	out, err := c.Kubectl(t, "apply", "--dry-run=server", "-f", writeObjects(t, "rendered.yaml", rendered))
	if err != nil {
		t.Fatalf("server dry run of the kustomization: %v", err)
	}
	if n := strings.Count(out, "(server dry run)"); n != len(rendered) {
		t.Errorf("the server accepted %d of %d objects:\n%s", n, len(rendered), out)
	}
	for _, f := range []string{"fault/secret.yaml", "fault/engine.yaml", "fault/rbac-litmus-runner.yaml", "fault/rbac.yaml", "fault/experiment.yaml", "fault/job.yaml"} {
		if out, err := c.Kubectl(t, "apply", "--dry-run=server", "-n", chaosNamespace, "-f", manifestPath(t, f)); err != nil {
			t.Errorf("server dry run of %s: %v", f, err)
		} else if !strings.Contains(out, "(server dry run)") {
			t.Errorf("server dry run of %s: %s", f, out)
		}
	}
	checkNothingPruned(t, c, manifestPath(t, "fault/experiment.yaml"), "spec")
	checkNothingPruned(t, c, manifestPath(t, "fault/engine.yaml"), "spec")
}

func checkNothingPruned(t *testing.T, c *kube.Cluster, path, field string) {
	t.Helper()
	out, err := c.Kubectl(t, "create", "--dry-run=server", "-n", chaosNamespace, "-o", "json", "-f", path)
	if err != nil {
		t.Errorf("server dry run of %s: %v", path, err)
		return
	}
	var sent, stored map[string]any
	if err := yaml.Unmarshal(readFile(t, path), &sent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &stored); err != nil {
		t.Fatalf("%s: server answer: %v\n%s", path, err, out)
	}
	if !reflect.DeepEqual(sent[field], stored[field]) {
		a, _ := json.MarshalIndent(sent[field], "", " ")
		b, _ := json.MarshalIndent(stored[field], "", " ")
		t.Errorf("%s: the server changed %s (pruned by the CRD schema?)\nsent   %s\nstored %s", path, field, a, b)
	}
}

// checkPodSecurity shows the Job runs under the `restricted` level its namespace enforces. Enforcement
// applies to pods (a Job only gets warnings), so the Job's pod template is also dry-run as a Pod; variants
// that break one rule each must be refused, or the check could not fail.
func checkPodSecurity(t *testing.T, c *kube.Cluster, rendered []object) {
	t.Helper()
	var job batchv1.Job
	for _, o := range rendered {
		if o.Kind == "Job" {
			decodeStrict(t, "rendered Job", o.Doc, &job)
		}
		if o.Kind == "ServiceAccount" {
			// Pod admission needs the ServiceAccount to exist.
			c.ApplyFile(t, writeObjects(t, "sa.yaml", []object{o}))
		}
	}
	jobOut, err := c.Kubectl(t, "apply", "--dry-run=server", "-f", writeYAML(t, "job.yaml", &job))
	if err != nil {
		t.Fatalf("the Job is refused in namespace %s: %v", chaosNamespace, err)
	}
	if strings.Contains(jobOut, "PodSecurity") {
		t.Errorf("the Job draws a PodSecurity warning:\n%s", jobOut)
	}
	if _, err := c.Kubectl(t, "apply", "--dry-run=server", "-f", writeYAML(t, "pod.yaml", podOf(&job))); err != nil {
		t.Errorf("the Job's pod is refused by PodSecurity %q: %v", "restricted", err)
	}

	breaks := []struct {
		name  string
		apply func(*corev1.PodSpec)
	}{
		{"privilege escalation", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr(true) }},
		{"root user", func(s *corev1.PodSpec) {
			s.SecurityContext.RunAsNonRoot, s.SecurityContext.RunAsUser = nil, ptr(int64(0))
			s.Containers[0].SecurityContext.RunAsNonRoot, s.Containers[0].SecurityContext.RunAsUser = nil, nil
		}},
		{"capabilities kept", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Capabilities = nil }},
		{"no seccomp profile", func(s *corev1.PodSpec) {
			s.SecurityContext.SeccompProfile, s.Containers[0].SecurityContext.SeccompProfile = nil, nil
		}},
		{"hostPath volume", func(s *corev1.PodSpec) {
			s.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}
		}},
	}
	for _, b := range breaks {
		bad := job.DeepCopy()
		b.apply(&bad.Spec.Template.Spec)
		out, err := c.Kubectl(t, "apply", "--dry-run=server", "-f", writeYAML(t, "bad-pod.yaml", podOf(bad)))
		if err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Errorf("%s: the pod was not refused by PodSecurity: %v\n%s", b.name, err, out)
		}
		out, err = c.Kubectl(t, "apply", "--dry-run=server", "-f", writeYAML(t, "bad-job.yaml", bad))
		if err != nil || !strings.Contains(out, "would violate PodSecurity") {
			t.Errorf("%s: the Job drew no PodSecurity warning: %v\n%s", b.name, err, out)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func podOf(job *batchv1.Job) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name + "-pod", Namespace: job.Namespace, Labels: job.Spec.Template.Labels,
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
}

func writeYAML(t *testing.T, name string, obj any) string {
	t.Helper()
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkRBAC applies the Roles for real and asks the apiserver what the ServiceAccount may do.
func checkRBAC(t *testing.T, c *kube.Cluster, rendered []object) {
	t.Helper()
	var rbac []object
	for _, o := range rendered {
		if o.Kind == "Role" || o.Kind == "RoleBinding" || o.Kind == "ServiceAccount" {
			rbac = append(rbac, o)
		}
	}
	c.ApplyFile(t, writeObjects(t, "rbac.yaml", rbac))
	as := fmt.Sprintf("system:serviceaccount:%s:%s", chaosNamespace, serviceAccount)
	tests := []struct {
		verb, resource, namespace string
		allowed                   bool
	}{
		{"create", "chaosresults.litmuschaos.io", chaosNamespace, true},
		{"update", "chaosresults.litmuschaos.io", chaosNamespace, true},
		{"delete", "chaosresults.litmuschaos.io", chaosNamespace, false},
		{"watch", "chaosengines.litmuschaos.io", chaosNamespace, true},
		{"update", "chaosengines.litmuschaos.io", chaosNamespace, false},
		{"patch", "events", chaosNamespace, true},
		{"get", "secrets", chaosNamespace, false},
		{"create", "pods", chaosNamespace, true}, // probes Role: source-mode cmdProbes
		{"get", "pods/log", chaosNamespace, true},
		{"create", "pods/exec", chaosNamespace, false},
		{"patch", "pods/status", chaosNamespace, false},
		{"create", "jobs.batch", chaosNamespace, false},
		{"create", "chaosresults.litmuschaos.io", "default", false},
	}
	for _, tt := range tests {
		// kubectl reads pods/exec as the pod named exec: subresources go in --subresource.
		resource, sub, _ := strings.Cut(tt.resource, "/")
		out, err := c.Kubectl(t, "auth", "can-i", tt.verb, resource, "--subresource="+sub, "-n", tt.namespace, "--as", as)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		got := strings.TrimSpace(lines[len(lines)-1]) == "yes" // warnings may come first
		if err != nil && got {
			t.Errorf("can-i %s %s: %v", tt.verb, tt.resource, err)
		}
		if got != tt.allowed {
			t.Errorf("%s may %s %s in %s: %v, want %v", serviceAccount, tt.verb, tt.resource, tt.namespace, got, tt.allowed)
		}
	}
}
