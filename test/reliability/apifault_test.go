package reliability

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

const (
	// faultScale is slower than the other tests' clock: the SDK's HTTP timeout is on the wall clock, and at 25x a
	// 400 ms timeout costs the run 10 s of simulated time, well inside the 40 s hold.
	faultScale = 25
	// clientTimeout bounds each HTTP attempt of the fault's clients in the API fault matrix.
	clientTimeout = 400 * time.Millisecond
	// slowReply is the simulated latency of a "timed out" call: far beyond clientTimeout at faultScale.
	slowReply = 10 * time.Minute
	// faultHold is the hold of the API fault matrix: long enough to see a chaos task fail (about 24 s in).
	faultHold = 30 * time.Second
)

// faultOps are the ECS operations the fault calls, each the action of the spec's IAM policy of the same name.
func faultOps() []string {
	return []string{"DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService", "ListTasks", "DescribeTasks", "DeregisterTaskDefinition"}
}

// apiFault is one column of the API fault matrix: the misbehaviour of the next calls of an operation, and how
// many failed replies it produces (which the retry bound allows for).
type apiFault struct {
	name    string
	fault   ecssim.Fault
	failed  int
	oneShot bool // the fault is cleared after its first call (latency "for the next call")
}

func apiFaults() []apiFault {
	return []apiFault{
		{name: "throttling x3", fault: ecssim.Fault{Throttle: 3}, failed: 3},
		{name: "5xx x2", fault: ecssim.Fault{ServerError: 2}, failed: 2},
		{name: "latency > client timeout", fault: ecssim.Fault{Latency: slowReply}, failed: 1, oneShot: true},
		{name: "dropped connection", fault: ecssim.Fault{Drop: 1}, failed: 1},
	}
}

// faultPhases say when a fault is armed: from the run's start (the operation's first calls, mostly preflight and
// inject) or from the end of the hold (the restore client's calls).
func faultPhases() []string { return []string{"from start", "from restore"} }

type apiFaultResult struct {
	op, fault, phase string
	outcome          ecsimage.Outcome
	restored         bool
	calls            int
	bound            int
	hit              bool
}

// TestAPIFaultMatrix makes each ECS operation the fault calls misbehave in each of four ways from the start of a
// run (the first calls of that operation get the fault) and checks that the run passes or fails safe with the
// service restored, that no chaos revision is left ACTIVE, and that retries stay bounded: the operation's
// requests in the simulator's log exceed a fault-free run's by at most the failed replies plus a small slack
// for the polls of a longer wait.
func TestAPIFaultMatrix(t *testing.T) {
	baseline := faultFreeBaseline(t)
	var mu sync.Mutex
	var results []apiFaultResult
	t.Run("cases", func(t *testing.T) {
		for _, phase := range faultPhases() {
			for _, op := range faultOps() {
				for _, f := range apiFaults() {
					t.Run(phase+"/"+op+"/"+f.name, func(t *testing.T) {
						t.Parallel()
						res := runAPIFaultCase(t, phase, op, f, baseline[op])
						mu.Lock()
						results = append(results, res)
						mu.Unlock()
					})
				}
			}
		}
	})
	byCell := map[string]apiFaultResult{}
	restored, reached := 0, 0
	for _, r := range results {
		byCell[r.phase+"/"+r.op+"/"+r.fault] = r
		if r.restored {
			restored++
		}
		if r.hit {
			reached++
		}
	}
	var rows [][]string
	for _, phase := range faultPhases() {
		for _, op := range faultOps() {
			rows = append(rows, apiFaultRow(byCell, phase, op))
		}
	}
	header := []string{"armed", "operation"}
	for _, f := range apiFaults() {
		header = append(header, f.name)
	}
	t.Logf("API fault matrix: %d cases run (%d reached the faulty operation), %d restored, %d lost; cells: outcome, restored, calls of the operation / bound\n%s",
		len(results), reached, restored, len(results)-restored, table(header, rows))
}

// apiFaultRow is one operation's row of the matrix for one phase.
func apiFaultRow(byCell map[string]apiFaultResult, phase, op string) []string {
	row := []string{phase, op}
	for _, f := range apiFaults() {
		r, ok := byCell[phase+"/"+op+"/"+f.name]
		if !ok {
			row = append(row, "not run")
			continue
		}
		cell := fmt.Sprintf("%s, restored %s, %d/%d calls", r.outcome, yesNo(r.restored), r.calls, r.bound)
		if !r.hit {
			cell += " (not reached)"
		}
		row = append(row, cell)
	}
	return row
}

// faultFreeBaseline runs the fault once without ECS faults and returns its requests per operation.
func faultFreeBaseline(t *testing.T) map[string]int {
	t.Helper()
	e := newSimEnv(t, simenv.Options{Scale: faultScale, HTTPClient: awshttp.NewBuildableClient().WithTimeout(clientTimeout)})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	e.sim.ResetRequests()
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	opts := e.faultOptions("baseline", names...)
	opts.Duration, opts.Interval = faultHold, faultHold
	report := ecsimage.Run(ctx, e.clients, opts)
	if report.Outcome() != ecsimage.OutcomePass {
		t.Fatalf("fault-free baseline: outcome %s: %s", report.Outcome(), reportText(report))
	}
	for _, p := range e.leftovers(t, before) {
		t.Fatalf("fault-free baseline: %s", p)
	}
	counts := opCounts(e.sim.Requests())
	var parts []string
	for op, n := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", op, n))
	}
	sort.Strings(parts)
	t.Logf("fault-free baseline requests: %v", parts)
	return counts
}

func runAPIFaultCase(t *testing.T, phase, op string, f apiFault, baseline int) apiFaultResult {
	e := newSimEnv(t, simenv.Options{Scale: faultScale, HTTPClient: awshttp.NewBuildableClient().WithTimeout(clientTimeout)})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	e.sim.ResetRequests()
	var armed atomic.Bool
	var reached atomic.Int64
	arm := func() {
		e.sim.SetFault(op, f.fault)
		armed.Store(true)
	}
	e.sim.OnRequest(func(r ecssim.Request) {
		if r.Operation != op || !armed.Load() {
			return
		}
		if reached.Add(1) == 1 && f.oneShot {
			e.sim.SetFault(op, ecssim.Fault{}) // this call is already delayed; the next ones are not
		}
	})
	opts := e.faultOptions("apifault", names...)
	opts.Duration, opts.Interval = faultHold, faultHold
	if phase == "from start" {
		arm()
	} else {
		opts.Hooks.ChaosEnded = arm
	}
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	report := ecsimage.Run(ctx, e.clients, opts)

	calls := opCounts(e.sim.Requests())[op]
	// Polls during a wait that a fault lengthened are time-driven; retries are not. A retry storm would blow far
	// past this bound.
	res := apiFaultResult{phase: phase, op: op, fault: f.name, outcome: report.Outcome(), calls: calls,
		bound: baseline + f.failed + max(3, baseline/2), hit: reached.Load() > 0}
	problems := e.leftovers(t, before)
	for _, p := range problems {
		t.Error(p)
	}
	res.restored = len(problems) == 0
	switch res.outcome {
	case ecsimage.OutcomePass:
	case ecsimage.OutcomeRefused, ecsimage.OutcomeError:
		t.Logf("failed safe: %s", reportText(report))
	default:
		t.Errorf("outcome %s, want pass, or a safe refusal/error with the service restored: %s", res.outcome, reportText(report))
	}
	if calls > res.bound {
		t.Errorf("%d %s requests, more than the bound %d (fault-free run: %d): retries are not bounded", calls, op, res.bound, baseline)
	}
	return res
}
