package reliability

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// abortProgress is what the simulator has seen of one run, so that a step boundary can be recognised from its
// request log alone. OnRequest hooks run on the simulator's handler goroutines, hence the lock.
type abortProgress struct {
	mu                   sync.Mutex
	services             int
	chaosEnded           bool
	injectUpdates        int // successful UpdateService calls before the hold ended
	restoreUpdates       int // successful UpdateService calls after the injects
	restoreUpdateErrors  int
	describesAfterInject int
	fired                bool
}

// abortStep is one step boundary of the abort matrix: stopAt says, for each request the simulator answers (with
// the progress up to and including it), whether the SIGTERM arrives now; atChaosEnd and afterInject arm ECS
// faults at those points.
type abortStep struct {
	name        string
	stopAt      func(r ecssim.Request, p *abortProgress) bool
	atChaosEnd  func(sim *ecssim.Simulator)
	afterInject func(sim *ecssim.Simulator)
	// restoreImpossible: the restore UpdateService is denied for good, so the outcome is RestoreFailed with manual
	// steps, and `recover` (run once the permission is back) must leave nothing behind.
	restoreImpossible bool
	// check asserts what the step itself promises, beyond the common end state.
	check func(t *testing.T, p *abortProgress, reqs []ecssim.Request)
}

func abortSteps() []abortStep {
	return []abortStep{
		{
			name:   "preflight (after DescribeServices)",
			stopAt: func(r ecssim.Request, _ *abortProgress) bool { return r.Operation == "DescribeServices" },
			check: func(t *testing.T, _ *abortProgress, reqs []ecssim.Request) {
				if n := mutatingCount(reqs); n != 0 {
					t.Errorf("a stop during preflight made %d mutating calls, want 0", n)
				}
			},
		},
		{
			name: "after RegisterTaskDefinition",
			stopAt: func(r ecssim.Request, _ *abortProgress) bool {
				return r.Operation == "RegisterTaskDefinition" && r.ErrorCode == ""
			},
		},
		{
			name: "after the inject UpdateService",
			stopAt: func(r ecssim.Request, p *abortProgress) bool {
				return r.Operation == "UpdateService" && r.ErrorCode == "" && !p.chaosEnded
			},
		},
		{
			name: "during the hold",
			stopAt: func(r ecssim.Request, p *abortProgress) bool {
				return r.Operation == "DescribeServices" && p.describesAfterInject >= 3 && !p.chaosEnded
			},
		},
		{
			// The stop reaches the restore client while its UpdateService is delayed by ECS; that call then fails
			// with a 500 and the restore client retries it.
			name: "during the restore UpdateService (latency, then 500, retried)",
			atChaosEnd: func(sim *ecssim.Simulator) {
				sim.SetFault("UpdateService", ecssim.Fault{ServerError: 1, Latency: 3 * time.Second})
			},
			stopAt: func(r ecssim.Request, p *abortProgress) bool {
				return r.Operation == "UpdateService" && p.chaosEnded
			},
			check: func(t *testing.T, p *abortProgress, _ []ecssim.Request) {
				if p.restoreUpdateErrors < 1 || p.restoreUpdates < p.services {
					t.Errorf("restore UpdateService: %d failed, %d succeeded; want the 500 retried to success for %d service(s)",
						p.restoreUpdateErrors, p.restoreUpdates, p.services)
				}
			},
		},
		{
			name: "during the restore wait",
			stopAt: func(r ecssim.Request, p *abortProgress) bool {
				return r.Operation == "DescribeServices" && p.chaosEnded && p.restoreUpdates >= p.services
			},
		},
		{
			name:   "during DeregisterTaskDefinition",
			stopAt: func(r ecssim.Request, _ *abortProgress) bool { return r.Operation == "DeregisterTaskDefinition" },
		},
		{
			name: "during the hold, restore denied (AccessDenied)",
			afterInject: func(sim *ecssim.Simulator) {
				sim.SetFault("UpdateService", ecssim.Fault{Error: &ecssim.APIError{
					Code:    "AccessDeniedException",
					Message: "User: arn:aws:iam::123456789012:user/chaos is not authorized to perform: ecs:UpdateService on resource: * because no identity-based policy allows the ecs:UpdateService action",
				}})
			},
			stopAt: func(r ecssim.Request, p *abortProgress) bool {
				return r.Operation == "DescribeServices" && p.describesAfterInject >= 3 && !p.chaosEnded
			},
			restoreImpossible: true,
		},
	}
}

