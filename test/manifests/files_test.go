package manifests_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

const (
	imageRepo      = "ghcr.io/ecschaos/ecs-invalid-container-image"
	faultName      = "ecs-invalid-container-image"
	serviceAccount = "ecs-invalid-container-image-sa"
	chaosNamespace = "ecs-chaos"
	nonrootID      = 65532
	credsKey       = "cloud_config.yml"
	credsPath      = "/tmp/cloud_config.yml"
)

// root is the product module's root; go test runs in test/manifests.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifests", "kustomization.yaml")); err != nil {
		t.Fatalf("manifests not found from %s: %v", dir, err)
	}
	return dir
}

func manifestPath(t *testing.T, rel string) string {
	t.Helper()
	return filepath.Join(root(t), "manifests", filepath.FromSlash(rel))
}

// documents splits a multi-document YAML file, dropping empty documents.
func documents(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) != "" {
			docs = append(docs, []byte(doc))
		}
	}
	return docs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// decodeStrict reads one object; an unknown field (a typo, or a field of another API version) fails.
func decodeStrict(t *testing.T, what string, data []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// objectsByKind reads a manifest file into generic objects keyed by "Kind/name".
func objectsByKind(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	objs := map[string]map[string]any{}
	for i, doc := range documents(readFile(t, path)) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		meta, _ := obj["metadata"].(map[string]any)
		objs[fmt.Sprintf("%v/%v", obj["kind"], meta["name"])] = obj
	}
	return objs
}

