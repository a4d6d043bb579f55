package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// experimentBinary is the binary built once by TestMain; nothing writes it afterwards.
var experimentBinary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

// buildAndRun builds ./experiment as the image does and runs the tests. A failed build fails the package: a test
// of the binary that cannot build it must not pass.
func buildAndRun(m *testing.M) int {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if err != nil || root == "." || strings.TrimSpace(string(gomod)) == os.DevNull {
		fmt.Fprintf(os.Stderr, "reliability: cannot find the module root with go env GOMOD: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "reliability-experiment-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "reliability: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	experimentBinary = filepath.Join(dir, "experiment")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", experimentBinary, "./experiment")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "reliability: go build ./experiment: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// fastTiming makes the simulated data plane take 100-500 ms, so a binary run on the wall clock with
// TOTAL_CHAOS_DURATION 2 sees chaos tasks fail and the restore complete within seconds.
func fastTiming() ecssim.Timing {
	return ecssim.Timing{
		Provisioning: 100 * time.Millisecond, PendingToRunning: 200 * time.Millisecond, PullFailure: 500 * time.Millisecond,
		StopDuration: 100 * time.Millisecond, LaunchBackoff: 500 * time.Millisecond,
	}
}

// binaryEnv is the environment of the binary against the simulator: an explicit list (nothing inherited), so no
// KUBECONFIG, KUBERNETES_SERVICE_HOST or developer AWS setting can leak in. extra entries win over the defaults.
func binaryEnv(dir, endpoint string, services []string, extra ...string) []string {
	env := map[string]string{
		"HOME":                             dir,
		"AWS_ENDPOINT_URL_ECS":             endpoint,
		"AWS_ACCESS_KEY_ID":                "AKIDRELIABILITY",
		"AWS_SECRET_ACCESS_KEY":            "reliability-fake-secret",
		"AWS_REGION":                       "us-east-1",
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  filepath.Join(dir, "no-aws-config"),
		"CLUSTER_NAME":                     clusterName,
		"SERVICE_NAME":                     strings.Join(services, ","),
		"TOTAL_CHAOS_DURATION":             "2",
		"CHAOS_INTERVAL":                   "2",
		"STATUS_CHECK_DELAY":               "1",
		"STATUS_CHECK_TIMEOUT":             "30",
		"TASK_REPLICA_AFFECTED_PERC":       "50",
		"RESULT_FILE":                      filepath.Join(dir, "result.yaml"),
		"TERMINATION_GRACE_PERIOD_SECONDS": "30",
	}
	for _, kv := range extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok { // a bare name removes the variable
			delete(env, k)
			continue
		}
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// binaryRun is one finished process of the binary.
type binaryRun struct {
	stdout, stderr string
	code           int
}

// runBinary runs the binary to its end (bounded by ctx) and returns its output and exit code.
func runBinary(ctx context.Context, t *testing.T, env []string, args ...string) binaryRun {
	t.Helper()
	cmd := exec.CommandContext(ctx, experimentBinary, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	run := binaryRun{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %s %v: %v\nstderr:\n%s", experimentBinary, args, err, run.stderr)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not end in time\nstderr:\n%s", experimentBinary, args, run.stderr)
	}
	return run
}
