package kubefault

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// TestFullRunResultGoesFromAwaitedToPass watches the ChaosResult while the binary runs: Litmus tooling must see
// the run as Running/Awaited, then Completed/Pass with the service reverted and the observations stored.
func TestFullRunResultGoesFromAwaitedToPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := start(t, e.childEnv(t, e.kubeconfig(t, ""), nil))
	states := e.resultStates(experimentName, p.Done())
	code := p.Wait(t)
	seen := states()
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if len(seen) < 2 || seen[0] != "Running/Awaited" || seen[len(seen)-1] != "Completed/Pass" {
		t.Errorf("ChaosResult went through %v, want Running/Awaited first and Completed/Pass last", seen)
	}
	r := e.mustResult(t, experimentName)
	if r.state() != "Completed/Pass" {
		t.Errorf("final ChaosResult %s, want Completed/Pass", r.state())
	}
	assertTarget(t, r, "reverted")
	fs := r.Status.FaultStatus
	switch {
	case fs == nil || len(fs.Services) != 1:
		t.Errorf("status.faultStatus %+v, want one service's observations", fs)
	case fs.Services[0].Observations.FailedTasks == 0 || !strings.HasPrefix(fs.Services[0].Observations.FirstFailureReason, "CannotPullContainerError"):
		t.Errorf("faultStatus observations %+v, want failed chaos tasks with a CannotPullContainerError", fs.Services[0].Observations)
	case fs.Outcome == "" || !fs.Services[0].Effective:
		t.Errorf("faultStatus outcome %q effective %v", fs.Outcome, fs.Services[0].Effective)
	}
	if r.Status.History.PassedRuns != 1 {
		t.Errorf("passedRuns %d, want 1", r.Status.History.PassedRuns)
	}
	e.assertRestored(t)
	if strings.Contains(p.Stdout.String()+p.Stderr.String()+e.rawResult(t, experimentName), fakeSecretKey) {
		t.Errorf("the secret access key reached the log or the result")
	}
	logOnFailure(t, p)
}

// TestRefusedRunEndsError: a service that does not exist is refused by preflight; the result must say Error with
// a code and a reason, never stay Awaited.
func TestRefusedRunEndsError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, code := run(t, e.childEnv(t, e.kubeconfig(t, ""), map[string]string{"SERVICE_NAME": "no-such-service"}))
	if code != 2 {
		t.Errorf("exit code %d, want 2 (refused)", code)
	}
	r := e.mustResult(t, experimentName)
	assertError(t, r, "Error/Error", "PRE_CHAOS_CHECK_ERROR", "no-such-service")
	if r.Status.History.FailedRuns != 1 {
		t.Errorf("failedRuns %d, want 1", r.Status.History.FailedRuns)
	}
	logOnFailure(t, p)
}

// TestImpossibleRestoreEndsError: once the fault has injected, UpdateService is denied, so the restore cannot
// happen; the result must say Error naming the revert, not Awaited and not Pass.
func TestImpossibleRestoreEndsError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	injected := simenv.OnInject(e.sim)
	go func() {
		<-injected
		e.sim.SetFault("UpdateService", ecssim.Fault{Error: &ecssim.APIError{Code: "AccessDeniedException",
			Message: "User is not authorized to perform: ecs:UpdateService"}})
	}()
	p, code := run(t, e.childEnv(t, e.kubeconfig(t, ""), nil))
	if code != 4 {
		t.Errorf("exit code %d, want 4 (restore failed)", code)
	}
	r := e.mustResult(t, experimentName)
	// The reason is what an operator acts on: it names the revision to roll back to.
	assertError(t, r, "Error/Error", "CHAOS_REVERT_ERROR", aws.ToString(e.original.TaskDefinition))
	for _, target := range r.Status.History.Targets {
		if target.ChaosStatus == "reverted" {
			t.Errorf("target %s says reverted after a failed restore", target.Name)
		}
	}
	logOnFailure(t, p)
}

// TestSIGTERMDuringHoldEndsStopped: the pod is deleted mid-hold; the result says Stopped and counts the run.
func TestSIGTERMDuringHoldEndsStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	inHold := simenv.OnHold(e.sim, 2)
	p := start(t, e.childEnv(t, e.kubeconfig(t, ""), map[string]string{"TOTAL_CHAOS_DURATION": "60", "CHAOS_INTERVAL": "60"}))
	binary.Await(t, inHold, 30*time.Second, "the inject UpdateService and two polls")
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t); code != 5 {
		t.Errorf("exit code %d, want 5 (stopped)", code)
	}
	r := e.mustResult(t, experimentName)
	assertError(t, r, "Stopped/Stopped", "", "SIGTERM")
	if r.Status.History.StoppedRuns != 1 {
		t.Errorf("stoppedRuns %d, want 1", r.Status.History.StoppedRuns)
	}
	e.assertRestored(t)
	logOnFailure(t, p)
}

// TestSequentialRunsCountPasses: three runs with the same result name add up in the history.
func TestSequentialRunsCountPasses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	kubeconfig := e.kubeconfig(t, "")
	for i := 1; i <= 3; i++ {
		p, code := run(t, e.childEnv(t, kubeconfig, map[string]string{"TOTAL_CHAOS_DURATION": "2", "CHAOS_INTERVAL": "2"}))
		if code != 0 {
			t.Fatalf("run %d: exit code %d, want 0\n%s", i, code, p.Stderr.String())
		}
	}
	h := e.mustResult(t, experimentName).Status.History
	if h.PassedRuns != 3 || h.FailedRuns != 0 || h.StoppedRuns != 0 {
		t.Errorf("history passed/failed/stopped %d/%d/%d, want 3/0/0", h.PassedRuns, h.FailedRuns, h.StoppedRuns)
	}
}

func assertTarget(t *testing.T, r chaosResult, status string) {
	t.Helper()
	targets := r.Status.History.Targets
	if len(targets) != 1 || targets[0].Name != serviceName || targets[0].ChaosStatus != status {
		t.Errorf("status.history.targets %+v, want %s %s", targets, serviceName, status)
	}
}

// assertError checks the final state and its errorOutput; empty code or reason fragments are not checked, but an
// errorOutput must exist with a non-empty code and reason.
func assertError(t *testing.T, r chaosResult, state, code, reasonHas string) {
	t.Helper()
	if r.state() != state {
		t.Errorf("ChaosResult %s, want %s", r.state(), state)
	}
	out := r.Status.ExperimentStatus.ErrorOutput
	if out == nil || out.ErrorCode == "" || out.Reason == "" {
		t.Errorf("errorOutput %+v, want a code and a reason", out)
		return
	}
	if code != "" && out.ErrorCode != code {
		t.Errorf("errorOutput.errorCode %q, want %q", out.ErrorCode, code)
	}
	if !strings.Contains(out.Reason, reasonHas) {
		t.Errorf("errorOutput.reason %q, want it to mention %q", out.Reason, reasonHas)
	}
}

func logOnFailure(t *testing.T, p *process) {
	t.Helper()
	if t.Failed() {
		t.Logf("stderr of the binary:\n%s", p.Stderr.String())
	}
}

// TestInvalidInputEndsError: bad tunables end the run before any AWS call, and the result says so.
func TestInvalidInputEndsError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, code := run(t, e.childEnv(t, e.kubeconfig(t, ""), map[string]string{"TOTAL_CHAOS_DURATION": "soon"}))
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	assertError(t, e.mustResult(t, experimentName), "Error/Error", "", "TOTAL_CHAOS_DURATION")
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("%d ECS calls after invalid input, want none", n)
	}
	logOnFailure(t, p)
}
