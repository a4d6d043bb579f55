package kubefault

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

const (
	shippedRBAC    = "../../manifests/fault/rbac.yaml"
	serviceAccount = "ecs-invalid-container-image-sa"
	faultRole      = "ecs-invalid-container-image"
	probesRole     = "ecs-invalid-container-image-probes"
)

// rbacChange edits the shipped RBAC before it is applied.
type rbacChange struct {
	// withoutProbes leaves out the probes Role and its RoleBinding.
	withoutProbes bool
	// remove takes verbs away from the fault Role's rule for each resource; no verbs removes the whole rule.
	remove map[string][]string
}

// applyRBAC creates the objects of manifests/fault/rbac.yaml in the test's namespace (subjects included), with
// change applied, waits until the apiserver authorizes what the fault Role grants, and returns a kubeconfig
// holding the ServiceAccount's own token.
func (e *env) applyRBAC(t *testing.T, change rbacChange) string {
	t.Helper()
	data, err := os.ReadFile(shippedRBAC)
	if err != nil {
		t.Fatalf("read the shipped RBAC: %v", err)
	}
	ctx := binary.Deadline(t, 30*time.Second)
	var granted []authorizationv1.ResourceAttributes
	for _, doc := range strings.Split("\n"+string(data), "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatalf("parse %s: %v", shippedRBAC, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if change.withoutProbes && obj.GetName() == probesRole {
			continue
		}
		obj.SetNamespace(e.namespace)
		switch obj.GetKind() {
		case "RoleBinding":
			subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = e.namespace
			}
			_ = unstructured.SetNestedSlice(obj.Object, subjects, "subjects")
		case "Role":
			if obj.GetName() == faultRole {
				granted = e.editRules(t, obj, change)
			}
		}
		gvk := obj.GroupVersionKind()
		gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}
		if _, err := e.admin.Resource(gvr).Namespace(e.namespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", gvk.Kind, obj.GetName(), err)
		}
	}
	if len(granted) == 0 && len(change.remove) == 0 {
		t.Fatalf("%s holds no Role %s", shippedRBAC, faultRole)
	}
	e.awaitAuthorized(t, granted)
	return e.kubeconfig(t, e.kube.TokenFor(t, e.namespace, serviceAccount))
}

