package ecssim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// readService is what `experiment rehearse` reads of a real service, through the SDK: the service and its task
// definition with tags.
func readService(ctx context.Context, t *testing.T, c *ecs.Client, cluster, service string) (types.Service, types.TaskDefinition, []types.Tag) {
	t.Helper()
	svc := describeService(ctx, t, c, cluster, service)
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: svc.TaskDefinition, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatalf("describe task definition %s: %v", aws.ToString(svc.TaskDefinition), err)
	}
	return svc, *out.TaskDefinition, out.Tags
}

// copyLine is what a copy must keep of a service and its task definition, as one comparable line.
func copyLine(svc types.Service, td types.TaskDefinition, tags []types.Tag) string {
	var containers, tagList []string
	for _, c := range td.ContainerDefinitions {
		containers = append(containers, fmt.Sprintf("%s=%s essential=%v", aws.ToString(c.Name), aws.ToString(c.Image), aws.ToBool(c.Essential)))
	}
	for _, tag := range tags {
		tagList = append(tagList, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	dc := svc.DeploymentConfiguration
	breaker, hooks := "<nil>", 0
	if dc.DeploymentCircuitBreaker != nil {
		breaker = fmt.Sprintf("%v/%v", dc.DeploymentCircuitBreaker.Enable, dc.DeploymentCircuitBreaker.Rollback)
	}
	hooks = len(dc.LifecycleHooks)
	return fmt.Sprintf("service=%s desired=%d running=%d launch=%s scheduling=%s strategy=%s max=%d min=%d breaker=%s bake=%d hooks=%d family=%s cpu=%s memory=%s network=%s containers=%v tags=%v",
		aws.ToString(svc.ServiceName), svc.DesiredCount, svc.RunningCount, svc.LaunchType, svc.SchedulingStrategy, dc.Strategy,
		aws.ToInt32(dc.MaximumPercent), aws.ToInt32(dc.MinimumHealthyPercent), breaker, aws.ToInt32(dc.BakeTimeInMinutes), hooks,
		aws.ToString(td.Family), aws.ToString(td.Cpu), aws.ToString(td.Memory), td.NetworkMode, containers, tagList)
}

// A copy built from what the SDK reads of a service is seeded into a second simulator, read again, and must be the
// same service: every built-in shape plays the real one.
func TestShapeOfCopiesAServiceThroughTheSDK(t *testing.T) {
	for _, original := range Shapes() {
		t.Run(original.Name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			original.Service.TaskDefinitionTags = []types.Tag{{Key: aws.String("team"), Value: aws.String("shop")}}
			real, realClient, _ := StartServer(t, Options{Timing: FastTiming()})
			if err := original.Seed(ctx, real, realClient); err != nil {
				t.Fatalf("seed the real service: %v", err)
			}
			svc, td, tags := readService(ctx, t, realClient, original.Service.Cluster, original.Service.Service)
			shape, err := ShapeOf(svc, td, tags)
			if err != nil {
				t.Fatalf("ShapeOf: %v", err)
			}
			wantTiming := FargateTiming()
			if svc.LaunchType == types.LaunchTypeEc2 {
				wantTiming = EC2Timing()
			}
			if shape.Timing != wantTiming || shape.Scale != RehearsalScale || shape.Name != original.Service.Service {
				t.Errorf("shape %s timing %+v scale %g, want the %s profile at %d", shape.Name, shape.Timing, shape.Scale, svc.LaunchType, RehearsalScale)
			}
			sim, client, _ := StartServer(t, Options{Timing: FastTiming()})
			if err := shape.Seed(ctx, sim, client); err != nil {
				t.Fatalf("seed the copy: %v", err)
			}
			copied, copiedTD, copiedTags := readService(ctx, t, client, shape.Service.Cluster, shape.Service.Service)
			if got, want := copyLine(copied, copiedTD, copiedTags), copyLine(svc, td, tags); got != want {
				t.Errorf("the copy differs:\n got %s\nwant %s", got, want)
			}
			if !strings.Contains(shape.Summary, "copy of service "+original.Service.Service) || len(shape.Notes) == 0 {
				t.Errorf("summary %q, notes %q", shape.Summary, shape.Notes)
			}
		})
	}
}

// What the simulator cannot model is an error that says so, read through the SDK where the simulator can hold it.
func TestShapeOfRefusesWhatItCannotModel(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	real, realClient, _ := StartServer(t, Options{Timing: FastTiming()})
	for _, controller := range []types.DeploymentControllerType{types.DeploymentControllerTypeCodeDeploy, types.DeploymentControllerTypeExternal} {
		name := strings.ToLower(strings.ReplaceAll(string(controller), "_", "-"))
		if _, err := real.SeedService(ctx, realClient, SeedSpec{Cluster: "prod", Service: name, Family: name, DesiredCount: 1, Controller: controller}); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
	}
	steady, steadyTD, _ := func() (types.Service, types.TaskDefinition, []types.Tag) {
		if _, err := real.SeedService(ctx, realClient, SeedSpec{Cluster: "prod", Service: "web", Family: "web", DesiredCount: 2}); err != nil {
			t.Fatalf("seed web: %v", err)
		}
		return readService(ctx, t, realClient, "prod", "web")
	}()
	cases := []struct {
		name string
		svc  func() (types.Service, types.TaskDefinition)
		want string
	}{
		{"code-deploy", func() (types.Service, types.TaskDefinition) {
			svc, td, _ := readService(ctx, t, realClient, "prod", "code-deploy")
			return svc, td
		}, "CODE_DEPLOY deployment controller"},
		{"external", func() (types.Service, types.TaskDefinition) {
			svc, td, _ := readService(ctx, t, realClient, "prod", "external")
			return svc, td
		}, "EXTERNAL deployment controller"},
		{"ecs-anywhere", func() (types.Service, types.TaskDefinition) {
			svc := steady
			svc.LaunchType = types.LaunchTypeExternal
			return svc, steadyTD
		}, "launch type EXTERNAL"},
		{"draining", func() (types.Service, types.TaskDefinition) {
			svc := steady
			svc.Status = aws.String("DRAINING")
			return svc, steadyTD
		}, "status is DRAINING"},
		{"bad-image", func() (types.Service, types.TaskDefinition) {
			td := steadyTD
			td.ContainerDefinitions = []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("Shop/Web:${TAG}")}}
			return steady, td
		}, `container app: image "Shop/Web:${TAG}"`},
		{"daemon-without-tasks", func() (types.Service, types.TaskDefinition) {
			svc := steady
			svc.SchedulingStrategy, svc.DesiredCount = types.SchedulingStrategyDaemon, 0
			return svc, steadyTD
		}, "DAEMON service that runs no task"},
	}
	for _, tc := range cases {
		svc, td := tc.svc()
		_, err := ShapeOf(svc, td, nil)
		if err == nil || !strings.Contains(err.Error(), "cannot be rehearsed: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ShapeOf error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// The notes name what the copy assumes where the real service or its configuration goes beyond the simulator.
func TestShapeOfNotes(t *testing.T) {
	base := func() (types.Service, types.TaskDefinition) {
		return types.Service{
				ServiceName: aws.String("web"), Status: aws.String("ACTIVE"), ClusterArn: aws.String("arn:aws:ecs:eu-west-1:111122223333:cluster/prod"),
				DesiredCount: 3, RunningCount: 3, LaunchType: types.LaunchTypeFargate,
				Deployments:             []types.Deployment{{Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateCompleted}},
				DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)},
			}, types.TaskDefinition{Family: aws.String("web"), Status: types.TaskDefinitionStatusActive,
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4")}}}
	}
	cases := []struct {
		name       string
		change     func(*types.Service, *types.TaskDefinition) []types.Tag
		wantLaunch types.LaunchType
		want       []string
	}{
		{"steady fargate", func(*types.Service, *types.TaskDefinition) []types.Tag { return nil }, types.LaunchTypeFargate,
			[]string{"timing: a typical FARGATE task", "registry pulls every original image", "health: "}},
		{"mid-deployment, short of tasks, inactive revision", func(s *types.Service, td *types.TaskDefinition) []types.Tag {
			s.Deployments = append(s.Deployments, types.Deployment{Status: aws.String("ACTIVE"), RolloutState: types.DeploymentRolloutStateInProgress})
			s.RunningCount, td.Status = 1, types.TaskDefinitionStatusInactive
			return nil
		}, types.LaunchTypeFargate, []string{"now has 2 deployment(s)", "runs 1 of 3 desired tasks", "revision is INACTIVE"}},
		{"capacity providers", func(s *types.Service, _ *types.TaskDefinition) []types.Tag {
			s.LaunchType = ""
			s.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}
			return nil
		}, types.LaunchTypeFargate, []string{"capacity provider strategy FARGATE_SPOT is modelled as the FARGATE launch type"}},
		{"ec2 capacity provider", func(s *types.Service, _ *types.TaskDefinition) []types.Tag {
			s.LaunchType = ""
			s.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("asg-m7g"), Weight: 1}}
			return nil
		}, types.LaunchTypeEc2, []string{"modelled as the EC2 launch type", "EC2 capacity is unknown", "timing: a typical EC2 task"}},
		{"no launch type, fargate-only task definition", func(s *types.Service, td *types.TaskDefinition) []types.Tag {
			s.LaunchType, td.RequiresCompatibilities = "", []types.Compatibility{types.CompatibilityFargate}
			return nil
		}, types.LaunchTypeFargate, []string{"names no launch type or capacity provider"}},
		{"alarms, hooks, placement, aws tags", func(s *types.Service, _ *types.TaskDefinition) []types.Tag {
			s.DeploymentConfiguration.Alarms = &types.DeploymentAlarms{Enable: true, Rollback: true, AlarmNames: []string{"5xx"}}
			s.DeploymentConfiguration.LifecycleHooks = []types.DeploymentLifecycleHook{{HookTargetArn: aws.String(HookARN)}}
			s.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}
			return []types.Tag{{Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("shop")}, {Key: aws.String("team"), Value: aws.String("shop")}}
		}, types.LaunchTypeFargate, []string{"deployment alarms 5xx are not evaluated", "lifecycle hooks are assumed to succeed", "placement constraints", `tag "aws:cloudformation:stack-name" is left out`}},
	}
	for _, tc := range cases {
		svc, td := base()
		tags := tc.change(&svc, &td)
		shape, err := ShapeOf(svc, td, tags)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		notes := strings.Join(shape.Notes, "\n")
		for _, want := range tc.want {
			if !strings.Contains(notes, want) {
				t.Errorf("%s: no note says %q:\n%s", tc.name, want, notes)
			}
		}
		if shape.Service.LaunchType != tc.wantLaunch || shape.Service.Cluster != "prod" {
			t.Errorf("%s: launch type %s in cluster %q, want %s in prod", tc.name, shape.Service.LaunchType, shape.Service.Cluster, tc.wantLaunch)
		}
		if len(tags) > 0 && (len(shape.Service.TaskDefinitionTags) != 1 || aws.ToString(shape.Service.TaskDefinitionTags[0].Key) != "team") {
			t.Errorf("%s: copied tags %v, want team only", tc.name, shape.Service.TaskDefinitionTags)
		}
	}
}
