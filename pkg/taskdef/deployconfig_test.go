package taskdef

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/document"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// hookedConfiguration is a blue/green configuration with a Lambda lifecycle hook whose hookDetails document holds
// nested values of every JSON kind (the SDK doc of DeploymentLifecycleHook.HookDetails: "custom parameters that
// Amazon ECS passes to your Lambda function on each invocation").
func hookedConfiguration() *types.DeploymentConfiguration {
	return &types.DeploymentConfiguration{
		Strategy:                 types.DeploymentStrategyBlueGreen,
		BakeTimeInMinutes:        aws.Int32(5),
		MaximumPercent:           aws.Int32(200),
		MinimumHealthyPercent:    aws.Int32(100),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		Alarms:                   &types.DeploymentAlarms{AlarmNames: []string{"p99"}, Enable: true, Rollback: false},
		LinearConfiguration:      &types.LinearConfiguration{StepPercent: aws.Float64(12.5), StepBakeTimeInMinutes: aws.Int32(3)},
		LifecycleHooks: []types.DeploymentLifecycleHook{{
			HookTargetArn:   aws.String("arn:aws:lambda:us-east-1:123456789012:function:smoke"),
			RoleArn:         aws.String("arn:aws:iam::123456789012:role/ecs-hooks"),
			TargetType:      types.DeploymentLifecycleHookTargetTypeAwsLambda,
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostScaleUp, types.DeploymentLifecycleHookStagePostTestTrafficShift},
			HookDetails: document.NewLazyDocument(map[string]any{
				"suite": "smoke", "retries": 3, "ratio": 0.25, "strict": true, "paths": []any{"/health", "/ready"},
				"nested": map[string]any{"empty": nil, "n": 12345678901},
			}),
		}},
	}
}

// hookDetails decodes a hook's document into plain Go values for comparison.
func hookDetails(t *testing.T, dc *types.DeploymentConfiguration) any {
	t.Helper()
	if len(dc.LifecycleHooks) == 0 || dc.LifecycleHooks[0].HookDetails == nil {
		t.Fatal("configuration has no hook details")
	}
	raw, err := dc.LifecycleHooks[0].HookDetails.MarshalSmithyDocument()
	if err != nil {
		t.Fatalf("marshal hook details: %v", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("hook details %s: %v", raw, err)
	}
	return v
}

func TestDeploymentConfigurationRoundTripKeepsHookDetails(t *testing.T) {
	in := hookedConfiguration()
	body, err := MarshalDeploymentConfiguration(in)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	for _, want := range []string{`"hookDetails":{`, `"suite":"smoke"`, `"strategy":"BLUE_GREEN"`, `"bakeTimeInMinutes":5`, `"stepPercent":12.5`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("wire form %s lacks %s", body, want)
		}
	}
	out, err := UnmarshalDeploymentConfiguration(body)
	if err != nil {
		t.Fatalf("unmarshal %s: %v", body, err)
	}
	if got, want := hookDetails(t, out), hookDetails(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("hook details after the round trip = %v, want %v", got, want)
	}
	again, err := MarshalDeploymentConfiguration(out)
	if err != nil {
		t.Fatalf("marshal the copy: %v", err)
	}
	if string(again) != string(body) {
		t.Errorf("second round trip differs:\n%s\n%s", again, body)
	}
	// Everything but the document compares as plain data.
	in.LifecycleHooks[0].HookDetails, out.LifecycleHooks[0].HookDetails = nil, nil
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the configuration:\n got %+v\nwant %+v", out, in)
	}
}

// encoding/json, which the fault used before, cannot read a hook's document back: the reason a copy through it
// crashed the pod on services with lifecycle hooks.
func TestEncodingJSONCannotCopyHookDetails(t *testing.T) {
	data, err := json.Marshal(hookedConfiguration())
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out types.DeploymentConfiguration
	if err := json.Unmarshal(data, &out); err == nil {
		t.Fatal("encoding/json decoded a document.Interface; the wire codec would no longer be needed")
	}
}

func TestCloneDeploymentConfiguration(t *testing.T) {
	if got, err := CloneDeploymentConfiguration(nil); got != nil || err != nil {
		t.Errorf("clone of nil = %v, %v", got, err)
	}
	in := hookedConfiguration()
	out, err := CloneDeploymentConfiguration(in)
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	out.LifecycleHooks[0].LifecycleStages[0] = types.DeploymentLifecycleHookStagePreScaleUp
	*out.MaximumPercent = 150
	if in.LifecycleHooks[0].LifecycleStages[0] != types.DeploymentLifecycleHookStagePostScaleUp || *in.MaximumPercent != 200 {
		t.Error("the clone shares memory with the original")
	}
}

func TestUnmarshalDeploymentConfigurationRefuses(t *testing.T) {
	for _, bad := range []string{"", "[]", "max=200", `{"maximumPercent":"two hundred"}`} {
		if _, err := UnmarshalDeploymentConfiguration([]byte(bad)); err == nil {
			t.Errorf("UnmarshalDeploymentConfiguration(%q) accepted it", bad)
		}
	}
}
