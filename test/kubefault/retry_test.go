package kubefault

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// The Job chaos-runner builds keeps Kubernetes' default backoffLimit of 6 (chaos-runner 3.18.0
// pkg/utils/builders.go sets none), so a pod that fails is started again with the same environment, JOB_UID
// included. These tests play that retry by running the binary twice with one JOB_UID, as the Job controller
// would, against the real apiserver and the ECS simulator.

const jobUID = "3b0f5e2c-7d1a-4c8e-9f60-5a2b1c3d4e5f"

func (e *env) mutations() int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Mutating && r.ErrorCode == "" {
			n++
		}
	}
	return n
}

// TestVerdictFailUnderEngineExitsZeroAndARetryChangesNothing: under a ChaosEngine a Fail verdict is recorded and
// the pod exits 0 (chaos-runner treats a failed pod as a watch error and never reads the result). Should the pod
// run again anyway (a Job retry of the same Job uid), it sees the ended run in the ChaosResult, changes nothing
// in ECS, records nothing and exits 0: the first verdict stays.
func TestVerdictFailUnderEngineExitsZeroAndARetryChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createEngine(t, engineName)
	vars := e.childEnv(t, e.kubeconfig(t, ""), map[string]string{
		"CHAOSENGINE": engineName, "JOB_UID": jobUID, "POD_NAME": "fault-first",
		"EXPECT_HEALTHY_TASKS": "99", // the service has 2 tasks: the expectation fails, the verdict is Fail
	})
	p, code := run(t, vars)
	if code != 0 {
		t.Errorf("exit code %d, want 0: the Fail verdict is recorded", code)
	}
	first := e.mustResult(t, engineResultName)
	if first.state() != "Completed_With_Probe_Failure/Fail" {
		t.Fatalf("ChaosResult %s, want Completed_With_Probe_Failure/Fail", first.state())
	}
	e.assertRestored(t)
	registered, mutated := simenv.Succeeded(e.sim, "RegisterTaskDefinition"), e.mutations()
	if registered != 1 {
		t.Errorf("%d chaos revisions registered by the first pod, want 1", registered)
	}
	logOnFailure(t, p)

	vars["POD_NAME"] = "fault-retry"
	retry, code := run(t, vars)
	if code != 0 {
		t.Errorf("the retried pod exited %d, want 0", code)
	}
	if n := e.mutations(); n != mutated {
		t.Errorf("the retried pod changed ECS %d time(s), want never", n-mutated)
	}
	again := e.mustResult(t, engineResultName)
	if again.state() != first.state() || again.Status.History.FailedRuns != 1 || again.Status.History.PassedRuns != 0 {
		t.Errorf("after the retry: %s, history %+v; want the first verdict and one failed run", again.state(), again.Status.History)
	}
	if !strings.Contains(retry.Stderr.String(), "already ran run") {
		t.Errorf("the retried pod does not say why it did nothing:\n%s", retry.Stderr.String())
	}
	e.assertRestored(t)
	logOnFailure(t, retry)
}

// TestRetryAfterKillMidHoldRestoresWithoutInjecting: the first pod is SIGKILLed mid-hold (OOM, eviction, a lost
// node) and leaves the service on its chaos revision. A pod of another Job refuses and leaves that revision
// alone; the retried pod of the same Job restores the service the way `recover` does, registers nothing, and
// records Error saying so. A later Job of the same engine then runs normally.
func TestRetryAfterKillMidHoldRestoresWithoutInjecting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createEngine(t, engineName)
	vars := e.childEnv(t, e.kubeconfig(t, ""), map[string]string{
		"CHAOSENGINE": engineName, "JOB_UID": jobUID, "POD_NAME": "fault-first",
		"TOTAL_CHAOS_DURATION": "60", "CHAOS_INTERVAL": "60",
	})
	inHold := simenv.OnHold(e.sim, 1)
	p := start(t, vars)
	binary.Await(t, inHold, 30*time.Second, "the hold")
	p.Signal(t, syscall.SIGKILL)
	p.Wait(t)
	if got := aws.ToString(e.service(t).TaskDefinition); got == aws.ToString(e.original.TaskDefinition) {
		t.Fatalf("the killed pod left the service on %s, the original: the test needs it on the chaos revision", got)
	}
	if r := e.mustResult(t, engineResultName); r.state() != "Running/Awaited" {
		t.Fatalf("the killed pod left the ChaosResult %s, want Running/Awaited", r.state())
	}

	other := e.childEnv(t, e.kubeconfig(t, ""), map[string]string{
		"CHAOSENGINE": engineName, "JOB_UID": "9d8c7b6a-0000-4000-8000-000000000001", "POD_NAME": "fault-other",
	})
	before := e.mutations()
	o, code := run(t, other)
	if code != 0 || e.mutations() != before {
		t.Errorf("a pod of another Job exited %d and changed ECS %d time(s); want 0 and never", code, e.mutations()-before)
	}
	assertError(t, e.mustResult(t, engineResultName), "Error/Error", "PRE_CHAOS_CHECK_ERROR", "recover")
	logOnFailure(t, o)

	vars["POD_NAME"] = "fault-retry"
	retry, code := run(t, vars)
	if code != 0 {
		t.Errorf("the retried pod exited %d, want 0 (its Error verdict is recorded)", code)
	}
	e.assertRestored(t)
	if got := e.service(t).DeploymentConfiguration; aws.ToInt32(got.MaximumPercent) != aws.ToInt32(e.original.DeploymentConfiguration.MaximumPercent) {
		t.Errorf("maximumPercent %d after the retry, want the original %d", aws.ToInt32(got.MaximumPercent), aws.ToInt32(e.original.DeploymentConfiguration.MaximumPercent))
	}
	if n := simenv.Succeeded(e.sim, "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d chaos revisions registered in all, want 1: the retry must not inject again", n)
	}
	assertError(t, e.mustResult(t, engineResultName), "Completed/Error", "CHAOS_INJECT_ERROR", "previous pod of this Job")
	logOnFailure(t, retry)

	next := e.childEnv(t, e.kubeconfig(t, ""), map[string]string{
		"CHAOSENGINE": engineName, "JOB_UID": "9d8c7b6a-0000-4000-8000-000000000002", "POD_NAME": "fault-next",
	})
	n, code := run(t, next)
	if r := e.mustResult(t, engineResultName); code != 0 || r.state() != "Completed/Pass" {
		t.Errorf("a new Job of the engine: exit %d, %s; want 0, Completed/Pass", code, r.state())
	}
	if got := simenv.Succeeded(e.sim, "RegisterTaskDefinition"); got != 2 {
		t.Errorf("%d chaos revisions in all, want 2: a new Job runs the fault again", got)
	}
	logOnFailure(t, n)
}
