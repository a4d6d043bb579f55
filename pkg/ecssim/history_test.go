package ecssim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	digestV1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digestV2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func serviceDeployments(ctx context.Context, t *testing.T, c *ecs.Client, cluster, name string) []types.ServiceDeployment {
	t.Helper()
	list, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(cluster), Service: aws.String(name)})
	if err != nil {
		t.Fatalf("ListServiceDeployments: %v", err)
	}
	var arns []string
	for _, b := range list.ServiceDeployments {
		arns = append(arns, aws.ToString(b.ServiceDeploymentArn))
	}
	out, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns})
	if err != nil {
		t.Fatalf("DescribeServiceDeployments: %v", err)
	}
	return out.ServiceDeployments
}

func revisionDigest(ctx context.Context, t *testing.T, c *ecs.Client, arn string) (taskDef, digest string) {
	t.Helper()
	out, err := c.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{arn}})
	if err != nil || len(out.ServiceRevisions) != 1 {
		t.Fatalf("DescribeServiceRevisions(%s): %v %v", arn, err, out)
	}
	r := out.ServiceRevisions[0]
	if len(r.ContainerImages) != 1 {
		t.Fatalf("revision %s has %d container images", arn, len(r.ContainerImages))
	}
	return aws.ToString(r.TaskDefinition), aws.ToString(r.ContainerImages[0].ImageDigest)
}

func runningDigests(ctx context.Context, t *testing.T, c *ecs.Client, cluster, name string) map[string]int {
	t.Helper()
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(name)})
	if err != nil || len(list.TaskArns) == 0 {
		t.Fatalf("ListTasks: %v (%d tasks)", err, len(list.TaskArns))
	}
	desc, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	out := map[string]int{}
	for _, task := range desc.Tasks {
		if aws.ToString(task.LastStatus) == "RUNNING" {
			out[aws.ToString(task.Containers[0].ImageDigest)]++
		}
	}
	return out
}

func steady(want string) func(types.Service) bool {
	return func(svc types.Service) bool {
		return aws.ToString(svc.TaskDefinition) == want && len(svc.Deployments) == 1 &&
			svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && svc.RunningCount == svc.DesiredCount
	}
}

// The circuit breaker's rollback is recorded in the service deployment it rolls back
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html: "the details of a
// rollback if one occurred", "the number of failed tasks the circuit break detected"; types.Rollback,
// types.ServiceDeploymentCircuitBreaker), and the rollback runs the earlier service revision with its digest.
func TestCircuitBreakerRollbackIsRecorded(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	s.AddImage("registry.example/app:stable", digestV1)
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "api", Family: "api", DesiredCount: 2, Image: "registry.example/app:stable",
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}); err != nil {
		t.Fatal(err)
	}
	original := aws.ToString(describeService(ctx, t, c, "prod", "api").TaskDefinition)
	first := serviceDeployments(ctx, t, c, "prod", "api")
	if len(first) != 1 || first[0].Status != types.ServiceDeploymentStatusSuccessful {
		t.Fatalf("after create: %d service deployments, want one SUCCESSFUL: %+v", len(first), first)
	}
	originalRevision := aws.ToString(first[0].TargetServiceRevision.Arn)
	if td, d := revisionDigest(ctx, t, c, originalRevision); td != original || d != digestV1 {
		t.Fatalf("original revision runs %s with %s, want %s with %s", td, d, original, digestV1)
	}
	mustMoveTag(t, s, "registry.example/app:stable", digestV2)

	updateTaskDefinition(ctx, t, c, "prod", "api", registerRevision(ctx, t, c, "api", "registry.example/app:missing"))
	chaosARN := aws.ToString(describeService(ctx, t, c, "prod", "api").CurrentServiceDeployment)
	var sawInProgress bool
	watch(ctx, t, s, c, "prod", "api", 5*time.Minute, func(types.Service) {
		out, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{chaosARN}})
		if err != nil || len(out.ServiceDeployments) != 1 {
			t.Fatalf("describe %s: %v", chaosARN, err)
		}
		sawInProgress = sawInProgress || out.ServiceDeployments[0].Status == types.ServiceDeploymentStatusRollbackInProgress
	}, steady(original))

	list := serviceDeployments(ctx, t, c, "prod", "api")
	if len(list) != 2 || aws.ToString(list[0].ServiceDeploymentArn) != chaosARN {
		t.Fatalf("want 2 service deployments, newest (the failed one) first: %+v", list)
	}
	d := list[0]
	if !sawInProgress || d.Status != types.ServiceDeploymentStatusRollbackSuccessful || d.FinishedAt == nil {
		t.Errorf("status %s (saw ROLLBACK_IN_PROGRESS: %v), want ROLLBACK_SUCCESSFUL with finishedAt", d.Status, sawInProgress)
	}
	if d.Rollback == nil || aws.ToString(d.Rollback.ServiceRevisionArn) != originalRevision || d.Rollback.StartedAt == nil ||
		!strings.Contains(aws.ToString(d.Rollback.Reason), "circuit breaker") {
		t.Errorf("rollback record %+v, want the circuit breaker's, to %s", d.Rollback, originalRevision)
	}
	if cb := d.DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount < 3 || cb.Threshold != 3 {
		t.Errorf("circuit breaker %+v, want TRIGGERED with at least 3 of threshold 3", cb)
	}
	if len(d.SourceServiceRevisions) != 1 || aws.ToString(d.SourceServiceRevisions[0].Arn) != originalRevision {
		t.Errorf("source revisions %+v, want the original %s", d.SourceServiceRevisions, originalRevision)
	}
	if got := runningDigests(ctx, t, c, "prod", "api"); got[digestV1] != 2 || len(got) != 1 {
		t.Errorf("after the rollback tasks run %v, want the original revision's %s although the tag moved", got, digestV1)
	}
	filtered, err := c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("api"),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful}})
	if err != nil || len(filtered.ServiceDeployments) != 1 || aws.ToString(filtered.ServiceDeployments[0].TargetServiceRevisionArn) != originalRevision {
		t.Errorf("status filter SUCCESSFUL: %v %+v", err, filtered)
	}
}

