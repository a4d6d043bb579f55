package ecsimage

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestChaosDeploymentConfigurationNarrowsOnly(t *testing.T) {
	cases := []struct {
		name     string
		svc      types.Service
		percent  int
		wantMax  int32
		wantSame bool // the configuration is returned unchanged
	}{
		{"default 200 at 100%", types.Service{DeploymentConfiguration: rollingDC(100, 200, false)}, 100, 200, true},
		{"200 at 50%", types.Service{DeploymentConfiguration: rollingDC(100, 200, false)}, 50, 150, false},
		{"120 at 50% keeps 120", types.Service{DeploymentConfiguration: rollingDC(100, 120, false)}, 50, 120, true},
		{"100 at 0%", types.Service{DeploymentConfiguration: rollingDC(50, 100, false)}, 0, 100, true},
		{"absent maximum counts as 200", types.Service{DeploymentConfiguration: &types.DeploymentConfiguration{}}, 30, 130, false},
		{"daemon at 100% keeps its configuration", types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon, DeploymentConfiguration: rollingDC(0, 100, false)}, 100, 100, true},
		{"blue/green untouched", types.Service{DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, MaximumPercent: aws.Int32(200)}}, 10, 200, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := cliJSON(tc.svc.DeploymentConfiguration)
			got := chaosDeploymentConfiguration(&tc.svc, tc.percent)
			if aws.ToInt32(got.MaximumPercent) != tc.wantMax {
				t.Errorf("maximumPercent = %d, want %d", aws.ToInt32(got.MaximumPercent), tc.wantMax)
			}
			if same := sameDeploymentConfiguration(got, tc.svc.DeploymentConfiguration); same != tc.wantSame && tc.name != "absent maximum counts as 200" {
				t.Errorf("same as original = %v, want %v", same, tc.wantSame)
			}
			if after := cliJSON(tc.svc.DeploymentConfiguration); after != before {
				t.Errorf("the service's own configuration was modified: %s -> %s", before, after)
			}
		})
	}
}

func TestChaosTasksAllowed(t *testing.T) {
	cases := []struct {
		desired  int32
		min, max int32
		daemon   bool
		want     int
	}{
		{3, 100, 200, false, 3},
		{3, 100, 150, false, 1},
		{1, 100, 150, false, 0},
		{4, 50, 100, false, 2},
		{2, 0, 100, false, 2},
		{3, 100, 100, false, 0},
		{5, 100, 110, false, 0},
		{0, 100, 200, false, 0},
		{3, 0, 100, true, 3},
		{4, 50, 100, true, 2},
		{3, 34, 100, true, 1}, // 1.02 kept rounds up to 2
		{4, 100, 100, true, 0},
	}
	for _, tc := range cases {
		if got := chaosTasksAllowed(tc.desired, rollingDC(tc.min, tc.max, false), tc.daemon); got != tc.want {
			t.Errorf("desired %d min %d max %d daemon %v: %d chaos tasks, want %d", tc.desired, tc.min, tc.max, tc.daemon, got, tc.want)
		}
	}
}

func TestSameDeploymentConfigurationIgnoresAbsentDisabledBlocks(t *testing.T) {
	a := &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}
	b := rollingDC(100, 200, false)
	if !sameDeploymentConfiguration(a, b) {
		t.Error("an absent circuit breaker must equal a disabled one")
	}
	if sameDeploymentConfiguration(a, rollingDC(100, 150, false)) {
		t.Error("different maximumPercent compared equal")
	}
	if !differsOnlyInMaximumPercent(b, rollingDC(100, 150, false)) {
		t.Error("a lowered maximumPercent is the fault's shape")
	}
	if differsOnlyInMaximumPercent(b, rollingDC(50, 150, false)) || differsOnlyInMaximumPercent(b, b) || differsOnlyInMaximumPercent(rollingDC(100, 150, false), b) {
		t.Error("other changes, no change or a raised maximum are not the fault's shape")
	}
}