// editRules applies change to the fault Role and returns what the edited Role grants.
func (e *env) editRules(t *testing.T, role *unstructured.Unstructured, change rbacChange) []authorizationv1.ResourceAttributes {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	var kept []any
	var granted []authorizationv1.ResourceAttributes
	edited := map[string]bool{}
	for _, r := range rules {
		rule := r.(map[string]any)
		groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
		resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
		verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
		dropRule := false
		for resource, remove := range change.remove {
			if !slices.Contains(resources, resource) {
				continue
			}
			edited[resource] = true
			if len(remove) == 0 {
				dropRule = true
				break
			}
			for _, v := range remove {
				if !slices.Contains(verbs, v) {
					t.Fatalf("the shipped rule for %s has no verb %s: %v", resource, v, verbs)
				}
			}
			verbs = slices.DeleteFunc(verbs, func(v string) bool { return slices.Contains(remove, v) })
			rule["verbs"] = toAny(verbs)
		}
		if dropRule {
			continue
		}
		kept = append(kept, rule)
		for _, g := range groups {
			for _, res := range resources {
				for _, v := range verbs {
					granted = append(granted, authorizationv1.ResourceAttributes{Namespace: e.namespace, Group: g, Resource: res, Verb: v})
				}
			}
		}
	}
	for resource := range change.remove {
		if !edited[resource] {
			t.Fatalf("the shipped Role %s has no rule for %s", faultRole, resource)
		}
	}
	if err := unstructured.SetNestedSlice(role.Object, kept, "rules"); err != nil {
		t.Fatalf("edit rules: %v", err)
	}
	return granted
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// awaitAuthorized waits until the apiserver's RBAC cache allows the ServiceAccount everything granted, so a run
// does not race the Role's propagation.
func (e *env) awaitAuthorized(t *testing.T, granted []authorizationv1.ResourceAttributes) {
	t.Helper()
	reviews := e.kube.Clientset(t).AuthorizationV1().SubjectAccessReviews()
	user := "system:serviceaccount:" + e.namespace + ":" + serviceAccount
	ctx := binary.Deadline(t, 20*time.Second)
	for _, attrs := range granted {
		for {
			review, err := reviews.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, ResourceAttributes: &attrs,
			}}, metav1.CreateOptions{})
			if err == nil && review.Status.Allowed {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s is still not allowed to %s %s: %v", user, attrs.Verb, attrs.Resource, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// rbacRun is what a run under the ServiceAccount left behind.
type rbacRun struct {
	p       *process
	code    int
	result  chaosResult
	found   bool
	events  []kubeEvent
	stderr  string
	restore func(t *testing.T)
}

// runAsServiceAccount runs two 2 s cycles under a ChaosEngine (so a repeated restore event needs a patch) with
// the given kubeconfig and collects every effect the Role serves.
func (e *env) runAsServiceAccount(t *testing.T, kubeconfig string) rbacRun {
	t.Helper()
	e.createEngine(t, engineName)
	p, code := run(t, e.childEnv(t, kubeconfig, map[string]string{
		"CHAOSENGINE": engineName, "TOTAL_CHAOS_DURATION": "4", "CHAOS_INTERVAL": "2",
	}))
	r, found, err := e.getResult(binary.Deadline(t, 10*time.Second), engineResultName)
	if err != nil {
		t.Fatalf("read the ChaosResult: %v", err)
	}
	return rbacRun{p: p, code: code, result: r, found: found, events: e.eventsAbout(t, "ChaosEngine", engineName),
		stderr: p.Stderr.String(), restore: e.assertRestored}
}

// assertFullEffect checks every effect the fault Role serves: the result written and final, the engine read
// (the result names its UID), events on the engine with a repeated one counted.
func (e *env) assertFullEffect(t *testing.T, got rbacRun) {
	t.Helper()
	if got.code != 0 {
		t.Errorf("exit code %d, want 0", got.code)
	}
	if !got.found || got.result.state() != "Completed/Pass" {
		t.Errorf("ChaosResult found %v, %s; want Completed/Pass", got.found, got.result.state())
	}
	uid := e.engineUID(t)
	assertOwnedByEngine(t, got.result, uid)
	assertEventReasons(t, got.events, "PreChaosCheck", "ChaosInject", "PostChaosCheck", "Summary")
	if n := maxCount(got.events, "PostChaosCheck"); n != 2 {
		t.Errorf("PostChaosCheck count %d over two cycles, want 2", n)
	}
	if strings.Contains(got.stderr, "forbidden") {
		t.Errorf("the run was refused something:\n%s", got.stderr)
	}
	got.restore(t)
}

func (e *env) engineUID(t *testing.T) string {
	t.Helper()
	obj, err := e.admin.Resource(chaosEnginesGVR).Namespace(e.namespace).Get(binary.Deadline(t, 10*time.Second), engineName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read the ChaosEngine: %v", err)
	}
	return string(obj.GetUID())
}

// assertSays checks the binary's log names what it could not do.
func assertSays(t *testing.T, stderr string, fragments ...string) {
	t.Helper()
	stderr = strings.ReplaceAll(stderr, `\"`, `"`) // logrus quotes messages that contain quotes
	for _, f := range fragments {
		if !strings.Contains(stderr, f) {
			t.Errorf("the log does not say %q", f)
		}
	}
}

// TestShippedRBACIsEnough: the ServiceAccount of manifests/fault/rbac.yaml, with its own token, does everything a
// run needs; the probes Role is not needed when no probes are configured.
func TestShippedRBACIsEnough(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		change rbacChange
	}{
		{"as shipped", rbacChange{}},
		{"without the probes role", rbacChange{withoutProbes: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			got := e.runAsServiceAccount(t, e.applyRBAC(t, tt.change))
			e.assertFullEffect(t, got)
			logOnFailure(t, got.p)
		})
	}
}

// TestShippedRBACEveryRuleIsNeeded takes one rule (or one verb a behaviour needs) away from the fault Role at a
// time and checks the run loses exactly the effect that rule serves, and says so in its log.
func TestShippedRBACEveryRuleIsNeeded(t *testing.T) {
	t.Parallel()
	// refused: without reading or creating the ChaosResult, or reading the engine, nothing starts and nothing in
	// ECS changes. A result, if one could be written, may only say Error.
	refused := func(says ...string) func(*testing.T, *env, rbacRun) {
		return func(t *testing.T, e *env, got rbacRun) {
			// Under a ChaosEngine the pod exits 0 once an Error verdict is recorded; 2 when none could be.
			if want := map[bool]int{true: 0, false: 2}[got.found]; got.code != want {
				t.Errorf("exit code %d with a ChaosResult found %v, want %d", got.code, got.found, want)
			}
			if got.found && got.result.state() != "Error/Error" {
				t.Errorf("a ChaosResult %s was written", got.result.state())
			}
			for _, r := range e.sim.Requests() {
				if r.Mutating {
					t.Errorf("ECS was changed: %s %s", r.Operation, r.Summary)
				}
			}
			assertSays(t, got.stderr, append(says, "forbidden")...)
		}
	}
	// noEvents: the fault runs and passes, but Kubernetes shows no event about it.
	noEvents := func(t *testing.T, _ *env, got rbacRun) {
		if got.code != 0 || got.result.state() != "Completed/Pass" {
			t.Errorf("exit code %d, result %s; events are not worth failing the run", got.code, got.result.state())
		}
		if len(got.events) != 0 {
			t.Errorf("%d events were written: %v", len(got.events), reasons(got.events))
		}
		assertSays(t, got.stderr, "could not record a Kubernetes event", "forbidden")
		got.restore(t)
	}
	for _, tt := range []struct {
		name   string
		change rbacChange
		lost   func(*testing.T, *env, rbacRun)
	}{
		{"chaosresults rule", rbacChange{remove: map[string][]string{"chaosresults": nil}}, refused("cannot start the run")},
		{"chaosresults get", rbacChange{remove: map[string][]string{"chaosresults": {"get"}}}, refused("cannot start the run")},
		{"chaosresults create", rbacChange{remove: map[string][]string{"chaosresults": {"create"}}}, refused("cannot start the run", "create")},
		{"chaosresults update", rbacChange{remove: map[string][]string{"chaosresults": {"update"}}}, func(t *testing.T, _ *env, got rbacRun) {
			// The result is created at the start but can never say how the run ended: the exit code must not
			// claim a pass that nobody can read.
			if got.code != 3 {
				t.Errorf("exit code %d, want 3 (the final result could not be written)", got.code)
			}
			if !got.found || got.result.state() != "Running/Awaited" {
				t.Errorf("ChaosResult found %v, %s; want the start's Running/Awaited only", got.found, got.result.state())
			}
			assertSays(t, got.stderr, "writing the final ChaosResult failed", "forbidden")
			got.restore(t)
		}},
		{"events rule", rbacChange{remove: map[string][]string{"events": nil}}, noEvents},
		{"events create", rbacChange{remove: map[string][]string{"events": {"create"}}}, noEvents},
		{"events patch", rbacChange{remove: map[string][]string{"events": {"patch"}}}, func(t *testing.T, _ *env, got rbacRun) {
			// A repeated event cannot be counted: the second restore of two cycles is lost.
			if got.code != 0 || got.result.state() != "Completed/Pass" {
				t.Errorf("exit code %d, result %s", got.code, got.result.state())
			}
			assertEventReasons(t, got.events, "PreChaosCheck", "ChaosInject", "PostChaosCheck", "Summary")
			if n := maxCount(got.events, "PostChaosCheck"); n != 1 {
				t.Errorf("PostChaosCheck count %d, want 1 (the repeat needs patch)", n)
			}
			assertSays(t, got.stderr, "could not record a Kubernetes event", "PostChaosCheck", "forbidden")
		}},
		{"chaosengines rule", rbacChange{remove: map[string][]string{"chaosengines": nil}}, refused("read ChaosEngine")},
		{"chaosengines get", rbacChange{remove: map[string][]string{"chaosengines": {"get"}}}, refused("read ChaosEngine")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			got := e.runAsServiceAccount(t, e.applyRBAC(t, rbacChange{withoutProbes: true, remove: tt.change.remove}))
			tt.lost(t, e, got)
			logOnFailure(t, got.p)
		})
	}
}