// observe updates the progress with one answered request.
func (p *abortProgress) observe(r ecssim.Request, afterInject func()) {
	switch {
	// One cycle: the first successful UpdateService of each service is its inject, everything after is restore.
	// (Each service is released from its own hold, so a restore may come before ChaosEnded, which fires when the
	// last hold ends.)
	case r.Operation == "UpdateService" && r.ErrorCode == "" && p.injectUpdates < p.services:
		p.injectUpdates++
		if p.injectUpdates == p.services && afterInject != nil {
			afterInject()
		}
	case r.Operation == "UpdateService" && r.ErrorCode == "":
		p.restoreUpdates++
	case r.Operation == "UpdateService" && p.injectUpdates >= p.services:
		p.restoreUpdateErrors++
	case r.Operation == "DescribeServices" && p.injectUpdates >= p.services:
		p.describesAfterInject++
	}
}

type abortResult struct {
	step, services string
	outcome        ecsimage.Outcome
	restored       bool
	mutating       int
	detail         string
}

// TestAbortMatrix stops a run (context cancelled with a SIGTERM StopCause, as main does) at every step boundary,
// for one service and for three in parallel, and checks that every service ends on its original revision and
// deployment configuration with no ACTIVE chaos revision, and that the outcome is Stopped (5), or RestoreFailed (4)
// with manual steps naming the revisions when the restore is made impossible.
func TestAbortMatrix(t *testing.T) {
	var mu sync.Mutex
	var results []abortResult
	t.Run("cases", func(t *testing.T) {
		for _, step := range abortSteps() {
			for _, n := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%d service(s)", step.name, n), func(t *testing.T) {
					t.Parallel()
					res := runAbortCase(t, step, n)
					mu.Lock()
					results = append(results, res)
					mu.Unlock()
				})
			}
		}
	})
	var rows [][]string
	restored := 0
	for _, r := range sortedAbortResults(results) {
		if r.restored {
			restored++
		}
		rows = append(rows, []string{r.step, r.services, fmt.Sprintf("%s (%d)", r.outcome, int(r.outcome)), yesNo(r.restored), fmt.Sprint(r.mutating), r.detail})
	}
	t.Logf("abort matrix: %d cases run, %d restored, %d lost\n%s", len(results), restored, len(results)-restored,
		table([]string{"stop at", "services", "outcome", "restored", "mutating calls", "note"}, rows))
}

// sortedAbortResults orders results as the steps are listed, one service before three.
func sortedAbortResults(in []abortResult) []abortResult {
	order := map[string]int{}
	for i, s := range abortSteps() {
		order[s.name] = i
	}
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b abortResult) int {
		if d := order[a.step] - order[b.step]; d != 0 {
			return d
		}
		return strings.Compare(a.services, b.services)
	})
	return out
}

