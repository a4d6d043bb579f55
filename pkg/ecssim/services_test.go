package ecssim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestClusters(t *testing.T) {
	_, c, ctx := startScaled(t, Options{Region: "eu-west-1", AccountID: "111122223333"})
	out, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	if err != nil || aws.ToString(out.Cluster.ClusterArn) != "arn:aws:ecs:eu-west-1:111122223333:cluster/prod" {
		t.Fatalf("CreateCluster: %+v %v", out, err)
	}
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatalf("CreateCluster is idempotent: %v", err)
	}
	desc, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod", "nope"}, Include: []types.ClusterField{types.ClusterFieldTags}})
	if err != nil || len(desc.Clusters) != 1 || len(desc.Clusters[0].Tags) != 1 || aws.ToString(desc.Clusters[0].Status) != "ACTIVE" ||
		len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" ||
		aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:eu-west-1:111122223333:cluster/nope" {
		t.Fatalf("DescribeClusters: %+v %v", desc, err)
	}
}

func TestServiceAPI(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	arn, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	if arn != "arn:aws:ecs:us-east-1:123456789012:service/prod/web" {
		t.Fatalf("service ARN %s", arn)
	}
	td := registerRevision(ctx, t, c, "web", "nginx")

	// Defaults ECS reports, and everything the caller sent comes back.
	svc := describeService(ctx, t, c, "prod", arn)
	cfg := svc.DeploymentConfiguration
	if aws.ToInt32(cfg.MaximumPercent) != 200 || aws.ToInt32(cfg.MinimumHealthyPercent) != 100 || cfg.DeploymentCircuitBreaker == nil ||
		cfg.Strategy != types.DeploymentStrategyRolling || svc.DeploymentController.Type != types.DeploymentControllerTypeEcs ||
		svc.LaunchType != types.LaunchTypeFargate || svc.NetworkConfiguration == nil || svc.SchedulingStrategy != types.SchedulingStrategyReplica {
		t.Fatalf("service defaults: %+v", svc)
	}
	full := &types.DeploymentConfiguration{
		MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(50), BakeTimeInMinutes: aws.Int32(3),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: false},
		Alarms:                   &types.DeploymentAlarms{AlarmNames: []string{"p99"}, Enable: true, Rollback: true},
		Strategy:                 types.DeploymentStrategyRolling,
	}
	upd, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: full})
	if err != nil {
		t.Fatal(err)
	}
	got := upd.Service.DeploymentConfiguration
	if aws.ToInt32(got.BakeTimeInMinutes) != 3 || !got.Alarms.Rollback || got.Alarms.AlarmNames[0] != "p99" || !got.DeploymentCircuitBreaker.Enable ||
		aws.ToInt32(got.MaximumPercent) != 150 || len(upd.Service.Deployments) != 1 {
		t.Fatalf("deploymentConfiguration not echoed or started a deployment: %+v", upd.Service)
	}

	type call struct {
		name     string
		run      func() error
		wantCode string
	}
	calls := []call{
		{"create in missing cluster", func() error {
			_, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("nope"), ServiceName: aws.String("x"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)})
			return err
		}, "ClusterNotFoundException"},
		{"create twice", func() error {
			_, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)})
			return err
		}, "InvalidParameterException"},
		{"create with unknown task definition", func() error {
			_, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("x"), TaskDefinition: aws.String("ghost:1"), DesiredCount: aws.Int32(1)})
			return err
		}, "ClientException"},
		{"update unknown service", func() error {
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("ghost"), DesiredCount: aws.Int32(1)})
			return err
		}, "ServiceNotFoundException"},
		{"update in unknown cluster", func() error {
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("nope"), Service: aws.String("web"), DesiredCount: aws.Int32(1)})
			return err
		}, "ClusterNotFoundException"},
		{"update with minimumHealthyPercent above maximumPercent", func() error {
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(40)}})
			return err
		}, "InvalidParameterException"},
		{"describe 11 services", func() error {
			names := make([]string, 11)
			for i := range names {
				names[i] = fmt.Sprint("s", i)
			}
			_, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: names})
			return err
		}, "InvalidParameterException"},
		{"delete while scaled above 0", func() error {
			_, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web")})
			return err
		}, "InvalidParameterException"},
		{"list tasks of unknown service", func() error {
			_, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("ghost")})
			return err
		}, "ServiceNotFoundException"},
		{"stop unknown task", func() error {
			_, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String("0123")})
			return err
		}, "InvalidParameterException"},
	}
	for _, tc := range calls {
		if got := errorCode(tc.run()); got != tc.wantCode {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.wantCode)
		}
	}

	desc, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web", "ghost"}})
	if err != nil || len(desc.Services) != 1 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" ||
		aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:service/prod/ghost" {
		t.Fatalf("DescribeServices with a missing one: %+v %v", desc, err)
	}

	// Scaling changes counts without a new deployment.
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	svc = watch(ctx, t, s, c, "prod", "web", time.Minute, func(svc types.Service) {
		if len(svc.Deployments) != 1 {
			t.Fatalf("scaling started a deployment:\n%s", summarize(svc))
		}
	}, func(svc types.Service) bool { return svc.RunningCount == 3 })

	// ListServices with pagination.
	for i := range 3 {
		if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(fmt.Sprint("extra", i)), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(0)}); err != nil {
			t.Fatal(err)
		}
	}
	var arns []string
	pages := ecs.NewListServicesPaginator(c, &ecs.ListServicesInput{Cluster: aws.String("prod"), MaxResults: aws.Int32(3)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	if len(arns) != 4 || arns[0] != arn {
		t.Fatalf("ListServices: %v", arns)
	}

	// Delete with force drains the tasks, then the service is INACTIVE and can no longer be updated.
	del, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.Service.Status) != "DRAINING" {
		t.Fatalf("DeleteService: %+v %v", del, err)
	}
	watch(ctx, t, s, c, "prod", "web", time.Minute, nil, func(svc types.Service) bool { return aws.ToString(svc.Status) == "INACTIVE" })
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(1)}); errorCode(err) != "ServiceNotActiveException" {
		t.Fatalf("update of an INACTIVE service: %v", err)
	}
	list, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("prod")})
	if err != nil || len(list.ServiceArns) != 3 {
		t.Fatalf("INACTIVE service still listed: %v %v", list, err)
	}
}

