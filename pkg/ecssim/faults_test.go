package ecssim

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

func noRetries(o *ecs.Options) { o.Retryer = aws.NopRetryer{} }

func TestFaultThrottleAndServerError(t *testing.T) {
	s, c, ctx := startScaled(t, Options{}, noRetries)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	describe := func(cl *ecs.Client) error {
		_, err := cl.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
		return err
	}

	s.SetFault("DescribeClusters", Fault{Throttle: 2})
	for i := range 2 {
		if err := describe(c); errorCode(err) != "ThrottlingException" {
			t.Fatalf("call %d: want ThrottlingException, got %v", i, err)
		}
	}
	if err := describe(c); err != nil {
		t.Fatalf("throttle burst should be over: %v", err)
	}

	s.SetFault("*", Fault{ServerError: 1})
	err := describe(c)
	var respErr *smithyhttp.ResponseError
	if errorCode(err) != "ServerException" || !errorAs(err, &respErr) || respErr.HTTPStatusCode() != http.StatusInternalServerError {
		t.Fatalf("want HTTP 500 ServerException, got %v", err)
	}

	// The standard retryer rides out a short burst: two throttles, then success on the third attempt.
	s.ClearFaults()
	s.SetFault("DescribeClusters", Fault{Throttle: 2})
	s.ResetRequests()
	retrying := ecs.New(c.Options(), func(o *ecs.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.Backoff = noBackoff{}; so.MaxAttempts = 3 })
	})
	if err := describe(retrying); err != nil {
		t.Fatalf("retries should absorb 2 throttles: %v", err)
	}
	var codes []string
	for _, r := range s.Requests() {
		codes = append(codes, r.Operation+":"+r.ErrorCode)
	}
	if strings.Join(codes, ",") != "DescribeClusters:ThrottlingException,DescribeClusters:ThrottlingException,DescribeClusters:" {
		t.Fatalf("request log: %v", codes)
	}

	// An injected error for a number of calls.
	s.SetFault("RegisterTaskDefinition", Fault{Error: &APIError{Code: "AccessDeniedException", Message: "User is not authorized to perform: ecs:RegisterTaskDefinition"}, ErrorCount: 1})
	_, err = c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: registerInput("nginx")})
	if errorCode(err) != "AccessDeniedException" {
		t.Fatalf("want AccessDeniedException, got %v", err)
	}
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: registerInput("nginx")}); err != nil {
		t.Fatalf("ErrorCount 1 must affect one call only: %v", err)
	}
	if out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("x")}); err != nil || out.TaskDefinition.Revision != 1 {
		t.Fatalf("the refused call must not have registered anything: %+v %v", out, err)
	}
}

// A mutating call whose reply is dropped has still taken effect, as on AWS.
func TestFaultDropKeepsEffect(t *testing.T) {
	s, c, ctx := startScaled(t, Options{}, noRetries)
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 1}); err != nil {
		t.Fatal(err)
	}
	v2 := registerRevision(ctx, t, c, "web", "nginx")
	var mu sync.Mutex
	var seen []Request
	s.OnRequest(func(r Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
	})
	s.SetFault("UpdateService", Fault{Drop: 1})
	_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(v2)})
	if err == nil || errorCode(err) != "" {
		t.Fatalf("want a transport error from the dropped connection, got %v", err)
	}
	svc := describeService(ctx, t, c, "prod", "web")
	if aws.ToString(svc.TaskDefinition) != v2 || aws.ToString(primary(svc).TaskDefinition) != v2 {
		t.Fatalf("the dropped UpdateService did not take effect:\n%s", summarize(svc))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0].Operation != "UpdateService" || !seen[0].Mutating || !strings.Contains(seen[0].Summary, "taskDefinition="+v2) ||
		seen[1].Operation != "DescribeServices" || seen[1].Mutating {
		t.Fatalf("OnRequest saw %+v", seen)
	}
}

func TestFaultLatencyAndRateLimit(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Clock: clock.NewScaled(testScale)}, noRetries)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	s.SetFault("CreateCluster", Fault{Latency: 30 * time.Second})
	start := s.Now()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	if took := s.Now().Sub(start); took < 30*time.Second {
		t.Fatalf("reply came after %v of simulated time, want 30s of latency", took)
	}
	s.ClearFaults()

	limits := ECSRateLimits()["RegisterTaskDefinition"]
	if limits.Burst != 20 || limits.PerSecond != 1 {
		t.Fatalf("documented RegisterTaskDefinition limits: %+v", limits)
	}
	s.SetRateLimit("RegisterTaskDefinition", RateLimit{Burst: 3, PerSecond: 0.01})
	var throttled int
	for range 5 {
		_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: registerInput("nginx")})
		if errorCode(err) == "ThrottlingException" {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled != 2 {
		t.Fatalf("burst 3 of 5 calls: %d throttled, want 2", throttled)
	}
	s.SetRateLimit("RegisterTaskDefinition", RateLimit{})
	if _, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: registerInput("nginx")}); err != nil {
		t.Fatalf("limit removed: %v", err)
	}
}
