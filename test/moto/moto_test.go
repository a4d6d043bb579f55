package moto

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

func TestRewriteECSBody(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "describe tasks numbers become strings",
			in:   `{"tasks":[{"containers":[{"name":"app","cpu":64,"memory":128}],"cpu":"256"}],"failures":[]}`,
			want: `{"failures":[],"tasks":[{"containers":[{"cpu":"64","memory":"128","name":"app"}],"cpu":"256"}]}`,
		},
		{
			name: "stop task single task",
			in:   `{"task":{"containers":[{"cpu":0}]}}`,
			want: `{"task":{"containers":[{"cpu":"0"}]}}`,
		},
		{
			name: "container definitions keep integer cpu",
			in:   `{"taskDefinition": {"containerDefinitions":[{"cpu": 64}]}}`,
			want: `{"taskDefinition": {"containerDefinitions":[{"cpu": 64}]}}`,
		},
		{
			name: "strings already are left byte for byte",
			in:   `{"tasks": [{"containers": [{"cpu": "64"}]}]}`,
			want: `{"tasks": [{"containers": [{"cpu": "64"}]}]}`,
		},
		{
			name: "large integers and timestamps survive",
			in:   `{"tasks":[{"containers":[{"memory":1}],"createdAt":1795911925.481,"version":9007199254740993}]}`,
			want: `{"tasks":[{"containers":[{"memory":"1"}],"createdAt":1795911925.481,"version":9007199254740993}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rewriteECSBody([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestXMLErrorToJSON(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{
			name: "access denied",
			in: `<?xml version="1.0" encoding="utf-8"?>
<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/chaos is not authorized to perform: ecs:ListClusters</Message><Type>Sender</Type></Error></Errors></ErrorResponse>`,
			want:   `{"__type":"AccessDenied","message":"User: arn:aws:iam::123456789012:user/chaos is not authorized to perform: ecs:ListClusters"}`,
			wantOK: true,
		},
		{
			name:   "unknown key",
			in:     `<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error></Errors></ErrorResponse>`,
			want:   `{"__type":"InvalidClientTokenId","message":"The security token included in the request is invalid."}`,
			wantOK: true,
		},
		{name: "html error page", in: `<html><body>500</body></html>`},
		{name: "not xml", in: `oops`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := xmlErrorToJSON([]byte(tc.in))
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMotoEnvDropsHostAWSAndMotoSettings(t *testing.T) {
	parent := []string{"PATH=/bin", "AWS_SECRET_ACCESS_KEY=x", "MOTO_ECS_SERVICE_RUNNING=9", "INITIAL_NO_AUTH_ACTION_COUNT=1", "HOME=/root"}
	got := strings.Join(motoEnv(parent, options{noAuthCalls: 3, env: []string{"MOTO_ECS_SERVICE_RUNNING=2"}}), " ")
	want := "PATH=/bin HOME=/root PYTHONUNBUFFERED=1 INITIAL_NO_AUTH_ACTION_COUNT=3 MOTO_ECS_SERVICE_RUNNING=2"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// fatalRecorder is a testing.TB whose Fatalf ends only the goroutine calling it, so that a test can check
// that Start fails (and does not skip) without failing itself.
type fatalRecorder struct {
	testing.TB
	mu       sync.Mutex
	msg      string
	skipped  bool
	cleanups []func()
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fatalRecorder) Skip(...any)          { f.skipped = true; runtime.Goexit() }
func (f *fatalRecorder) Skipf(string, ...any) { f.skipped = true; runtime.Goexit() }
func (f *fatalRecorder) SkipNow()             { f.skipped = true; runtime.Goexit() }
func (f *fatalRecorder) Cleanup(fn func())    { f.cleanups = append(f.cleanups, fn) }

func startExpectingFailure(t *testing.T, opts ...Option) string {
	t.Helper()
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(rec, opts...)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Start did not return")
	}
	for i := len(rec.cleanups) - 1; i >= 0; i-- {
		rec.cleanups[i]()
	}
	if rec.skipped {
		t.Fatal("Start skipped; it must fail")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.msg
}

func TestStartFailsLoudly(t *testing.T) {
	t.Run("binary missing", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		msg := startExpectingFailure(t)
		if !strings.Contains(msg, "moto_server not found") {
			t.Fatalf("message %q does not say moto_server is missing", msg)
		}
	})
	t.Run("not ready in time", func(t *testing.T) {
		msg := startExpectingFailure(t, WithStartTimeout(time.Millisecond))
		if !strings.Contains(msg, "not ready within") && !strings.Contains(msg, "exited before") {
			t.Fatalf("message %q does not say moto_server failed to start", msg)
		}
	})
}

// TestServer runs every scenario against one moto_server, resetting it between subtests.
func TestServer(t *testing.T) {
	srv := Start(t)
	cfg := srv.AWSConfig(t)

	t.Run("reset drops resources", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		client := ecs.NewFromConfig(cfg)
		if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
			t.Fatal(err)
		}
		srv.Reset(t)
		out, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ClusterArns) != 0 {
			t.Fatalf("clusters after Reset: %v", out.ClusterArns)
		}
	})

	t.Run("tasks decode through the proxy and not without it", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		client := ecs.NewFromConfig(cfg)
		taskArn := runOneTask(ctx, t, client)

		out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c1"), Tasks: []string{taskArn}})
		if err != nil {
			t.Fatalf("DescribeTasks through the proxy: %v", err)
		}
		if got := aws.ToString(out.Tasks[0].Containers[0].Cpu); got != "64" {
			t.Fatalf("container cpu = %q, want \"64\"", got)
		}
		if got := aws.ToString(out.Tasks[0].Containers[0].Memory); got != "128" {
			t.Fatalf("container memory = %q, want \"128\"", got)
		}

		rawCfg := cfg.Copy()
		rawCfg.BaseEndpoint = aws.String(srv.RawURL)
		_, err = ecs.NewFromConfig(rawCfg).DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c1"), Tasks: []string{taskArn}})
		if err == nil {
			t.Fatal("DescribeTasks straight from moto decoded: the rewrite is no longer needed, remove it from proxy.go")
		}
	})

	t.Run("sts assume role and web identity", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		const role = "arn:aws:iam::123456789012:role/chaos"
		assumed := cfg.Copy()
		assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role))
		id, err := sts.NewFromConfig(assumed).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if want := "arn:aws:sts::123456789012:assumed-role/chaos/"; !strings.HasPrefix(aws.ToString(id.Arn), want) {
			t.Fatalf("caller %s, want prefix %s", aws.ToString(id.Arn), want)
		}

		anonymous := cfg.Copy()
		anonymous.Credentials = aws.AnonymousCredentials{}
		web, err := sts.NewFromConfig(anonymous).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role), RoleSessionName: aws.String("irsa"), WebIdentityToken: aws.String("not-a-jwt"),
		})
		if err != nil {
			t.Fatalf("AssumeRoleWithWebIdentity with an unchecked token: %v", err)
		}
		if aws.ToString(web.Credentials.AccessKeyId) == "" || web.Credentials.Expiration == nil {
			t.Fatalf("web identity returned no usable credentials: %+v", web.Credentials)
		}
	})

	t.Run("cloudwatch needs the query protocol", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		cbor := cloudwatch.NewFromConfig(cfg)
		if _, err := cbor.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err == nil {
			t.Fatal("moto answered the SDK's default rpcv2Cbor protocol: drop the awsquery override from the README")
		}
		cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
			o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
		})
		_, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String("cpu-high"), MetricName: aws.String("CPUUtilization"), Namespace: aws.String("AWS/ECS"),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1),
			Period: aws.Int32(60), Statistic: cwtypes.StatisticAverage, Threshold: aws.Float64(90),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
			AlarmName: aws.String("cpu-high"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test"),
		}); err != nil {
			t.Fatal(err)
		}
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"cpu-high"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.MetricAlarms) != 1 || out.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm {
			t.Fatalf("alarms = %+v, want cpu-high in ALARM", out.MetricAlarms)
		}
	})

	t.Run("iam enforcement checks only the called action", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:RegisterTaskDefinition","ecs:DescribeTaskDefinition"],"Resource":"*"}]}`
		keys := srv.CreateIAMUser(ctx, t, "chaos", policy)
		srv.EnforceIAM(t, 0)
		t.Cleanup(func() { srv.Reset(t) })

		user := cfg.Copy()
		user.Credentials = credentials.StaticCredentialsProvider{Value: keys}
		client := ecs.NewFromConfig(user)
		// AWS authorizes these tags as ecs:TagResource too (the policy lacks it); moto does not.
		_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("nginx:1"), Memory: aws.Int32(128),
			}},
			Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
		})
		if err != nil {
			t.Fatalf("RegisterTaskDefinition with tags but without ecs:TagResource: %v", err)
		}

		_, err = client.ListClusters(ctx, &ecs.ListClustersInput{})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("ListClusters without permission: err = %v, want an API error", err)
		}
		if apiErr.ErrorCode() != "AccessDenied" || !strings.Contains(apiErr.ErrorMessage(), "ecs:ListClusters") {
			t.Fatalf("ListClusters without permission: code %q message %q, want AccessDenied naming ecs:ListClusters",
				apiErr.ErrorCode(), apiErr.ErrorMessage())
		}

		_, err = ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{})
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidClientTokenId" {
			t.Fatalf("unknown access key: err = %v, want InvalidClientTokenId", err)
		}
	})

	t.Run("iam enforcement with an assumed role checks trust and role policies", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		keys := srv.CreateIAMUser(ctx, t, "runner",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
		trustRunner := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/runner"},"Action":"sts:AssumeRole"}]}`
		trustNobody := strings.ReplaceAll(trustRunner, "user/runner", "user/nobody")
		ecsList := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:ListClusters","Resource":"*"}]}`
		trusted := srv.CreateIAMRole(ctx, t, "chaos", trustRunner, ecsList)
		untrusted := srv.CreateIAMRole(ctx, t, "other", trustNobody, ecsList)
		srv.EnforceIAM(t, 0)
		t.Cleanup(func() { srv.Reset(t) })

		assume := func(role string) *ecs.Client {
			c := cfg.Copy()
			base := cfg.Copy()
			base.Credentials = credentials.StaticCredentialsProvider{Value: keys}
			c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), role))
			return ecs.NewFromConfig(c)
		}
		if _, err := assume(trusted).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Fatalf("ListClusters allowed by the role's policy: %v", err)
		}
		var apiErr smithy.APIError
		_, err := assume(trusted).ListServices(ctx, &ecs.ListServicesInput{})
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" || !strings.Contains(apiErr.ErrorMessage(), "assumed-role/chaos/") {
			t.Fatalf("ListServices outside the role's policy: %v, want AccessDenied naming the assumed role", err)
		}
		_, err = assume(untrusted).ListClusters(ctx, &ecs.ListClustersInput{})
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" || !strings.Contains(apiErr.ErrorMessage(), "sts:AssumeRole") {
			t.Fatalf("assuming a role whose trust policy names someone else: %v, want AccessDenied for sts:AssumeRole", err)
		}
	})
}

// runOneTask registers a bridge-mode task definition and runs one FARGATE task: moto places FARGATE tasks
// without container instances, and a non-awsvpc task definition needs no EC2 subnet.
func runOneTask(ctx context.Context, t *testing.T, client *ecs.Client) string {
	t.Helper()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("nginx:1"), Cpu: 64, Memory: aws.Int32(128),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String("c1"), TaskDefinition: aws.String("web"), LaunchType: ecstypes.LaunchTypeFargate,
	})
	if err != nil {
		t.Fatalf("RunTask through the proxy: %v", err)
	}
	return aws.ToString(run.Tasks[0].TaskArn)
}
