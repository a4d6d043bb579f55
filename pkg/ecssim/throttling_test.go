package ecssim

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	smithy "github.com/aws/smithy-go"
)

// TestDocumentedThrottlingBuckets drives ECSRateLimits through the SDK. "Request throttling for the Amazon ECS API"
// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html) gives one bucket per category
// of actions, per account and Region: RegisterTaskDefinition and DeregisterTaskDefinition are both "Task definition
// modify actions" (burst 20, refill 1/s), ListTasks and DescribeTasks both "Cluster resource read actions" (burst
// 100, refill 20/s), and DescribeServices is a "Service read action" with its own bucket. The simulator's clock is a
// manual one: the buckets refill only when the test advances it.
func TestDocumentedThrottlingBuckets(t *testing.T) {
	s, c, ctx := startScaled(t, Options{}, noRetries)
	clk := s.clk.(*manualClock)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	for action, l := range ECSRateLimits() {
		s.SetRateLimit(action, l)
	}
	register := func() (string, error) {
		out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: registerInput("nginx")})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
	}
	deregister := func(arn string) error {
		_, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		return err
	}
	describeServices := func() error {
		_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		return err
	}
	listTasks := func() error {
		_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod")})
		return err
	}
	describeTasks := func() error {
		_, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{"arn:aws:ecs:us-east-1:123456789012:task/prod/0"}})
		return err
	}

	// 20 calls, half registrations and half deregistrations, empty the one task definition modify bucket.
	arn := ""
	for i := range 10 {
		var err error
		if arn, err = register(); err != nil {
			t.Fatalf("registration %d of the burst: %v", i, err)
		}
		if err := deregister(arn); err != nil {
			t.Fatalf("deregistration %d of the burst: %v", i, err)
		}
	}
	for _, next := range []struct {
		action string
		call   func() error
	}{
		{"RegisterTaskDefinition", func() error { _, err := register(); return err }},
		{"DeregisterTaskDefinition", func() error { return deregister(arn) }},
	} {
		if err := next.call(); !rateExceeded(err) {
			t.Errorf("%s after 20 task definition modify calls: %v, want ThrottlingException: Rate exceeded", next.action, err)
		}
	}
	if err := describeServices(); err != nil {
		t.Errorf("DescribeServices, another bucket, after the task definition modify bucket ran dry: %v", err)
	}
	// One second refills one token, for either action.
	clk.Advance(time.Second)
	if _, err := register(); err != nil {
		t.Errorf("RegisterTaskDefinition a second later: %v", err)
	}
	if err := deregister(arn); !rateExceeded(err) {
		t.Errorf("DeregisterTaskDefinition after the refilled token went to a registration: %v, want ThrottlingException", err)
	}

	// 100 calls, half ListTasks and half DescribeTasks, empty the one cluster resource read bucket.
	for i := range 50 {
		if err := listTasks(); err != nil {
			t.Fatalf("ListTasks %d of the burst: %v", i, err)
		}
		if err := describeTasks(); err != nil {
			t.Fatalf("DescribeTasks %d of the burst: %v", i, err)
		}
	}
	if err := listTasks(); !rateExceeded(err) {
		t.Errorf("ListTasks after 100 cluster resource reads: %v, want ThrottlingException", err)
	}
	if err := describeTasks(); !rateExceeded(err) {
		t.Errorf("DescribeTasks after 100 cluster resource reads: %v, want ThrottlingException", err)
	}
	if err := describeServices(); err != nil {
		t.Errorf("DescribeServices after the cluster resource read bucket ran dry: %v", err)
	}
}

// TestUndocumentedActionsAreNotThrottled: StopServiceDeployment is not in ECS's table, so ECSRateLimits leaves it
// out and the simulator never throttles it (our decision, not a documented rate).
func TestUndocumentedActionsAreNotThrottled(t *testing.T) {
	limits := ECSRateLimits()
	if l, ok := limits["StopServiceDeployment"]; ok {
		t.Errorf("StopServiceDeployment has a limit %+v; ECS documents none", l)
	}
	if reg, dereg := limits["RegisterTaskDefinition"], limits["DeregisterTaskDefinition"]; reg.Bucket == "" || reg != dereg {
		t.Errorf("RegisterTaskDefinition %+v and DeregisterTaskDefinition %+v do not share one bucket", reg, dereg)
	}
}

// rateExceeded reports whether err is ECS's throttling error, word for word.
func rateExceeded(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ThrottlingException" && apiErr.ErrorMessage() == "Rate exceeded"
}