func TestUpdateServiceRefusesInactiveRevision(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 1}); err != nil {
		t.Fatal(err)
	}
	v2 := registerRevision(ctx, t, c, "web", "nginx")
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(v2)})
	if errorCode(err) != "ClientException" || !strings.Contains(err.Error(), "TaskDefinition is inactive") {
		t.Fatalf("want ClientException TaskDefinition is inactive, got %v", err)
	}
	svc := describeService(ctx, t, c, "prod", "web")
	if strings.HasSuffix(aws.ToString(svc.TaskDefinition), ":2") || len(svc.Deployments) != 1 {
		t.Fatalf("refused update changed the service:\n%s", summarize(svc))
	}
	reqs := s.Requests()
	if len(reqs) < 1 || reqs[0].Operation != "UpdateService" || reqs[0].ErrorCode != "ClientException" || !reqs[0].Mutating || reqs[0].Summary != "" {
		t.Fatalf("request log: %+v", reqs)
	}
}

func TestNonECSControllerRefusesTaskDefinitionUpdate(t *testing.T) {
	for _, controller := range []types.DeploymentControllerType{types.DeploymentControllerTypeCodeDeploy, types.DeploymentControllerTypeExternal} {
		t.Run(string(controller), func(t *testing.T) {
			s, c, ctx := startScaled(t, Options{})
			if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 1, Controller: controller}); err != nil {
				t.Fatal(err)
			}
			if got := describeService(ctx, t, c, "prod", "web").DeploymentController.Type; got != controller {
				t.Fatalf("controller %s", got)
			}
			_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:1")})
			if errorCode(err) != "InvalidParameterException" {
				t.Fatalf("want InvalidParameterException, got %v", err)
			}
		})
	}
}

