package ecssim

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

// TestOverlappingRegistrationsInOneFamily: a registration that arrives while another of the same family is in
// flight is refused with ECS's ClientException, word for word; other families, and registrations that waited for
// the previous reply, go through.
func TestOverlappingRegistrationsInOneFamily(t *testing.T) {
	s, c, ctx := startScaled(t, Options{}, noRetries)
	clk := s.clk.(*manualClock)
	const window = 2 * time.Second
	s.SetRegistrationWindow(window)
	register := func(family string) (*ecs.RegisterTaskDefinitionOutput, error) {
		return c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String(family),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
		})
	}
	type reply struct {
		out *ecs.RegisterTaskDefinitionOutput
		err error
	}
	inFlight := func(family string) <-chan reply {
		done := make(chan reply, 1)
		go func() {
			out, err := register(family)
			done <- reply{out, err}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !s.regs.busy(family) {
			if time.Now().After(deadline) {
				t.Fatalf("the registration of %s never reached the simulator", family)
			}
			time.Sleep(time.Millisecond)
		}
		return done
	}

	first := inFlight("web")
	_, err := register("web")
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ClientException" ||
		apiErr.ErrorMessage() != "Too many concurrent attempts to create a new revision of the specified family." {
		t.Fatalf("overlapping registration: got %v, want ECS's ClientException", err)
	}
	other := inFlight("api") // another family is not locked by web's registration
	clk.Advance(window)
	for name, ch := range map[string]<-chan reply{"web": first, "api": other} {
		r := <-ch
		if r.err != nil || r.out.TaskDefinition.Revision != 1 {
			t.Fatalf("%s: first registration: %v", name, r.err)
		}
	}
	// The refused call registered nothing, and the family is free again once the reply left.
	next := inFlight("web")
	clk.Advance(window)
	if r := <-next; r.err != nil || r.out.TaskDefinition.Revision != 2 {
		t.Fatalf("registration after the window: %v, want revision 2", r.err)
	}
}

// TestSharedThrottlingBucket: ECS throttles DescribeTasks and DescribeContainerInstances from one bucket, so calls
// of either drain it for both; other actions keep their own.
func TestSharedThrottlingBucket(t *testing.T) {
	s, c, ctx := startScaled(t, Options{}, noRetries)
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	limits := ECSRateLimits()
	if limits["DescribeTasks"].Bucket == "" || limits["DescribeTasks"].Bucket != limits["DescribeContainerInstances"].Bucket {
		t.Fatalf("ECSRateLimits does not put DescribeTasks and DescribeContainerInstances in one bucket: %+v", limits)
	}
	shared := RateLimit{Burst: 2, PerSecond: 0.001, Bucket: "describe-tasks"}
	s.SetRateLimit("DescribeTasks", shared)
	s.SetRateLimit("DescribeContainerInstances", shared)
	s.SetRateLimit("ListTasks", RateLimit{Burst: 2, PerSecond: 0.001})
	describeTasks := func() error {
		_, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{"arn:aws:ecs:us-east-1:123456789012:task/prod/0"}})
		return err
	}
	if err := describeTasks(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	// The second token of the shared bucket goes to the other action (the simulator serves no
	// DescribeContainerInstances, so its call is made at the bucket itself).
	s.reqMu.Lock()
	over := s.overLimit("DescribeContainerInstances")
	s.reqMu.Unlock()
	if over {
		t.Fatal("DescribeContainerInstances was throttled with a token left in its bucket")
	}
	if err := describeTasks(); errorCode(err) != "ThrottlingException" {
		t.Fatalf("DescribeTasks after the shared bucket ran dry: %v, want ThrottlingException", err)
	}
	if _, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod")}); err != nil {
		t.Fatalf("ListTasks has its own bucket, with a token left: %v", err)
	}
}
