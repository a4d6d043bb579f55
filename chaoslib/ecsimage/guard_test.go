package ecsimage

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// panicOnce is an SDK middleware that panics on the next call of op once armed: a bug reached through a client call,
// on the goroutine that made it.
func panicOnce(op string, armed *atomic.Bool) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("panicOnce"+op, func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if awsmiddleware.GetOperationName(ctx) == op && armed.CompareAndSwap(true, false) {
				panic("injected bug in " + op)
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	}
}

// assertBugReported checks that a bug ended the run as an error after a proven restore (exit 3), with the reason in
// the result and the stack in the log only.
func assertBugReported(t *testing.T, e *simEnv, report *Report, logs *logtest.Hook, where string) {
	t.Helper()
	s := report.Services[0]
	if got := report.Outcome(); got != OutcomeError {
		t.Errorf("outcome %v, want %v (restored after an internal error): %+v", got, OutcomeError, s)
	}
	if !s.Restore.Completed || s.State != StateRestored {
		t.Errorf("state %s, restore completed %v: want restored and proven", s.State, s.Restore.Completed)
	}
	if !strings.Contains(s.Error, "internal error (a bug) in "+where) || strings.Contains(s.Error, "goroutine ") {
		t.Errorf("result error %q: want the bug named, without a stack", s.Error)
	}
	stack := false
	for _, entry := range logs.AllEntries() {
		stack = stack || strings.Contains(entry.Message, "goroutine ") && strings.Contains(entry.Message, "injected bug")
	}
	if !stack {
		t.Error("no log entry holds the panic's stack")
	}
}

func TestPanickingHookStillRestores(t *testing.T) {
	e := newSimEnv(t)
	logs := logtest.NewLocal(e.log)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	opts := e.options("web")
	opts.Hooks.Injected = func(string, string) { panic("injected bug in the Injected hook") }

	report := e.run(t, opts)

	assertBugReported(t, e, report, logs, "a hook")
	e.assertRestored(t, report.Services[0], before)
}

func TestPanicInObserveLoopStillRestores(t *testing.T) {
	e := newSimEnv(t)
	logs := logtest.NewLocal(e.log)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	var armed atomic.Bool
	// The hold observes with the chaos client; the restore has its own.
	e.clients.Chaos = ecs.New(e.shared.Chaos.Options(), func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, panicOnce("DescribeServices", &armed))
	})
	opts := e.options("web")
	opts.Hooks.Injected = func(string, string) { armed.Store(true) }

	report := e.run(t, opts)

	if armed.Load() {
		t.Fatal("the hold never observed the service: no panic was injected")
	}
	assertBugReported(t, e, report, logs, "the hold")
	e.assertRestored(t, report.Services[0], before)
}

// TestPanicInRestoreIsRestoreFailed: a bug while putting a service back leaves it possibly on its chaos revision:
// the run says so (exit 4) with the manual steps, instead of crashing.
func TestPanicInRestoreIsRestoreFailed(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	var armed atomic.Bool
	armed.Store(true) // the restore client's first mutating call is the restore's (StopServiceDeployment or UpdateService)
	e.clients.Restore = ecs.New(e.shared.Restore.Options(), func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, panicOnce("StopServiceDeployment", &armed), panicOnce("UpdateService", &armed))
	})

	report := e.run(t, e.options("web"))

	s := report.Services[0]
	if armed.Load() {
		t.Fatal("the restore never updated the service: no panic was injected")
	}
	if got := report.Outcome(); got != OutcomeRestoreFailed || s.State != StateRestoreFailed || len(s.Restore.ManualSteps) == 0 {
		t.Fatalf("outcome %v, state %s, manual steps %q: want a failed restore with the steps", got, s.State, s.Restore.ManualSteps)
	}
	if !strings.Contains(s.Error, "RESTORE FAILED") || !strings.Contains(s.Error, "internal error (a bug)") || strings.Contains(s.Error, "goroutine ") {
		t.Errorf("result error %q: want the failed restore and the bug named, without a stack", s.Error)
	}
	// The panic came before the request left, so the service is still on its chaos revision, as reported.
	if got := aws.ToString(e.describe(t, "web").TaskDefinition); len(s.ChaosTaskDefinitions) != 1 || got != s.ChaosTaskDefinitions[0] {
		t.Errorf("the service runs %s; the report names chaos revisions %v", got, s.ChaosTaskDefinitions)
	}
}
