// Package binary builds the experiment binary and runs it the way the pod does: a separate process with exactly the
// environment the test gives it, bounded in time, signalled like the kubelet signals it. The process tests
// (test/e2e, test/kubefault, test/litmus, test/reliability) and the benchmark (bench/cmd/ecsbench) share it.
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

// Flavor is how Build compiles the binary. The go build flags of each flavor are written here and nowhere else in
// this module's Go code; in shell, the Dockerfile and `make build` compile the shipped binary (with its version) and
// bench/run.sh keeps bin/experiment-bench, which BENCHMARKS.md's commands reuse.
type Flavor int

const (
	// Race compiles with the race detector (-race), so that Process.Wait fails a test on a data race in the
	// binary: the process tests that check behaviour (test/e2e, test/kubefault, test/litmus).
	Race Flavor = iota
	// Image compiles as the Dockerfile does (CGO_ENABLED=0, -trimpath, -ldflags "-s -w"), without the version
	// stamp: what stresses or measures the shipped binary (test/reliability, bench/cmd/ecsbench), where the race
	// detector's cost in time and memory would change the figures.
	Image
)

// flags returns the flavor's environment additions and go build flags.
func (f Flavor) flags() (env, args []string) {
	if f == Image {
		return []string{"CGO_ENABLED=0"}, []string{"-trimpath", "-ldflags", "-s -w"}
	}
	return nil, []string{"-race"}
}

// Build compiles ./experiment of the module rooted at moduleDir into out.
func Build(ctx context.Context, f Flavor, moduleDir, out string) error {
	env, flags := f.flags()
	args := append(append([]string{"build"}, flags...), "-o", out, "./experiment")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.TrimSpace(strings.Join(env, " ")+" go "+strings.Join(args, " ")), err, msg)
	}
	return nil
}

// ModuleRoot is the directory of this module's go.mod, found from the working directory (a test's is its
// package's).
func ModuleRoot(ctx context.Context) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root with go env GOMOD: %w", err)
	}
	path := strings.TrimSpace(string(gomod))
	if path == "" || path == os.DevNull {
		return "", fmt.Errorf("go env GOMOD names no go.mod (%q): not inside this module", path)
	}
	return filepath.Dir(path), nil
}

// buildTemp builds the binary into a new temporary directory; remove deletes it.
func buildTemp(ctx context.Context, f Flavor) (path string, remove func(), err error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "experiment-")
	if err != nil {
		return "", nil, fmt.Errorf("make a directory for the binary: %w", err)
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "experiment")
	if err := Build(ctx, f, root, path); err != nil {
		remove()
		return "", nil, err
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
	p.cmd.Env = EnvList(env)
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

// Kill sends SIGKILL: no handler runs, nothing is restored or written. Unlike Signal it may be called from any
// goroutine (a simulator hook, a timer) and ignores a process that has already ended.
func (p *Process) Kill() { _ = p.cmd.Process.Kill() }

// Signal sends sig to the process and returns when it was sent.
func (p *Process) Signal(t testing.TB, sig syscall.Signal) time.Time {
	t.Helper()
	sent := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v: %v", sig, err)
	}
	return sent
}

// EnvList is env in the form exec.Cmd.Env takes, sorted.
func EnvList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// Main is a test package's TestMain body: it builds the binary of flavor f, hands its path to use, runs the tests
// and returns their exit code. A failed build fails the package: a test of the binary that cannot build it must not
// pass.
func Main(m *testing.M, pkg string, f Flavor, use func(path string)) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	path, remove, err := buildTemp(ctx, f)
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

// Await waits for c to be closed, or fails the test after d; what names the awaited event in the failure.
func Await(t testing.TB, c <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
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
