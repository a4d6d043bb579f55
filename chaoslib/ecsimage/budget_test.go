package ecsimage

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// The stopped tasks of the chaos deployments are read whether failedTasks moved or not, at no more than one
// ListTasks per poll per ten services (hold.go, readStoppedBudgeted), and in turns, so that every service's pull
// failure is still seen. Counted in the simulator's request log, poll by poll: the Progress hook runs in the
// hold's loop right after each poll's reads, so the log's length at those calls marks where polls end.
func TestStoppedTaskReadsPerPollPerTenServices(t *testing.T) {
	const services = 25
	budget := (services + describeBatch - 1) / describeBatch // 3
	e := newSimEnv(t)
	names := make([]string, services)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%02d", i)
		e.seed(t, ecssim.SeedSpec{Service: names[i], DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	}
	e.log.SetLevel(logrus.InfoLevel) // a poll's debug lines for 25 services cost more wall time than the poll
	// The SDK retries a call whose reply was cut ("use of closed network connection" while reading a 200 reply,
	// aws/aws-sdk-go-v2#1825; it happens here under -race): the log then holds both attempts of one call. The
	// fault's retries are counted, so that the budget is checked on the fault's calls.
	retries := &retryCounter{Retryer: e.shared.Chaos.Options().Retryer.(aws.RetryerV2), n: map[string]int{}}
	e.clients.Chaos = ecs.New(e.shared.Chaos.Options(), func(o *ecs.Options) { o.Retryer = retries })
	e.sim.ResetRequests()
	var answered atomic.Int64 // the request log's length, without copying it at every Progress call
	e.sim.OnRequest(func(ecssim.Request) { answered.Add(1) })

	opts := e.options(names...)
	opts.Duration, opts.Interval = 150*time.Second, 150*time.Second
	// pollEnds[i] is the request log's length at a run of Progress calls with no request between them (one poll),
	// and progressCalls[i] how many calls, one per held service.
	var pollEnds, progressCalls []int
	var retriesAt []map[string]int
	opts.Hooks.Progress = func(s ServiceReport) {
		if s.Restore.Action != "" {
			return // a poll of the restore wait (reported as progress too), not of the hold
		}
		n := int(answered.Load())
		if len(pollEnds) > 0 && pollEnds[len(pollEnds)-1] == n {
			progressCalls[len(progressCalls)-1]++
			return
		}
		pollEnds = append(pollEnds, n)
		progressCalls = append(progressCalls, 1)
		retriesAt = append(retriesAt, retries.snapshot())
	}

	report := e.run(t, opts)

	if report.Outcome() != OutcomePass {
		t.Fatalf("outcome %v", report.Outcome())
	}
	for _, s := range report.Services {
		// Only the stopped-task reads record a failure reason: a confirmed effect on every service means the
		// reads took turns over all of them.
		if s.Effect != EffectConfirmed || s.Observations.FirstFailureReason == "" {
			t.Errorf("%s: effect %q, first failure %q; want confirmed from its stopped tasks", s.Service, s.Effect, s.Observations.FirstFailureReason)
		}
	}
	log := e.sim.Requests()
	// A poll of every held service: one Progress call each, with no request in between.
	var full []int
	var fullRetries []map[string]int
	for i, calls := range progressCalls {
		if calls > services {
			t.Fatalf("poll %d: %d Progress calls for %d services", i, calls, services)
		}
		if calls == services {
			full = append(full, pollEnds[i])
			fullRetries = append(fullRetries, retriesAt[i])
		}
	}
	if len(full) < 10 {
		t.Fatalf("%d polls of all %d services in a 150 s hold polled every 2 s, want at least 10", len(full), services)
	}
	reads := 0
	for i := 1; i < len(full); i++ {
		ops := map[string]int{}
		for _, r := range log[full[i-1]:full[i]] {
			ops[r.Operation]++
		}
		for op, n := range fullRetries[i] {
			ops[op] -= n - fullRetries[i-1][op]
		}
		if ops["ListTasks"] > budget {
			t.Errorf("poll %d: %d ListTasks for %d services, want at most %d (one per ten services)", i, ops["ListTasks"], services, budget)
		}
		if ops["DescribeServices"] != budget {
			t.Errorf("poll %d: %d DescribeServices for %d services, want %d (ten per call)", i, ops["DescribeServices"], services, budget)
		}
		for op := range ops {
			if op != "ListTasks" && op != "DescribeTasks" && op != "DescribeServices" {
				t.Errorf("poll %d: unexpected %s calls %v", i, op, ops)
			}
		}
		reads += ops["ListTasks"]
	}
	// While a service has no confirmed failure, the budget is spent on it: the reads are not skipped because
	// failedTasks did not move.
	if reads == 0 {
		t.Errorf("no stopped-task reads in %d polls", len(full)-1)
	}
}

// retryCounter counts the retries of each operation (the attempts after the first).
type retryCounter struct {
	aws.Retryer
	mu sync.Mutex
	n  map[string]int
}

func (r *retryCounter) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	return r.Retryer.(aws.RetryerV2).GetAttemptToken(ctx)
}

func (r *retryCounter) GetRetryToken(ctx context.Context, err error) (func(error) error, error) {
	r.mu.Lock()
	r.n[awsmiddleware.GetOperationName(ctx)]++
	r.mu.Unlock()
	return r.Retryer.GetRetryToken(ctx, err)
}

func (r *retryCounter) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.n)
}