func TestOutcomePrecedence(t *testing.T) {
	mk := func(states ...ServiceReport) *Report { return &Report{Services: states} }
	restored := ServiceReport{Changed: true, Effective: true, State: StateRestored, Restore: RestoreReport{Completed: true}}
	notEffective := restored
	notEffective.Effective = false
	failed := ServiceReport{Changed: true, State: StateRestoreFailed}
	refused := ServiceReport{State: StateRefused}
	refused.fail(&PreflightError{Service: "x", Reasons: []string{"no"}})
	cases := []struct {
		name   string
		report *Report
		stop   *StopCause
		want   Outcome
	}{
		{"pass", mk(restored), nil, OutcomePass},
		{"not effective is an error", mk(restored, notEffective), nil, OutcomeError},
		{"restore failure wins over stop", mk(restored, failed), &StopCause{Reason: "sig"}, OutcomeRestoreFailed},
		{"stopped", mk(restored), &StopCause{Reason: "sig"}, OutcomeStopped},
		{"probe stop is a failure", mk(restored), &StopCause{Reason: "probe", HypothesisFailed: true}, OutcomeFail},
		{"refusal only when nothing changed", mk(refused), nil, OutcomeRefused},
		{"a stop during preflight is a stop", mk(refused), &StopCause{Reason: "sig"}, OutcomeStopped},
	}
	for _, tc := range cases {
		tc.report.Stop = tc.stop
		if got := tc.report.Outcome(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// DAEMON: minimumHealthyPercent is raised to at least 100-TASK_REPLICA_AFFECTED_PERC for the chaos deployment,
// never lowered (a daemon deployment stops tasks first, within minimumHealthyPercent; the API default is 0, SDK doc
// of types.DeploymentConfiguration.MinimumHealthyPercent); maximumPercent stays.
func TestDaemonChaosMinimumHealthyPercent(t *testing.T) {
	cases := []struct {
		name    string
		own     *int32
		percent int
		wantMin int32
	}{
		{"absent is the API default 0, raised", nil, 50, 50},
		{"0 at 100% stays 0", aws.Int32(0), 100, 0},
		{"0 at 30% becomes 70", aws.Int32(0), 30, 70},
		{"own 80 at 50% keeps 80", aws.Int32(80), 50, 80},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon, DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: tc.own, MaximumPercent: aws.Int32(100)}}
			got := chaosDeploymentConfiguration(&svc, tc.percent)
			if aws.ToInt32(got.MinimumHealthyPercent) != tc.wantMin || aws.ToInt32(got.MaximumPercent) != 100 {
				t.Errorf("minimumHealthyPercent %d maximumPercent %d, want %d and 100", aws.ToInt32(got.MinimumHealthyPercent), aws.ToInt32(got.MaximumPercent), tc.wantMin)
			}
			if aws.ToInt32(svc.DeploymentConfiguration.MinimumHealthyPercent) != aws.ToInt32(tc.own) {
				t.Error("the service's own configuration was modified")
			}
		})
	}
}

// Issue 13, finding 2: copying a configuration with a lifecycle hook's hookDetails document panicked (encoding/json
// cannot decode a document.Interface). The copy, the marker's text form and the comparison keep the document.
func TestDeploymentConfigurationWithHookDetails(t *testing.T) {
	dc := &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5),
		LifecycleHooks: []types.DeploymentLifecycleHook{{
			HookTargetArn:   aws.String("arn:aws:lambda:us-east-1:123456789012:function:smoke"),
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp},
			HookDetails:     document.NewLazyDocument(map[string]any{"suite": "smoke", "n": 3}),
		}}}
	clone := cloneDeploymentConfiguration(dc)
	if clone == nil || len(clone.LifecycleHooks) != 1 || clone.LifecycleHooks[0].HookDetails == nil {
		t.Fatalf("clone lost the hook: %+v", clone)
	}
	if !sameDeploymentConfiguration(clone, dc) {
		t.Errorf("clone differs: %s vs %s", cliJSON(clone), cliJSON(dc))
	}
	changed := cloneDeploymentConfiguration(dc)
	changed.LifecycleHooks[0].HookDetails = document.NewLazyDocument(map[string]any{"suite": "full", "n": 3})
	if sameDeploymentConfiguration(changed, dc) {
		t.Error("configurations with different hook details compare equal")
	}
	text := encodeDeploymentConfiguration(dc)
	if !strings.Contains(text, `"hookDetails":{"n":3,"suite":"smoke"}`) && !strings.Contains(text, `"suite":"smoke"`) {
		t.Errorf("marker text lost the hook details: %s", text)
	}
	back, err := decodeDeploymentConfiguration(text)
	if err != nil || !sameDeploymentConfiguration(back, dc) {
		t.Errorf("marker text does not read back: %v, %s", err, cliJSON(back))
	}
	// A marker written by an older binary (encoding/json of the SDK struct) still reads.
	legacy, err := decodeDeploymentConfiguration(`{"MaximumPercent":150,"MinimumHealthyPercent":100,"DeploymentCircuitBreaker":{"Enable":true,"Rollback":true}}`)
	if err != nil || aws.ToInt32(legacy.MaximumPercent) != 150 || !legacy.DeploymentCircuitBreaker.Rollback {
		t.Errorf("legacy marker: %+v, %v", legacy, err)
	}
}
