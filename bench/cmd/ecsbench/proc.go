package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// Fake credentials: the simulator accepts any signature; these never leave the machine.
const (
	fakeAccessKey = "AKIDBENCHMARKFAKE000"
	fakeSecretKey = "bench-fake-secret"
)

// faultRun describes one execution of the experiment binary.
type faultRun struct {
	Binary   string
	WorkDir  string
	Name     string // file names in WorkDir: <Name>.stderr, <Name>.result.yaml
	Endpoint string
	Cluster  string
	Services []string
	Duration int // TOTAL_CHAOS_DURATION and CHAOS_INTERVAL, seconds
	Delay    int // STATUS_CHECK_DELAY, seconds
	Timeout  int // STATUS_CHECK_TIMEOUT, seconds
	// KubeEnv, when set, replaces RESULT_FILE: the result goes to the Kubernetes API it names (KUBECONFIG...).
	KubeEnv []string
}

func (f faultRun) env() []string {
	output := []string{"RESULT_FILE=" + filepath.Join(f.WorkDir, f.Name+".result.yaml")}
	if f.KubeEnv != nil {
		output = f.KubeEnv
	}
	return append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + f.WorkDir, // no ~/.aws of the machine's user
		"CLUSTER_NAME=" + f.Cluster,
		"SERVICE_NAME=" + strings.Join(f.Services, ","),
		"REGION=us-east-1",
		"TOTAL_CHAOS_DURATION=" + strconv.Itoa(f.Duration),
		"CHAOS_INTERVAL=" + strconv.Itoa(f.Duration),
		"STATUS_CHECK_DELAY=" + strconv.Itoa(f.Delay),
		"STATUS_CHECK_TIMEOUT=" + strconv.Itoa(f.Timeout),
		"AWS_ENDPOINT_URL_ECS=" + f.Endpoint,
		"AWS_ENDPOINT_URL=" + f.Endpoint, // nothing may reach a real AWS endpoint
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=" + fakeAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + fakeSecretKey,
		"LOG_LEVEL=info",
	}, output...)
}

// procResult is what a finished process left behind.
type procResult struct {
	Start    time.Time // just before fork/exec
	End      time.Time // when wait returned
	ExitCode int
	MaxRSSKB int64 // wait4's rusage ru_maxrss: the child's peak resident set
	Verdict  string
	Phase    string
	Stderr   string // path of the captured log
}

func (p procResult) wall() time.Duration { return p.End.Sub(p.Start) }

// running is a started process.
type running struct {
	cmd    *exec.Cmd
	start  time.Time
	stderr *os.File
	run    faultRun
}

func startFault(ctx context.Context, f faultRun) (*running, error) {
	errFile, err := os.Create(filepath.Join(f.WorkDir, f.Name+".stderr"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, f.Binary)
	cmd.Env = f.env()
	cmd.Stdout = errFile
	cmd.Stderr = errFile
	cmd.Dir = f.WorkDir
	// The harness's own cancellation (its deadline) kills the process; a benchmark signal is sent explicitly.
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	start := time.Now()
	if err := cmd.Start(); err != nil {
		_ = errFile.Close()
		return nil, fmt.Errorf("start %s: %w", f.Binary, err)
	}
	return &running{cmd: cmd, start: start, stderr: errFile, run: f}, nil
}

func (r *running) signal(sig os.Signal) error { return r.cmd.Process.Signal(sig) }

// wait waits for the process and reads its result file.
func (r *running) wait() (procResult, error) {
	err := r.cmd.Wait()
	end := time.Now()
	_ = r.stderr.Close()
	res := procResult{Start: r.start, End: end, ExitCode: -1, Stderr: r.stderr.Name()}
	if st := r.cmd.ProcessState; st != nil {
		res.ExitCode = st.ExitCode()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSKB = ru.Maxrss
		}
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return res, fmt.Errorf("wait for %s: %w", r.run.Binary, err)
	}
	res.Phase, res.Verdict = readVerdict(filepath.Join(r.run.WorkDir, r.run.Name+".result.yaml"))
	return res, nil
}

// readVerdict returns the ChaosResult's phase and verdict, or "?" when the file is missing or unreadable.
func readVerdict(path string) (phase, verdict string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "?", "?"
	}
	var doc struct {
		Status struct {
			ExperimentStatus struct {
				Phase   string `json:"phase"`
				Verdict string `json:"verdict"`
			} `json:"experimentStatus"`
		} `json:"status"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "?", "?"
	}
	return doc.Status.ExperimentStatus.Phase, doc.Status.ExperimentStatus.Verdict
}

// countLines counts the lines of a file that contain substr (the fault's log is one event per line).
func countLines(path, substr string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n := 0
	for line := range strings.Lines(string(raw)) {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// writeWire saves a run's calls as tab-separated lines (milliseconds from process start, operation, service,
// task definition, status, error code, client), so a figure can be traced back to the calls behind it.
func writeWire(path string, calls []call, start time.Time) error {
	var b strings.Builder
	b.WriteString("ms\top\tservice\ttaskDefinition\tstatus\terror\tclient\n")
	for _, c := range calls {
		service := c.Service
		if service == "" {
			service = strings.Join(c.Services, ",")
		}
		fmt.Fprintf(&b, "%.1f\t%s\t%s\t%s\t%d\t%s\t%s\n", float64(c.Sent.Sub(start))/float64(time.Millisecond),
			c.Op, service, lastSegment(c.TaskDefinition), c.Status, c.ErrorCode, c.Client)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