func TestTasksAndTags(t *testing.T) {
	s, c, ctx := startScaled(t, Options{Timing: Timing{StoppedRetention: 2 * time.Minute}})
	svcArn, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil || len(list.TaskArns) != 3 {
		t.Fatalf("ListTasks: %v %v", list, err)
	}
	paged, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), MaxResults: aws.Int32(2)})
	if err != nil || len(paged.TaskArns) != 2 || paged.NextToken == nil {
		t.Fatalf("ListTasks page: %v %v", paged, err)
	}
	desc, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: append(list.TaskArns, "ffff")})
	if err != nil || len(desc.Tasks) != 3 || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeTasks: %+v %v", desc, err)
	}
	victim := desc.Tasks[0]
	if aws.ToString(victim.LastStatus) != "RUNNING" || aws.ToString(victim.Containers[0].ImageDigest) != "sha256:"+strings.Repeat("6a", 32) ||
		victim.StartedAt == nil || aws.ToString(victim.Group) != "service:web" || !strings.HasPrefix(aws.ToString(victim.StartedBy), "ecs-svc/") {
		t.Fatalf("running task: %+v", victim)
	}

	stopped, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: victim.TaskArn, Reason: aws.String("chaos")})
	if err != nil || aws.ToString(stopped.Task.DesiredStatus) != "STOPPED" || aws.ToString(stopped.Task.StoppedReason) != "chaos" {
		t.Fatalf("StopTask: %+v %v", stopped, err)
	}
	watch(ctx, t, s, c, "prod", "web", time.Minute, nil, func(svc types.Service) bool {
		return svc.RunningCount == 3 && hasEvent(svc, "has reached a steady state")
	})
	gone := stoppedTasks(ctx, t, c, "prod", "web")
	if len(gone) != 1 || aws.ToString(gone[0].LastStatus) != "STOPPED" || gone[0].StopCode != types.TaskStopCodeUserInitiated {
		t.Fatalf("stopped task: %+v", gone)
	}
	// ECS forgets stopped tasks after a while.
	clockSleep(ctx, t, s, 3*time.Minute)
	if left := stoppedTasks(ctx, t, c, "prod", "web"); len(left) != 0 {
		t.Fatalf("stopped task still listed after retention: %d", len(left))
	}

	// Tags on services and task definitions.
	tdArn := "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	for _, arn := range []string{svcArn, tdArn} {
		if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		tags, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "b" {
			t.Fatalf("tags of %s: %+v %v", arn, tags, err)
		}
	}
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(svcArn), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}}); errorCode(err) != "InvalidParameterException" {
		t.Fatalf("aws: tag accepted: %v", err)
	}
	if _, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(svcArn + "-ghost")}); errorCode(err) != "InvalidParameterException" {
		t.Fatalf("unknown resource: %v", err)
	}
	withTags := describeService(ctx, t, c, "prod", "web")
	if len(withTags.Tags) != 0 {
		t.Fatal("tags returned without include=TAGS")
	}
}

func TestSeedService(t *testing.T) {
	s, c, ctx := startScaled(t, Options{})
	s.AddImage("registry.example:5000/sidecar:2", "sha256:"+strings.Repeat("ab", 32))
	arn, err := s.SeedService(ctx, c, SeedSpec{
		Cluster: "prod", Service: "multi", Family: "multi", DesiredCount: 2,
		Containers: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("nginx:latest")},
			{Name: aws.String("sidecar"), Image: aws.String("registry.example:5000/sidecar:2")},
		},
		TaskDefinitionTags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
		LaunchType:         types.LaunchTypeEc2,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := describeService(ctx, t, c, "prod", arn)
	if svc.RunningCount != 2 || svc.PendingCount != 0 || len(svc.Deployments) != 1 ||
		svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted || svc.LaunchType != types.LaunchTypeEc2 {
		t.Fatalf("seeded service not steady:\n%s", summarize(svc))
	}
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("multi")})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil || len(tasks.Tasks) != 2 {
		t.Fatalf("DescribeTasks: %v %v", tasks, err)
	}
	if d := aws.ToString(tasks.Tasks[0].Containers[1].ImageDigest); d != "sha256:"+strings.Repeat("ab", 32) {
		t.Fatalf("sidecar digest %q", d)
	}
	tags, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("multi"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || len(tags.Tags) != 1 {
		t.Fatalf("task definition tags: %v %v", tags, err)
	}

	// A second service in the same cluster, and one whose image cannot be pulled.
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "other", Family: "other", DesiredCount: 1}); err != nil {
		t.Fatalf("seeding into an existing cluster: %v", err)
	}
	_, err = s.SeedService(ctx, c, SeedSpec{Cluster: "prod", Service: "broken", Family: "broken", Image: "nginx:nope", DesiredCount: 1})
	if err == nil || !strings.Contains(err.Error(), "CannotPullContainerError") {
		t.Fatalf("seeding an unpullable image: %v", err)
	}
}
