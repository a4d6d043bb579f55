package reliability

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// duringHold calls act once, from the simulator's OnRequest hook, at the second DescribeServices after the inject
// UpdateService (the hold has begun). act may call the simulator through the SDK: the hook runs outside the
// simulator's locks, and the guard is a compare-and-swap, not a sync.Once, because act's own requests re-enter
// the hook on other goroutines. The returned channel is closed once act has returned.
func duringHold(e *simEnv, act func()) <-chan struct{} {
	var injected, describes atomic.Int64
	var started atomic.Bool
	done := make(chan struct{})
	e.sim.OnRequest(func(r ecssim.Request) {
		switch {
		case r.Operation == "UpdateService" && r.ErrorCode == "":
			injected.Add(1)
		case r.Operation == "DescribeServices" && injected.Load() > 0:
			if describes.Add(1) == 2 && started.CompareAndSwap(false, true) {
				act()
				close(done)
			}
		}
	})
	return done
}

// happened reports whether done is closed.
func happened(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// TestThirdPartyDeployDuringHold: someone deploys another revision while the service is under chaos. The fault
// must leave their revision alone, say so, and still deregister its own chaos revision.
func TestThirdPartyDeployDuringHold(t *testing.T) {
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	original := aws.ToString(before["web-1"].TaskDefinition)
	var thirdParty string
	var afterDeploy types.Service
	var updatesBefore int
	fired := duringHold(e, func() {
		ctx := context.Background()
		reg, err := e.client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web-1"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:latest"), Essential: aws.Bool(true)}},
		})
		if err != nil {
			t.Errorf("third-party register: %v", err)
			return
		}
		thirdParty = aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
		out, err := e.client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(clusterName), Service: aws.String("web-1"), TaskDefinition: aws.String(thirdParty)})
		if err != nil {
			t.Errorf("third-party deploy: %v", err)
			return
		}
		afterDeploy = *out.Service
		updatesBefore = opCounts(e.sim.Requests())["UpdateService"]
	})
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	report := ecsimage.Run(ctx, e.clients, e.faultOptions("third", names...))
	if !happened(fired) || thirdParty == "" {
		t.Fatalf("the third-party deploy did not happen during the hold")
	}
	s := report.Services[0]
	now := e.snapshot(t, names)["web-1"]
	faultUpdatesAfter := opCounts(e.sim.Requests())["UpdateService"] - updatesBefore
	if got := aws.ToString(now.TaskDefinition); got != thirdParty {
		t.Errorf("service runs %s, want the third party's %s left alone", got, thirdParty)
	}
	// Their deploy named no configuration, so it inherited the fault's narrowed one; the fault puts the original
	// back (compare-and-set, configuration only) and never touches their revision.
	if faultUpdatesAfter != 1 || !s.Restore.DeploymentConfigurationRestored {
		t.Errorf("the fault made %d UpdateService calls after the third-party deploy (configuration restored: %v), want exactly the one that restores the configuration",
			faultUpdatesAfter, s.Restore.DeploymentConfigurationRestored)
	}
	if got, want := aws.ToInt32(now.DeploymentConfiguration.MaximumPercent), aws.ToInt32(before["web-1"].DeploymentConfiguration.MaximumPercent); got != want {
		t.Errorf("maximumPercent after the run = %d, want the original %d", got, want)
	}
	if s.Restore.Action != ecsimage.RestoreLeftToThirdParty || !strings.Contains(strings.Join(s.Warnings, "\n"), thirdParty) {
		t.Errorf("restore action %s, warnings %q; want left-to-third-party, naming %s", s.Restore.Action, s.Warnings, thirdParty)
	}
	if active := e.activeRevisions(t, "web-1"); len(active) != 2 || active[0] != original || active[1] != thirdParty {
		t.Errorf("ACTIVE revisions %v, want the original and the third party's only", active)
	}
	for _, arn := range s.ChaosTaskDefinitions {
		if td := describeTaskDefinition(t, e, arn); td.Status != types.TaskDefinitionStatusInactive {
			t.Errorf("chaos revision %s is %s, want INACTIVE", arn, td.Status)
		}
	}
	t.Logf("third-party deploy during the hold: outcome %s; service left on %s; restore %s; configuration after their deploy %s, at the end %s (original %s); warnings %q",
		report.Outcome(), thirdParty, s.Restore.Action, jsonOf(afterDeploy.DeploymentConfiguration), jsonOf(now.DeploymentConfiguration),
		jsonOf(before["web-1"].DeploymentConfiguration), s.Warnings)
}