func runAbortCase(t *testing.T, step abortStep, n int) abortResult {
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, n)
	before := e.snapshot(t, names)
	e.sim.ResetRequests()

	base, cancelTimeout := context.WithTimeout(context.Background(), caseTimeout)
	defer cancelTimeout()
	ctx, stop := context.WithCancelCause(base)
	defer stop(nil)
	p := &abortProgress{services: n}
	opts := e.faultOptions("abort", names...)
	opts.Hooks.ChaosEnded = func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.chaosEnded = true
		if step.atChaosEnd != nil {
			step.atChaosEnd(e.sim)
		}
	}
	e.sim.OnRequest(func(r ecssim.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		var arm func()
		if step.afterInject != nil {
			arm = func() { step.afterInject(e.sim) }
		}
		p.observe(r, arm)
		if !p.fired && step.stopAt(r, p) {
			p.fired = true
			stop(&ecsimage.StopCause{Reason: "received SIGTERM"})
		}
	})

	report := ecsimage.Run(ctx, e.clients, opts)
	reqs := e.sim.Requests()

	res := abortResult{step: step.name, services: fmt.Sprint(n), outcome: report.Outcome(), mutating: mutatingCount(reqs)}
	p.mu.Lock()
	fired := p.fired
	p.mu.Unlock()
	if !fired {
		t.Fatalf("the stop never fired: the step boundary %q was not reached (outcome %s)", step.name, report.Outcome())
	}
	if report.Stop == nil || report.Stop.Reason != "received SIGTERM" {
		t.Errorf("report.Stop = %+v, want the SIGTERM cause", report.Stop)
	}
	if step.restoreImpossible {
		if res.outcome != ecsimage.OutcomeRestoreFailed {
			t.Errorf("outcome %s, want restore-failed (4)", res.outcome)
		}
		for _, s := range report.Services {
			steps := strings.Join(s.Restore.ManualSteps, "\n")
			if s.State != ecsimage.StateRestoreFailed || !strings.Contains(steps, s.OriginalTaskDefinition) || len(s.ChaosTaskDefinitions) == 0 ||
				!strings.Contains(steps, s.ChaosTaskDefinitions[0]) || !strings.Contains(s.Error, s.OriginalTaskDefinition) {
				t.Errorf("%s: state %s, manual steps %q, error %q; want restore-failed naming the original and the chaos revision",
					s.Service, s.State, s.Restore.ManualSteps, s.Error)
			}
		}
		if len(e.leftovers(t, before)) == 0 {
			t.Error("the restore was denied, yet nothing is left behind: the end-state check cannot see a lost service")
		}
		// The permission comes back: recover, from AWS state alone, must then leave nothing behind.
		e.sim.ClearFaults()
		rctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
		defer cancel()
		rec := ecsimage.Recover(rctx, e.clients, e.faultOptions("recover", names...))
		if rec.RecoverOutcome() != ecsimage.OutcomePass {
			t.Errorf("recover after the restore failure: outcome %s: %s", rec.RecoverOutcome(), reportText(rec))
		}
		res.detail = "manual steps name the revisions; restored by `recover`"
	} else if res.outcome != ecsimage.OutcomeStopped {
		t.Errorf("outcome %s, want stopped (5): %s", res.outcome, reportText(report))
	}
	if step.check != nil {
		step.check(t, p, reqs)
	}
	problems := e.leftovers(t, before)
	for _, pr := range problems {
		t.Error(pr)
	}
	res.restored = len(problems) == 0
	for _, s := range report.Services {
		if !step.restoreImpossible && s.Changed && s.State != ecsimage.StateRestored {
			t.Errorf("%s: state %s after a stop, want restored", s.Service, s.State)
		}
		for _, arn := range s.ChaosTaskDefinitions {
			if td := describeTaskDefinition(t, e, arn); td.Status != types.TaskDefinitionStatusInactive {
				t.Errorf("%s: chaos revision %s is %s", s.Service, arn, td.Status)
			}
		}
	}
	if res.detail == "" {
		res.detail = fmt.Sprintf("restore: %s", restoreActions(report))
	}
	return res
}

func restoreActions(r *ecsimage.Report) string {
	var parts []string
	for _, s := range r.Services {
		a := string(s.Restore.Action)
		if a == "" {
			a = "untouched"
		}
		if !slices.Contains(parts, a) {
			parts = append(parts, a)
		}
	}
	return strings.Join(parts, ", ")
}