// TestShippedRBACWithoutWatchSaysSo: without watch on chaosengines the stop still arrives, by re-reading the
// engine every few seconds, so the effect lost is a prompt stop; the log must say the watch was refused, or an
// operator cannot tell why a stop took seconds longer.
func TestShippedRBACWithoutWatchSaysSo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	kubeconfig := e.applyRBAC(t, rbacChange{withoutProbes: true, remove: map[string][]string{"chaosengines": {"watch"}}})
	e.createEngine(t, engineName)
	injected := simenv.OnInject(e.sim)
	p := start(t, e.childEnv(t, kubeconfig, map[string]string{
		"CHAOSENGINE": engineName, "TOTAL_CHAOS_DURATION": "60", "CHAOS_INTERVAL": "60",
	}))
	binary.Await(t, injected, 30*time.Second, "the inject UpdateService")
	stopped := e.stopEngine(t)
	if code := p.Wait(t); code != 0 {
		t.Errorf("exit code %d, want 0 (Stopped recorded under a ChaosEngine): the re-read must still find the stop", code)
	}
	t.Logf("without watch the restore started %s after engineState: stop", e.restoreStartedAt(t).Sub(stopped).Round(time.Millisecond))
	r := e.mustResult(t, engineResultName)
	assertError(t, r, "Stopped/Stopped", "", "engineState")
	e.assertRestored(t)
	assertSays(t, p.Stderr.String(), `cannot watch resource "chaosengines"`)
	logOnFailure(t, p)
}