// TestThirdPartyDeployInheritsNarrowedMaximumPercentSilently: a third party that deploys during the hold without
// a deploymentConfiguration (as `aws ecs update-service --task-definition` does) inherits the fault's narrowed
// maximumPercent. Restore leaves "their" configuration alone, so the fault's change outlives the run; the least the
// run must do is name the value to put back.
func TestThirdPartyDeployInheritsNarrowedMaximumPercentSilently(t *testing.T) {
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	fired := duringHold(e, func() {
		ctx := context.Background()
		reg, err := e.client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web-1"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:latest"), Essential: aws.Bool(true)}},
		})
		if err == nil {
			_, err = e.client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(clusterName), Service: aws.String("web-1"), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn})
		}
		if err != nil {
			t.Errorf("third-party deploy: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	report := ecsimage.Run(ctx, e.clients, e.faultOptions("third", names...))
	if !happened(fired) {
		t.Fatal("the third-party deploy did not happen during the hold")
	}
	now := e.snapshot(t, names)["web-1"]
	originalMax := aws.ToInt32(before["web-1"].DeploymentConfiguration.MaximumPercent)
	if got := aws.ToInt32(now.DeploymentConfiguration.MaximumPercent); got != originalMax {
		said := reportText(report)
		if !strings.Contains(said, "maximumPercent") || !strings.Contains(said, fmt.Sprint(originalMax)) {
			t.Errorf("after the run the service keeps the fault's maximumPercent %d (original %d), and the report does not say so: %q",
				got, originalMax, said)
		}
	}
}

// TestServiceDeletedDuringHold: the service is deleted while under chaos. The run must end with a clear error,
// touch nothing else (no UpdateService after the deletion) and deregister its chaos revision.
func TestServiceDeletedDuringHold(t *testing.T) {
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	var mu sync.Mutex
	var afterDelete []ecssim.Request
	var deleted atomic.Bool
	fired := duringHold(e, func() {
		_, err := e.client.DeleteService(context.Background(), &ecs.DeleteServiceInput{Cluster: aws.String(clusterName), Service: aws.String("web-1"), Force: aws.Bool(true)})
		if err != nil {
			t.Errorf("delete service: %v", err)
		}
		deleted.Store(true)
	})
	e.sim.OnRequest(func(r ecssim.Request) {
		if deleted.Load() {
			mu.Lock()
			afterDelete = append(afterDelete, r)
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	report := ecsimage.Run(ctx, e.clients, e.faultOptions("deleted", names...))
	if !happened(fired) {
		t.Fatal("the service was not deleted during the hold")
	}
	s := report.Services[0]
	if report.Outcome() != ecsimage.OutcomeError || !strings.Contains(s.Error, "was deleted during the fault") {
		t.Errorf("outcome %s, error %q; want error (3) saying the service was deleted", report.Outcome(), s.Error)
	}
	mu.Lock()
	var mutating []string
	for _, r := range afterDelete {
		if r.Mutating {
			mutating = append(mutating, r.Operation)
		}
	}
	mu.Unlock()
	if len(mutating) != 1 || mutating[0] != "DeregisterTaskDefinition" {
		t.Errorf("mutating calls after the deletion %v, want exactly one DeregisterTaskDefinition", mutating)
	}
	original := aws.ToString(before["web-1"].TaskDefinition)
	if active := e.activeRevisions(t, "web-1"); len(active) != 1 || active[0] != original {
		t.Errorf("ACTIVE revisions %v, want only the original", active)
	}
	t.Logf("service deleted during the hold: outcome %s (%d), error %q, mutating calls after the deletion %v",
		report.Outcome(), int(report.Outcome()), s.Error, mutating)
}

// opRecorder is an SDK middleware that records the operations a client calls, so that the calls of one of two
// runs against the same simulator can be told apart.
type opRecorder struct {
	mu  sync.Mutex
	ops []string
}

func (o *opRecorder) option(opts *ecs.Options) {
	opts.APIOptions = append(opts.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("reliabilityOpRecorder",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				o.mu.Lock()
				o.ops = append(o.ops, awsmiddleware.GetOperationName(ctx))
				o.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

func (o *opRecorder) mutating() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var m []string
	for _, op := range o.ops {
		if op == "RegisterTaskDefinition" || op == "UpdateService" || op == "DeregisterTaskDefinition" {
			m = append(m, op)
		}
	}
	return m
}

// recordedClients are fault clients of their own whose calls rec records.
func (e *simEnv) recordedClients(rec *opRecorder) ecsimage.Clients {
	chaos, restore := e.shared.FaultClients(rec.option)
	return ecsimage.Clients{Chaos: chaos, Restore: restore}
}

// TestSecondRunBacksOff: a second run against a service that a first run holds under chaos sees the first run's
// marker and refuses without a single mutating call.
func TestSecondRunBacksOff(t *testing.T) {
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	injected := make(chan struct{})
	optsA := e.faultOptions("first", names...)
	var once sync.Once
	optsA.Hooks.Injected = func(string, string) { once.Do(func() { close(injected) }) }
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	var reportA *ecsimage.Report
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		reportA = ecsimage.Run(ctx, e.clients, optsA)
	}()
	select {
	case <-injected:
	case <-doneA:
		t.Fatalf("the first run ended before injecting: %s", reportText(reportA))
	}
	rec := &opRecorder{}
	reportB := ecsimage.Run(ctx, e.recordedClients(rec), e.faultOptions("second", names...))
	<-doneA

	if reportB.Outcome() != ecsimage.OutcomeRefused || !strings.Contains(reportB.Services[0].Error, "already under chaos by run first") {
		t.Errorf("second run: outcome %s, error %q; want a refusal naming run first", reportB.Outcome(), reportB.Services[0].Error)
	}
	if m := rec.mutating(); len(m) != 0 {
		t.Errorf("the second run made mutating calls %v, want none", m)
	}
	if reportA.Outcome() != ecsimage.OutcomePass {
		t.Errorf("first run: outcome %s, want pass: %s", reportA.Outcome(), reportText(reportA))
	}
	for _, p := range e.leftovers(t, before) {
		t.Error(p)
	}
	t.Logf("second run during the first's hold: outcome %s (%d), %d calls, 0 mutating; refusal: %s",
		reportB.Outcome(), int(reportB.Outcome()), len(rec.ops), reportB.Services[0].Error)
}

type windowResult struct {
	delay              time.Duration
	secondRefused      bool
	bothInjected       bool
	secondMutating     int
	restored           bool
	outcomeA, outcomeB ecsimage.Outcome
}

// TestDoublePreflightWindow measures the window in which two runs against one service can both pass preflight:
// the second starts N ms after the first, for a range of N. Preflight is read-only and the marker exists only once
// the first run's RegisterTaskDefinition landed, so a second run whose reads come before that passes too. Whatever
// N, nothing may be left behind; from the smallest refusing N on, the second run must not change anything.
func TestDoublePreflightWindow(t *testing.T) {
	delays := []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
		20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	var results []windowResult
	var rows [][]string
	smallestRefusing := time.Duration(-1)
	for _, d := range delays {
		r := runWindowCase(t, d)
		results = append(results, r)
		rows = append(rows, []string{d.String(), fmt.Sprintf("%s (%d)", r.outcomeA, int(r.outcomeA)), fmt.Sprintf("%s (%d)", r.outcomeB, int(r.outcomeB)),
			fmt.Sprint(r.secondRefused), fmt.Sprint(r.bothInjected), fmt.Sprint(r.secondMutating), yesNo(r.restored)})
	}
	for i := len(results) - 1; i >= 0 && results[i].secondRefused; i-- {
		smallestRefusing = results[i].delay
	}
	window := firstRunMarkerLatency(t)
	t.Logf("double preflight window: smallest delay from which the second run always refuses: %s; the first run's marker lands %s after its preflight read began\n%s",
		smallestRefusing, window.Round(10*time.Microsecond),
		table([]string{"second starts after", "first outcome", "second outcome", "second refused", "both injected", "second's mutating calls", "restored"}, rows))
	if last := results[len(results)-1]; !last.secondRefused || last.secondMutating != 0 {
		t.Errorf("a second run %s after the first: refused %v with %d mutating calls; want a refusal without any", last.delay, last.secondRefused, last.secondMutating)
	}
}

func runWindowCase(t *testing.T, delay time.Duration) windowResult {
	t.Helper()
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	var reportA *ecsimage.Report
	doneA := make(chan struct{})
	go func() {
		defer close(doneA)
		reportA = ecsimage.Run(ctx, e.clients, e.faultOptions("first", names...))
	}()
	time.Sleep(delay) // the wall-clock offset between two pods is the quantity measured here
	rec := &opRecorder{}
	reportB := ecsimage.Run(ctx, e.recordedClients(rec), e.faultOptions("second", names...))
	<-doneA
	res := windowResult{delay: delay, outcomeA: reportA.Outcome(), outcomeB: reportB.Outcome(), secondMutating: len(rec.mutating())}
	res.secondRefused = res.outcomeB == ecsimage.OutcomeRefused && res.secondMutating == 0
	res.bothInjected = reportA.Services[0].State != ecsimage.StateRefused && len(reportA.Services[0].ChaosTaskDefinitions) > 0 &&
		len(reportB.Services[0].ChaosTaskDefinitions) > 0
	problems := e.leftovers(t, before)
	for _, p := range problems {
		t.Errorf("second run %s after the first: %s (first: %s; second: %s)", delay, p, reportText(reportA), reportText(reportB))
	}
	res.restored = len(problems) == 0
	for _, r := range []*ecsimage.Report{reportA, reportB} {
		if o := r.Outcome(); o == ecsimage.OutcomeRestoreFailed {
			t.Errorf("second run %s after the first: a run's restore failed: %s", delay, reportText(r))
		}
	}
	return res
}

// firstRunMarkerLatency measures, in a run alone, the wall time from its first request (the preflight's
// DescribeServices) to its RegisterTaskDefinition: the stretch in which another run's preflight sees no marker.
func firstRunMarkerLatency(t *testing.T) time.Duration {
	t.Helper()
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	e.sim.ResetRequests()
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	ecsimage.Run(ctx, e.clients, e.faultOptions("alone", names...))
	reqs := e.sim.Requests()
	for _, r := range reqs {
		if r.Operation == "RegisterTaskDefinition" {
			return r.WallTime.Sub(reqs[0].WallTime)
		}
	}
	t.Fatal("the run registered no chaos revision")
	return 0
}
