package motofault

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/test/moto"
)

// testAlarms checks EXPECT_ALARMS' watcher against moto's CloudWatch: an alarm that goes to ALARM during the watch is
// reported with its time, one that stays OK is named as silent, and a name CloudWatch does not know is named too.
func testAlarms(t *testing.T, srv *moto.Server) {
	ctx := t.Context()
	srv.Reset(t)
	// moto serves CloudWatch's query protocol only, not the rpcv2Cbor the SDK now speaks by default.
	cw := cloudwatch.NewFromConfig(srv.AWSConfig(t), func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
	})
	for _, name := range []string{"ecs-running-low", "ecs-pending-high"} {
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String("AWS/ECS"), MetricName: aws.String("RunningTaskCount"),
			Statistic: cwtypes.StatisticMinimum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
		})
		check(t, "PutMetricAlarm "+name, err)
		_, err = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: cwtypes.StateValueOk, StateReason: aws.String("test setup")})
		check(t, "SetAlarmState OK "+name, err)
	}
	names := []string{"ecs-running-low", "ecs-pending-high", "typo-alarm"}
	c := clock.Real{}
	start := c.Now()
	w := alarms.Start(ctx, cw, names, 50*time.Millisecond, c)
	time.Sleep(150 * time.Millisecond) // a few polls in OK; moto has no clock to scale
	_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("ecs-running-low"), StateValue: cwtypes.StateValueAlarm,
		StateReason: aws.String("chaos"), StateReasonData: aws.String(`{"version":"1.0"}`)})
	check(t, "SetAlarmState ALARM", err)
	obs := w.Stop(ctx)

	if _, ok := obs.Reached["ecs-running-low"]; !ok {
		t.Errorf("the alarm set to ALARM during the watch was not seen: %+v", obs)
	}
	if _, ok := obs.Reached["ecs-pending-high"]; ok {
		t.Errorf("an alarm that stayed OK was reported as reached")
	}
	passed, desc := alarms.Judge(names, obs, start)
	if passed || desc != "CloudWatch has no alarm named typo-alarm in this region" {
		t.Errorf("Judge with an unknown name = %v, %q", passed, desc)
	}
	passed, desc = alarms.Judge(names[:2], obs, start)
	if passed || desc != "never reached ALARM during the fault: ecs-pending-high" {
		t.Errorf("Judge with a silent alarm = %v, %q", passed, desc)
	}
	if passed, desc = alarms.Judge(names[:1], obs, start); !passed {
		t.Errorf("Judge with the fired alarm failed: %q", desc)
	}
}