// StopServiceDeployment ROLLBACK returns to the previous service revision with its digests
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stop-service-deployment.html), whereas
// pointing the service back with UpdateService is a new deployment that resolves the tag again
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html#deployment-container-image-stability).
func TestStopServiceDeploymentKeepsDigestsUpdateServiceResolvesAgain(t *testing.T) {
	for _, stop := range []bool{true, false} {
		name := map[bool]string{true: "StopServiceDeployment", false: "UpdateService"}[stop]
		t.Run(name, func(t *testing.T) {
			s, c, ctx := startScaled(t, Options{})
			s.AddImage("registry.example/app:latest", digestV1)
			if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 2, Image: "registry.example/app:latest"}); err != nil {
				t.Fatal(err)
			}
			original := aws.ToString(describeService(ctx, t, c, "prod", "web").TaskDefinition)
			updateTaskDefinition(ctx, t, c, "prod", "web", registerRevision(ctx, t, c, "web", "registry.example/app:chaos"))
			chaos := aws.ToString(describeService(ctx, t, c, "prod", "web").CurrentServiceDeployment)
			clockSleep(ctx, t, s, 30*time.Second)
			if err := s.MoveTag("registry.example/app:latest", digestV2); err != nil {
				t.Fatal(err)
			}
			if stop {
				out, err := c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(chaos), StopType: types.StopServiceDeploymentStopTypeRollback})
				if err != nil || aws.ToString(out.ServiceDeploymentArn) != chaos {
					t.Fatalf("StopServiceDeployment: %v", err)
				}
			} else {
				updateTaskDefinition(ctx, t, c, "prod", "web", original)
			}
			watch(ctx, t, s, c, "prod", "web", 5*time.Minute, nil, steady(original))
			want := map[bool]string{true: digestV1, false: digestV2}[stop]
			if got := runningDigests(ctx, t, c, "prod", "web"); got[want] != 2 || len(got) != 1 {
				t.Errorf("restored tasks run %v, want %s", got, want)
			}
			d := serviceDeployments(ctx, t, c, "prod", "web")
			var chaosStatus types.ServiceDeploymentStatus
			for _, x := range d {
				if aws.ToString(x.ServiceDeploymentArn) == chaos {
					chaosStatus = x.Status
				}
			}
			wantStatus := map[bool]types.ServiceDeploymentStatus{true: types.ServiceDeploymentStatusRollbackSuccessful, false: types.ServiceDeploymentStatusStopped}[stop]
			if chaosStatus != wantStatus {
				t.Errorf("chaos service deployment is %s, want %s", chaosStatus, wantStatus)
			}
			_, err := c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(chaos), StopType: types.StopServiceDeploymentStopTypeRollback})
			if errorCode(err) != "ConflictException" {
				t.Errorf("stopping a finished service deployment: %v, want ConflictException", err)
			}
		})
	}
	_, c, ctx := startScaled(t, Options{})
	_, err := c.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/nope")})
	if errorCode(err) != "ServiceDeploymentNotFoundException" {
		t.Errorf("unknown service deployment: %v", err)
	}
}
