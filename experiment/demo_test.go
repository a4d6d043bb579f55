package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// The pod's binary embeds the simulator for `demo`; neither the testing package nor net/http/httptest may come with
// it (testing registers its flags and both are test-only code in a production image).
func TestBinaryLinksNoTestPackages(t *testing.T) {
	for _, dep := range binaryDeps(t) {
		if dep == "testing" || dep == "net/http/httptest" {
			t.Errorf("the experiment binary links %s", dep)
		}
	}
}

// The pod image stays small: text/template (also under html/template) calls reflect.Value.MethodByName, which
// makes the linker keep every exported method of every reachable type, 7 MB more binary. pkg/report writes its
// page by hand for that reason.
func TestBinaryLinksNoTemplatePackage(t *testing.T) {
	for _, dep := range binaryDeps(t) {
		if dep == "text/template" || dep == "html/template" {
			t.Errorf("the experiment binary links %s (go list -deps . | grep template; see pkg/report/page.go)", dep)
		}
	}
}

// binaryDeps lists every package the experiment binary links.
func binaryDeps(t *testing.T) []string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), out)
	}
	return deps
}

func runDemo(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = dispatch(t.Context(), append([]string{"demo"}, args...), &out, &errOut, lookup)
	return code, out.String(), errOut.String()
}

var lowestRE = regexp.MustCompile(`originalRunningLowest: (\d+)`)

// Issue 12's rehearsal, as a new user would run it: `experiment demo --shape NAME` ends as a real run would on that
// shape, with the ChaosResult on stdout.
func TestDemoShapes(t *testing.T) {
	cases := []struct {
		shape    string
		env      map[string]string
		wantCode ecsimage.Outcome
		check    func(t *testing.T, stdout, stderr string)
	}{
		{shape: "daemon", wantCode: ecsimage.OutcomeRefused, check: func(t *testing.T, _, stderr string) {
			if !strings.Contains(stderr, "lower TASK_REPLICA_AFFECTED_PERC") {
				t.Errorf("refusal does not name the tunable:\n%s", stderr)
			}
		}},
		{shape: "daemon", env: map[string]string{"TASK_REPLICA_AFFECTED_PERC": "50"}, wantCode: ecsimage.OutcomePass, check: func(t *testing.T, stdout, _ string) {
			m := lowestRE.FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("no originalRunningLowest in the ChaosResult:\n%s", stdout)
			}
			if n, _ := strconv.Atoi(m[1]); n < 2 {
				t.Errorf("the daemon kept %d of 4 tasks, want at least half", n)
			}
		}},
		{shape: "blue-green", wantCode: ecsimage.OutcomePass},
		{shape: "linear", wantCode: ecsimage.OutcomePass},
		{shape: "canary", wantCode: ecsimage.OutcomePass},
		{shape: "lifecycle-hooks", wantCode: ecsimage.OutcomePass},
		// The tag moves right after the inject: the restore must bring back the digest that ran before (issue 13:
		// StopServiceDeployment returns to the previous service revision with its digests).
		{shape: "version-consistency", wantCode: ecsimage.OutcomePass, check: func(t *testing.T, stdout, _ string) {
			for _, field := range []string{"digestsBefore", "digestsAfter"} {
				if !regexp.MustCompile(field + `:\s+app:\s+- ` + ecssim.VersionConsistencyBefore).MatchString(stdout) {
					t.Errorf("%s is not the digest that ran before the fault (%s):\n%s", field, ecssim.VersionConsistencyBefore, stdout)
				}
			}
			if strings.Contains(stdout, ecssim.VersionConsistencyAfter) {
				t.Errorf("the moved tag's digest %s runs after the restore", ecssim.VersionConsistencyAfter)
			}
		}},
		{shape: "fargate", wantCode: ecsimage.OutcomePass, check: func(t *testing.T, stdout, _ string) {
			if !strings.Contains(stdout, "stalled: true") && !strings.Contains(stdout, "effective: true") {
				t.Errorf("effect neither confirmed nor stalled:\n%s", stdout)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.shape+"/"+tc.env["TASK_REPLICA_AFFECTED_PERC"], func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runDemo(t, tc.env, "--shape", tc.shape)
			if code != int(tc.wantCode) {
				t.Fatalf("exit %d, want %d (%v)\nstderr:\n%s", code, tc.wantCode, tc.wantCode, stderr)
			}
			if tc.wantCode == ecsimage.OutcomePass && (!strings.Contains(stdout, "verdict: Pass") || !strings.Contains(stderr, "(original: true)")) {
				t.Errorf("not Pass and restored to the original revision:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
			if tc.check != nil {
				tc.check(t, stdout, stderr)
			}
		})
	}
}

func TestDemoListShapesAndBadShape(t *testing.T) {
	code, stdout, _ := runDemo(t, nil, "--list-shapes")
	if code != 0 {
		t.Fatalf("--list-shapes exit %d", code)
	}
	for _, sh := range ecssim.Shapes() {
		if !strings.Contains(stdout, sh.Name+" ") {
			t.Errorf("--list-shapes does not name %s:\n%s", sh.Name, stdout)
		}
	}
	code, _, stderr := runDemo(t, nil, "--shape", "kubernetes")
	if code != int(ecsimage.OutcomeRefused) || !strings.Contains(stderr, "allowed: rolling, rolling-breaker") {
		t.Errorf("unknown shape: exit %d, %s", code, stderr)
	}
}
