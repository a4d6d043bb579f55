package reliability

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
)

// experimentBinary is the binary built once by TestMain, as the image builds it; nothing writes it afterwards.
var experimentBinary string

func TestMain(m *testing.M) {
	os.Exit(binary.Main(m, "reliability", binary.Image, func(path string) { experimentBinary = path }))
}

// binaryEnv is the pod's environment for the binary against the simulator (binary.PodEnv: nothing inherited, so no
// KUBECONFIG, KUBERNETES_SERVICE_HOST or developer AWS setting can leak in), with HOME, the ChaosResult file and
// an AWS config file that does not exist in dir, a fault of one 2 s cycle (ecssim.ShortCycleTiming) and a 30 s
// grace period. overrides win over the defaults.
func binaryEnv(t *testing.T, dir, endpoint string, services []string, overrides map[string]string) map[string]string {
	env := binary.PodEnv(t, "AKIDRELIABILITY", "reliability-fake-secret", endpoint, clusterName, strings.Join(services, ","), map[string]string{
		"HOME":                             dir,
		"AWS_REGION":                       "us-east-1",
		"AWS_CONFIG_FILE":                  filepath.Join(dir, "no-aws-config"),
		"TOTAL_CHAOS_DURATION":             "2",
		"CHAOS_INTERVAL":                   "2",
		"RESULT_FILE":                      filepath.Join(dir, "result.yaml"),
		"TERMINATION_GRACE_PERIOD_SECONDS": "30",
	})
	maps.Copy(env, overrides)
	return env
}

// binaryRun is one finished process of the binary.
type binaryRun struct {
	stdout, stderr string
	code           int
}

// runBinary runs the binary to its end (killed after binaryTimeout) and returns its output and exit code.
func runBinary(t *testing.T, env map[string]string, args ...string) binaryRun {
	t.Helper()
	started := time.Now()
	p := binary.Start(t, experimentBinary, env, binaryTimeout, args...)
	code := p.Wait(t)
	if code == -1 && p.ExitedAt.Sub(started) >= binaryTimeout {
		t.Fatalf("%s %v did not end within %s\nstderr:\n%s", experimentBinary, args, binaryTimeout, p.Stderr.String())
	}
	return binaryRun{stdout: p.Stdout.String(), stderr: p.Stderr.String(), code: code}
}