// kustomizationTag is the image tag set in manifests/kustomization.yaml, the one place naming the release.
func kustomizationTag(t *testing.T) string {
	t.Helper()
	var k struct {
		Images []struct {
			Name   string `json:"name"`
			NewTag string `json:"newTag"`
		} `json:"images"`
	}
	if err := yaml.Unmarshal(readFile(t, manifestPath(t, "kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	for _, img := range k.Images {
		if img.Name == imageRepo && img.NewTag != "" {
			return img.NewTag
		}
	}
	t.Fatalf("kustomization.yaml sets no newTag for %s", imageRepo)
	return ""
}

// experimentDefinition is the part of Litmus's ChaosExperiment the fault depends on.
type experimentDefinition struct {
	Image       string              `json:"image"`
	Command     []string            `json:"command"`
	Args        []string            `json:"args"`
	Env         []corev1.EnvVar     `json:"env"`
	Permissions []rbacv1.PolicyRule `json:"permissions"`
	Secrets     []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"secrets"`
}

func readExperiment(t *testing.T) experimentDefinition {
	t.Helper()
	var exp struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Definition experimentDefinition `json:"definition"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(readFile(t, manifestPath(t, "fault/experiment.yaml")), &exp); err != nil {
		t.Fatal(err)
	}
	if exp.Kind != "ChaosExperiment" || exp.Metadata.Name != faultName {
		t.Fatalf("fault/experiment.yaml holds %s %q, want ChaosExperiment %q", exp.Kind, exp.Metadata.Name, faultName)
	}
	return exp.Spec.Definition
}

func readJob(t *testing.T) *batchv1.Job {
	t.Helper()
	var job batchv1.Job
	decodeStrict(t, "fault/job.yaml", readFile(t, manifestPath(t, "fault/job.yaml")), &job)
	if len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("the Job has %d containers, want 1", len(job.Spec.Template.Spec.Containers))
	}
	return &job
}

func readSecretFile(t *testing.T) string {
	t.Helper()
	var secret corev1.Secret
	decodeStrict(t, "fault/secret.yaml", readFile(t, manifestPath(t, "fault/secret.yaml")), &secret)
	content, ok := secret.StringData[credsKey]
	if !ok {
		t.Fatalf("fault/secret.yaml has no key %s", credsKey)
	}
	return content
}

// expectedDefault is the value a tunable's default is written as in the ChaosExperiment: plain defaults
// literally, everything described in words (required, derived from another variable) as empty, which the
// binary reads as "use the default".
func expectedDefault(d tunables.Definition) string {
	if d.Name == "RESULT_FILE" { // "stdout" is a description: an empty RESULT_FILE means stdout
		return ""
	}
	if regexp.MustCompile(`^[A-Za-z0-9._-]+$`).MatchString(d.Default) {
		return d.Default
	}
	return ""
}

// fromDownwardAPI are the tunables the Job takes from the pod itself. JOB_UID is the label the apiserver puts on
// every pod template of a Job (k8s.io/kubernetes pkg/registry/batch/job/strategy.go, generateSelector: both
// controller-uid and batch.kubernetes.io/controller-uid; only the first exists before Kubernetes 1.27).
var fromDownwardAPI = map[string]string{"CHAOS_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name",
	"JOB_UID": "metadata.labels['controller-uid']"}

// setByRunner are the variables chaos-runner sets for the experiment pod before it copies the ChaosExperiment's
// env over them (chaos-runner 3.18.0 pkg/utils/environment.go SetENV; POD_NAME is appended in builders.go): a
// ChaosExperiment that lists them wipes the runner's values, so it must not.
var setByRunner = map[string]bool{"CHAOSENGINE": true, "CHAOS_UID": true, "CHAOS_NAMESPACE": true,
	"EXPERIMENT_NAME": true, "TERMINATION_GRACE_PERIOD_SECONDS": true, "POD_NAME": true}

func TestExperimentListsEveryTunableWithItsDefault(t *testing.T) {
	def := readExperiment(t)
	got := map[string]corev1.EnvVar{}
	for _, e := range def.Env {
		if _, dup := got[e.Name]; dup {
			t.Errorf("env %s is listed twice", e.Name)
		}
		got[e.Name] = e
	}
	for _, d := range tunables.Definitions() {
		e, ok := got[d.Name]
		if setByRunner[d.Name] {
			if ok {
				t.Errorf("env %s is set by chaos-runner: listing it in the ChaosExperiment overrides the runner's value", d.Name)
				delete(got, d.Name)
			}
			continue
		}
		if !ok {
			t.Errorf("tunable %s is missing from the ChaosExperiment's env", d.Name)
			continue
		}
		delete(got, d.Name)
		if path, ok := fromDownwardAPI[d.Name]; ok {
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != path {
				t.Errorf("%s: want it from the downward API (%s)", d.Name, path)
			}
			continue
		}
		if want := expectedDefault(d); e.Value != want || e.ValueFrom != nil {
			t.Errorf("%s = %q, want its default %q (documented default: %s)", d.Name, e.Value, want, d.Default)
		}
	}
	for name := range got {
		t.Errorf("env %s is not a tunable (pkg/tunables.Definitions)", name)
	}
}

func TestExperimentRunsTheReleasedImage(t *testing.T) {
	def := readExperiment(t)
	if want := imageRepo + ":" + kustomizationTag(t); def.Image != want {
		t.Errorf("image %q, want %q (the tag of kustomization.yaml)", def.Image, want)
	}
	if strings.Join(def.Command, " ") != "/experiment" || strings.Join(def.Args, " ") != "run" {
		t.Errorf("command %q args %q, want [/experiment] [run]", def.Command, def.Args)
	}
	// Litmus mounts the whole secret (its schema has no subPath): the key must land where the binary reads it.
	mounted := false
	for _, s := range def.Secrets {
		if s.Name == "cloud-secret" && filepath.Join(s.MountPath, credsKey) == credsPath {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("secrets %+v: want cloud-secret mounted so that %s is %s", def.Secrets, credsKey, credsPath)
	}
}

// The ChaosExperiment's permissions are what Litmus tooling turns into RBAC: they must be rbac.yaml's rules.
func TestExperimentPermissionsMatchRBAC(t *testing.T) {
	def := readExperiment(t)
	var fromRoles []rbacv1.PolicyRule
	for key, obj := range objectsByKind(t, manifestPath(t, "fault/rbac.yaml")) {
		if !strings.HasPrefix(key, "Role/") {
			continue
		}
		data, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		var role rbacv1.Role
		decodeStrict(t, key, data, &role)
		fromRoles = append(fromRoles, role.Rules...)
	}
	if got, want := ruleSet(def.Permissions), ruleSet(fromRoles); !equalStrings(got, want) {
		t.Errorf("ChaosExperiment permissions\n%s\nrbac.yaml Roles\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// ruleSet flattens rules into sorted group/resource:verb strings, so that equal grants compare equal.
func ruleSet(rules []rbacv1.PolicyRule) []string {
	seen := map[string]bool{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					seen[g+"/"+res+":"+v] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

func TestRBACIsLeastPrivilege(t *testing.T) {
	objs := objectsByKind(t, manifestPath(t, "fault/rbac.yaml"))
	if _, ok := objs["ServiceAccount/"+serviceAccount]; !ok {
		t.Fatalf("rbac.yaml has no ServiceAccount %s", serviceAccount)
	}
	var fault rbacv1.Role
	data, _ := yaml.Marshal(objs["Role/"+faultName])
	decodeStrict(t, "Role "+faultName, data, &fault)
	// Exactly the verbs a behaviour of the run needs; test/kubefault takes each away in turn and shows what is lost.
	want := []string{
		"/events:create", "/events:patch", "/events:update",
		"litmuschaos.io/chaosengines:get", "litmuschaos.io/chaosengines:watch",
		"litmuschaos.io/chaosresults:create", "litmuschaos.io/chaosresults:get", "litmuschaos.io/chaosresults:update",
	}
	if got := ruleSet(fault.Rules); !equalStrings(got, want) {
		t.Errorf("Role %s grants\n%s\nwant exactly\n%s", faultName, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range fault.Rules {
		for _, res := range r.Resources {
			if strings.HasPrefix(res, "pods") || res == "secrets" || res == "*" {
				t.Errorf("Role %s grants %s: the fault itself never touches it", faultName, res)
			}
		}
	}
}

func TestJobIsSafeToRun(t *testing.T) {
	job := readJob(t)
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	check := func(ok bool, format string, args ...any) {
		t.Helper()
		if !ok {
			t.Errorf(format, args...)
		}
	}
	check(job.Spec.BackoffLimit != nil && *job.Spec.BackoffLimit == 0, "backoffLimit must be 0: a failed run is never injected again")
	check(spec.RestartPolicy == corev1.RestartPolicyNever, "restartPolicy %q, want Never", spec.RestartPolicy)
	check(spec.ServiceAccountName == serviceAccount, "serviceAccountName %q, want %s", spec.ServiceAccountName, serviceAccount)
	check(spec.TerminationGracePeriodSeconds != nil && env["TERMINATION_GRACE_PERIOD_SECONDS"].Value == fmt.Sprint(*spec.TerminationGracePeriodSeconds),
		"TERMINATION_GRACE_PERIOD_SECONDS %q must equal terminationGracePeriodSeconds %v", env["TERMINATION_GRACE_PERIOD_SECONDS"].Value, spec.TerminationGracePeriodSeconds)
	check(c.Image == imageRepo+":"+kustomizationTag(t), "image %q, want the tag of kustomization.yaml", c.Image)
	check(strings.Join(c.Command, " ") == "/experiment" && strings.Join(c.Args, " ") == "run", "command %q args %q", c.Command, c.Args)
	for name, path := range fromDownwardAPI {
		e := env[name]
		check(e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == path, "%s must come from the downward API %s", name, path)
	}

	sc := c.SecurityContext
	psc := spec.SecurityContext
	check(sc != nil && psc != nil, "pod and container securityContext are required")
	if sc != nil && psc != nil {
		check(isTrue(sc.ReadOnlyRootFilesystem), "readOnlyRootFilesystem must be true")
		check(isTrue(psc.RunAsNonRoot) && isTrue(sc.RunAsNonRoot), "runAsNonRoot must be true")
		check(psc.RunAsUser != nil && *psc.RunAsUser == nonrootID, "runAsUser must be %d", nonrootID)
		check(sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "allowPrivilegeEscalation must be false")
		check(sc.Capabilities != nil && len(sc.Capabilities.Drop) == 1 && sc.Capabilities.Drop[0] == "ALL" && len(sc.Capabilities.Add) == 0, "capabilities must drop ALL and add none")
		check(psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "seccompProfile must be RuntimeDefault")
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	var tmp, creds *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		switch m.MountPath {
		case "/tmp":
			tmp = &c.VolumeMounts[i]
		case credsPath:
			creds = &c.VolumeMounts[i]
		}
	}
	check(tmp != nil && volumes[tmp.Name].EmptyDir != nil, "/tmp must be an emptyDir (the root filesystem is read-only)")
	check(creds != nil && creds.SubPath == credsKey && creds.ReadOnly, "the credentials must be mounted read-only by subPath %s at %s", credsKey, credsPath)
	if creds != nil {
		s := volumes[creds.Name].Secret
		check(s != nil && s.SecretName == env["AWS_AUTHENTICATION_SECRET"].Value, "the mounted secret must be AWS_AUTHENTICATION_SECRET (%q)", env["AWS_AUTHENTICATION_SECRET"].Value)
	}
	check(env["AWS_SHARED_CREDENTIALS_FILE"].Value == credsPath, "AWS_SHARED_CREDENTIALS_FILE must be %s", credsPath)
}

func isTrue(b *bool) bool { return b != nil && *b }

// newerThan121 are Job and pod fields added after Kubernetes 1.21; the spec promises 1.21 and later.
var newerThan121 = []string{
	"podFailurePolicy", "backoffLimitPerIndex", "maxFailedIndexes", "podReplacementPolicy", "successPolicy",
	"managedBy", "hostUsers", "os", "schedulingGates", "resourceClaims", "resizePolicy", "appArmorProfile",
	"hostnameOverride", "resources", // pod-level resources (1.32); container resources are older
}

func TestJobUsesOnlyKubernetes121Fields(t *testing.T) {
	var raw map[string]any
	if err := yaml.Unmarshal(readFile(t, manifestPath(t, "fault/job.yaml")), &raw); err != nil {
		t.Fatal(err)
	}
	jobSpec := raw["spec"].(map[string]any)
	podSpec := jobSpec["template"].(map[string]any)["spec"].(map[string]any)
	for _, obj := range []map[string]any{jobSpec, podSpec} {
		for _, field := range newerThan121 {
			if _, ok := obj[field]; ok {
				t.Errorf("field %s is newer than Kubernetes 1.21", field)
			}
		}
	}
	for _, c := range podSpec["containers"].([]any) {
		for _, field := range []string{"restartPolicy", "resizePolicy"} {
			if _, ok := c.(map[string]any)[field]; ok {
				t.Errorf("container field %s is newer than Kubernetes 1.21", field)
			}
		}
	}
}

// mountedFiles serves the files a pod would see, for tunables.Load.
type mountedFiles struct{ fsys fstest.MapFS }

func (m mountedFiles) ReadFile(name string) ([]byte, error) {
	return m.fsys.ReadFile(strings.TrimPrefix(name, "/"))
}

func (m mountedFiles) Stat(name string) (fs.FileInfo, error) {
	return m.fsys.Stat(strings.TrimPrefix(name, "/"))
}

// podEnv resolves a container's env as the kubelet would for a pod named podName in namespace.
func podEnv(t *testing.T, vars []corev1.EnvVar, namespace, podName string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range vars {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = namespace
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.labels['controller-uid']":
			env[e.Name] = "3b0f5e2c-7d1a-4c8e-9f60-5a2b1c3d4e5f"
		default:
			t.Fatalf("env %s: this test cannot resolve %+v", e.Name, e.ValueFrom)
		}
	}
	return env
}

func load(env map[string]string, files mountedFiles) error {
	_, err := tunables.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, files)
	return err
}

// The Job, with the secret template mounted where it says, passes the binary's own validation.
func TestJobEnvironmentPassesTheFaultsValidation(t *testing.T) {
	job := readJob(t)
	env := podEnv(t, job.Spec.Template.Spec.Containers[0].Env, chaosNamespace, faultName+"-x7k2p")
	files := mountedFiles{fstest.MapFS{strings.TrimPrefix(credsPath, "/"): {Data: []byte(readSecretFile(t))}}}
	if err := load(env, files); err != nil {
		t.Fatalf("the Job's environment is refused by the fault:\n%v", err)
	}
	// Without the mounted file the same environment must be refused, or this test proves nothing.
	if err := load(env, mountedFiles{fstest.MapFS{}}); err == nil {
		t.Fatal("the fault accepted the Job's environment without the credentials file")
	}
}

// Litmus builds the experiment pod's env in three layers (chaos-runner 3.18.0 pkg/utils/environment.go SetENV):
// the runner's own values, then the ChaosExperiment's env over them (experimentHelper.go
// SetDefaultEnvFromChaosExperiment), then the ChaosEngine's env over that (engineHelper.go
// SetOverrideEnvFromChaosEngine). The runner's CHAOSENGINE, CHAOS_UID, EXPERIMENT_NAME and grace period must
// survive, and the fault must accept the result.
func TestEngineSampleRunsUnderLitmus(t *testing.T) {
	var engine struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			ChaosServiceAccount           string `json:"chaosServiceAccount"`
			TerminationGracePeriodSeconds int    `json:"terminationGracePeriodSeconds"`
			Experiments                   []struct {
				Name string `json:"name"`
				Spec struct {
					Components struct {
						Env []corev1.EnvVar `json:"env"`
					} `json:"components"`
					Probe []any `json:"probe"`
				} `json:"spec"`
			} `json:"experiments"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(readFile(t, manifestPath(t, "fault/engine.yaml")), &engine); err != nil {
		t.Fatal(err)
	}
	if engine.Spec.ChaosServiceAccount != serviceAccount || len(engine.Spec.Experiments) != 1 || engine.Spec.Experiments[0].Name != faultName {
		t.Fatalf("engine.yaml must run %s as %s", faultName, serviceAccount)
	}
	exp := engine.Spec.Experiments[0]

	podName := faultName + "-abc12-x7k2p"
	runner := map[string]string{
		"CHAOSENGINE": engine.Metadata.Name, "CHAOS_UID": "6f1c3a52-0d7e-4b7b-9a55-2f0a5d0e8c11",
		"CHAOS_NAMESPACE": chaosNamespace, "EXPERIMENT_NAME": faultName,
		"TERMINATION_GRACE_PERIOD_SECONDS": fmt.Sprint(engine.Spec.TerminationGracePeriodSeconds),
		"POD_NAME":                         podName,
	}
	env := map[string]string{}
	for k, v := range runner {
		env[k] = v
	}
	for k, v := range podEnv(t, readExperiment(t).Env, chaosNamespace, podName) {
		env[k] = v
	}
	for k, v := range podEnv(t, exp.Spec.Components.Env, chaosNamespace, podName) {
		env[k] = v
	}
	for k, v := range runner {
		if env[k] != v {
			t.Errorf("%s = %q in the experiment pod, want chaos-runner's %q: the ChaosExperiment or the engine overrides it", k, env[k], v)
		}
	}
	// Litmus mounts the whole secret at the ChaosExperiment's mountPath.
	files := mountedFiles{fstest.MapFS{strings.TrimPrefix(credsPath, "/"): {Data: []byte(readSecretFile(t))}}}
	if err := load(env, files); err != nil {
		t.Fatalf("the ChaosEngine sample's environment is refused by the fault:\n%v", err)
	}

	// The probes go through the fault's own parser, as the binary reads them from the engine.
	raw, err := yaml.Marshal(exp.Spec.Probe)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := probe.Parse(raw)
	if err != nil {
		t.Fatalf("the sample's probes are refused by the fault:\n%v", err)
	}
	types := map[string]bool{}
	for _, d := range defs {
		types[d.Type] = true
	}
	for _, want := range []string{probe.TypeHTTP, probe.TypeProm, probe.TypeCmd} {
		if !types[want] {
			t.Errorf("the sample has no %s", want)
		}
	}
}

// litmusCRDsSHA256 is the SHA-256 of Litmus's own CRD bundle, litmuschaos/chaos-operator deploy/chaos_crds.yaml
// at commit af8244e5 (checked against that file when the copy was made; a cluster that runs Litmus has exactly
// these CRDs).
const litmusCRDsSHA256 = "b78460035ed3ae759a5b0234c151881f8e5153aa6a06738448ee28dc3ec8002a"

// The CRD component is Litmus's bundle unchanged: compatibility by construction, checked from what the
// repository holds alone.
func TestCRDComponentIsLitmusBundle(t *testing.T) {
	sum := sha256.Sum256(readFile(t, manifestPath(t, "crds/chaos_crds.yaml")))
	if got := hex.EncodeToString(sum[:]); got != litmusCRDsSHA256 {
		t.Fatalf("manifests/crds/chaos_crds.yaml has SHA-256 %s, want %s (Litmus's deploy/chaos_crds.yaml at af8244e5): copy it again, unchanged", got, litmusCRDsSHA256)
	}
}
