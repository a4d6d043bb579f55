// Package binary builds the experiment binary once for a test package and runs it the way the pod does: a separate
// process with exactly the environment the test gives it, bounded in time, signalled like the kubelet signals it.
// test/e2e and test/kubefault share it.
package binary

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Build builds ./experiment of this module with the race detector into a new temporary directory; remove deletes it.
// A test package that cannot build the binary must fail, not skip.
func Build(ctx context.Context) (path string, remove func(), err error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	root := strings.TrimSpace(string(gomod))
	if err != nil || root == "" || root == os.DevNull {
		return "", nil, fmt.Errorf("cannot find the module root with go env GOMOD: %v", err)
	}
	dir, err := os.MkdirTemp("", "experiment-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "experiment")
	build := exec.CommandContext(ctx, "go", "build", "-race", "-o", path, "./experiment")
	build.Dir = filepath.Dir(root)
	if out, err := build.CombinedOutput(); err != nil {
		remove()
		return "", nil, fmt.Errorf("go build -race ./experiment: %v\n%s", err, out)
	}
	return path, remove, nil
}

// Process is one run of the binary. Stdout and Stderr are complete once Done is closed.
type Process struct {
	cmd    *exec.Cmd
	Stdout bytes.Buffer
	Stderr bytes.Buffer
	// ExitedAt is set before Done is closed.
	ExitedAt time.Time
	done     chan struct{}
	waitErr  error
}

// Start runs the binary at path with exactly env as its environment. The process is killed when timeout passes or
// the test ends.
func Start(t testing.TB, path string, env map[string]string, timeout time.Duration, args ...string) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	p := &Process{done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, path, args...)
	p.cmd.Env = envList(env)
	p.cmd.Stdout = &p.Stdout
	p.cmd.Stderr = &p.Stderr
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", path, err)
	}
	go func() {
		defer cancel()
		p.waitErr = p.cmd.Wait()
		p.ExitedAt = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

// Done is closed once the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait returns the exit code (-1 when a signal killed the process) once the process has ended, and fails the test
// when the race detector reported a data race in the binary.
func (p *Process) Wait(t testing.TB) int {
	t.Helper()
	<-p.done
	if p.cmd.ProcessState == nil {
		t.Fatalf("experiment did not run: %v", p.waitErr)
	}
	if strings.Contains(p.Stderr.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector reported a data race in the binary:\n%s", p.Stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends sig to the process and returns when it was sent.
func (p *Process) Signal(t testing.TB, sig syscall.Signal) time.Time {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v: %v", sig, err)
	}
	return sent
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// Main is a test package's TestMain body: it builds the binary, hands its path to use, runs the tests and returns
// their exit code. A failed build fails the package: a test of the binary that cannot build it must not pass.
func Main(m *testing.M, pkg string, use func(path string)) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	path, remove, err := Build(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", pkg, err)
		return 1
	}
	defer remove()
	use(path)
	return m.Run()
}

// Deadline is a context for one step of a test: cancelled after d or when the test ends.
func Deadline(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// PodEnv is the pod's environment for a process test and nothing else: only what is set here reaches the child
// (no KUBECONFIG, no KUBERNETES_SERVICE_HOST, no AWS variables of the machine), with the fake static credentials
// accessKey/secretKey, a HOME without ~/.aws, ecsURL as the ECS endpoint, the target cluster/service, a fault of one
// 3 s cycle and overrides on top.
func PodEnv(t testing.TB, accessKey, secretKey, ecsURL, cluster, service string, overrides map[string]string) map[string]string {
	env := map[string]string{
		"PATH":                             os.Getenv("PATH"),
		"HOME":                             t.TempDir(),
		"AWS_ACCESS_KEY_ID":                accessKey,
		"AWS_SECRET_ACCESS_KEY":            secretKey,
		"AWS_ENDPOINT_URL_ECS":             ecsURL,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"CLUSTER_NAME":                     cluster,
		"SERVICE_NAME":                     service,
		"REGION":                           "us-east-1",
		"TASK_REPLICA_AFFECTED_PERC":       "50",
		"TOTAL_CHAOS_DURATION":             "3",
		"CHAOS_INTERVAL":                   "3",
		"STATUS_CHECK_DELAY":               "1",
		"STATUS_CHECK_TIMEOUT":             "30",
		"TERMINATION_GRACE_PERIOD_SECONDS": "10",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return env
}
