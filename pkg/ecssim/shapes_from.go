package ecssim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RehearsalScale is how many times faster than the wall clock a copy of a real service (ShapeOf) runs: its timing
// is a real launch type's, minutes long, so a 5-minute hold takes 10 s.
const RehearsalScale = 30

// ShapeOf is a simulated copy of a real service, built from what DescribeServices (svc) and DescribeTaskDefinition
// (td, and tdTags, its tags) return and nothing else: `experiment rehearse` runs the fault against it. The copy
// keeps the service's cluster and service names, desired count, scheduling strategy and whole deployment
// configuration (strategy, circuit breaker, alarms, lifecycle hooks), the timing of its launch type (profiles.go),
// the containers as registered (their images pullable in the copy's registry), the task's CPU, memory and network
// mode, and the tags ECS accepts from a caller. Notes say what the copy assumes or cannot know from those two
// calls. It fails, saying why, for a service the simulator cannot model.
func ShapeOf(svc types.Service, td types.TaskDefinition, tdTags []types.Tag) (Shape, error) {
	name := aws.ToString(svc.ServiceName)
	if err := modelable(svc, td); err != nil {
		return Shape{}, fmt.Errorf("service %s cannot be rehearsed: %w", name, err)
	}
	images, err := imagesOf(td)
	if err != nil {
		return Shape{}, fmt.Errorf("service %s cannot be rehearsed: %w", name, err)
	}
	launch, timing, notes := launchOf(svc, td)
	spec := SeedSpec{
		Cluster: lastSegment(aws.ToString(svc.ClusterArn)), Service: name, Family: aws.ToString(td.Family),
		Containers: td.ContainerDefinitions, DesiredCount: svc.DesiredCount, DeploymentConfiguration: svc.DeploymentConfiguration,
		LaunchType: launch, SchedulingStrategy: svc.SchedulingStrategy,
		TaskCPU: aws.ToString(td.Cpu), TaskMemory: aws.ToString(td.Memory), NetworkMode: td.NetworkMode,
	}.withDefaults()
	tags, tagNotes := seedableTags(tdTags)
	spec.TaskDefinitionTags = tags
	if spec.SchedulingStrategy == types.SchedulingStrategyDaemon {
		spec.ContainerInstances, spec.Instance = int(svc.DesiredCount), daemonInstance(spec)
		notes = append(notes, fmt.Sprintf("EC2 capacity is unknown from these two calls: the DAEMON copy runs on %d container instance(s), one per task it runs now, each with room for two of its tasks", svc.DesiredCount))
	} else if launch == types.LaunchTypeEc2 {
		notes = append(notes, "EC2 capacity is unknown from these two calls: the copy's is unbounded, so no \"unable to place a task\" is predicted")
	}
	notes = append(notes, "the copy's registry pulls every original image and never IMAGE; the real registry is not asked (check that your original images still pull)")
	notes = append(append(append(notes, tagNotes...), stateNotes(svc, td)...), behaviourNotes(svc)...)
	return Shape{
		Name: name, Summary: summaryOf(spec), Timing: timing, Scale: RehearsalScale,
		Service: spec, Images: images, Notes: notes,
	}, nil
}

// modelable says why the simulator cannot model svc running td, or returns nil.
func modelable(svc types.Service, td types.TaskDefinition) error {
	if status := aws.ToString(svc.Status); status != "ACTIVE" {
		return fmt.Errorf("its status is %s, not ACTIVE", status)
	}
	if dc := svc.DeploymentController; dc != nil && dc.Type != "" && dc.Type != types.DeploymentControllerTypeEcs {
		return fmt.Errorf("it uses the %s deployment controller: the fault changes only services that ECS deploys (a real run refuses it), and the simulator does not model CodeDeploy or external task sets", dc.Type)
	}
	if svc.LaunchType == types.LaunchTypeExternal {
		return errors.New("launch type EXTERNAL (ECS Anywhere) is not modelled: the simulator has Fargate and EC2 timing only")
	}
	if dc := svc.DeploymentConfiguration; dc != nil && dc.Strategy != "" && !slices.Contains(types.DeploymentStrategy("").Values(), dc.Strategy) {
		return fmt.Errorf("deployment strategy %s is not modelled", dc.Strategy)
	}
	if svc.SchedulingStrategy == types.SchedulingStrategyDaemon && svc.DesiredCount < 1 {
		return errors.New("a DAEMON service that runs no task (no container instance fits it) has nothing to rehearse: a real run refuses it too")
	}
	if len(td.ContainerDefinitions) == 0 {
		return fmt.Errorf("task definition %s has no container", aws.ToString(td.TaskDefinitionArn))
	}
	return nil
}

// imagesOf is the copy's registry: every container image of td, pullable with a digest derived from its reference.
func imagesOf(td types.TaskDefinition) (map[string]string, error) {
	images := map[string]string{}
	for _, c := range td.ContainerDefinitions {
		ref := aws.ToString(c.Image)
		if _, _, _, ok := splitImage(ref); !ok {
			return nil, fmt.Errorf("container %s: image %q is not an image reference the simulator can resolve", aws.ToString(c.Name), ref)
		}
		images[ref] = ""
	}
	return images, nil
}

// launchOf is the launch type the copy runs on and its timing profile. A capacity provider strategy becomes the
// launch type its providers stand for; a service that names neither takes its task definition's compatibility.
func launchOf(svc types.Service, td types.TaskDefinition) (types.LaunchType, Timing, []string) {
	launch, notes := svc.LaunchType, []string(nil)
	switch {
	case launch != "":
	case len(svc.CapacityProviderStrategy) > 0:
		launch = types.LaunchTypeFargate
		var names []string
		for _, p := range svc.CapacityProviderStrategy {
			name := aws.ToString(p.CapacityProvider)
			names = append(names, name)
			if name != "FARGATE" && name != "FARGATE_SPOT" {
				launch = types.LaunchTypeEc2
			}
		}
		notes = append(notes, fmt.Sprintf("capacity provider strategy %s is modelled as the %s launch type (no Spot interruption, no scaling)", strings.Join(names, ", "), launch))
	default:
		launch = types.LaunchTypeEc2
		if slices.Contains(td.RequiresCompatibilities, types.CompatibilityFargate) && !slices.Contains(td.RequiresCompatibilities, types.CompatibilityEc2) {
			launch = types.LaunchTypeFargate
		}
		notes = append(notes, fmt.Sprintf("the service names no launch type or capacity provider (the cluster's default strategy applies): modelled as %s", launch))
	}
	timing := EC2Timing()
	if launch == types.LaunchTypeFargate {
		timing = FargateTiming()
	}
	return launch, timing, append(notes, fmt.Sprintf("timing: a typical %s task, as public reports measure it: %s in PROVISIONING (%s more with an ENI), a %s pull, %s of retries before a failing pull stops the task, a %s health grace; not your image's own",
		launch, timing.Provisioning, timing.NetworkAttachment, timing.PendingToRunning, timing.PullFailure, timing.HealthCheckGrace))
}

// daemonInstance is a container instance with room for two tasks of spec: a DAEMON deployment may start the new
// task before the old one has stopped.
func daemonInstance(spec SeedSpec) InstanceSpec {
	cpu, _ := strconv.Atoi(spec.TaskCPU)
	memory, _ := strconv.Atoi(spec.TaskMemory)
	return InstanceSpec{CPU: max(2048, 2*cpu), Memory: max(4096, 2*memory)}
}

// seedableTags are the tags ECS accepts from a caller (the AWS-managed aws: tags are not), with a note for each tag
// left out.
func seedableTags(tags []types.Tag) ([]types.Tag, []string) {
	var kept []types.Tag
	var notes []string
	for _, t := range tags {
		if e := validateTags([]types.Tag{t}); e != nil {
			notes = append(notes, fmt.Sprintf("task definition tag %q is left out of the copy: %s", aws.ToString(t.Key), e.Message))
			continue
		}
		kept = append(kept, t)
	}
	return kept, notes
}

// stateNotes say where the real service is not in the steady state the copy starts in, and so where a real run
// started now would be refused or see something else.
func stateNotes(svc types.Service, td types.TaskDefinition) []string {
	var notes []string
	if n := len(svc.Deployments); n != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		states := make([]string, 0, n)
		for _, d := range svc.Deployments {
			states = append(states, aws.ToString(d.Status)+"/"+string(d.RolloutState))
		}
		notes = append(notes, fmt.Sprintf("the real service now has %d deployment(s) (%s): a real run is refused until it has exactly one COMPLETED deployment; the copy starts steady", n, strings.Join(states, ", ")))
	}
	if svc.RunningCount < svc.DesiredCount {
		notes = append(notes, fmt.Sprintf("the real service runs %d of %d desired tasks; the copy starts with all of them RUNNING", svc.RunningCount, svc.DesiredCount))
	}
	if td.Status == types.TaskDefinitionStatusInactive {
		notes = append(notes, "the real service's revision is INACTIVE: a real run is refused (ECS could not point the service back at it); the copy registers it ACTIVE")
	}
	return notes
}

// behaviourNotes name the parts of the service's configuration that the simulator does not act on.
func behaviourNotes(svc types.Service) []string {
	notes := []string{"health: a task counts as healthy 40 s after it is RUNNING; container health checks, load balancers and healthCheckGracePeriodSeconds are not modelled"}
	if dc := svc.DeploymentConfiguration; dc != nil {
		if a := dc.Alarms; a != nil && a.Enable {
			notes = append(notes, fmt.Sprintf("deployment alarms %s are not evaluated (no CloudWatch): an alarm rollback is not predicted", strings.Join(a.AlarmNames, ", ")))
		}
		if len(dc.LifecycleHooks) > 0 {
			notes = append(notes, "lifecycle hooks are assumed to succeed 1 s after they are invoked")
		}
	}
	if len(svc.PlacementConstraints) > 0 || len(svc.PlacementStrategy) > 0 {
		notes = append(notes, "placement constraints and strategies are not modelled")
	}
	return notes
}

// summaryOf is the copy in one line, for the rehearsal's log.
func summaryOf(spec SeedSpec) string {
	count := fmt.Sprintf("%d %s task(s)", spec.DesiredCount, spec.LaunchType)
	if spec.SchedulingStrategy == types.SchedulingStrategyDaemon {
		count = fmt.Sprintf("DAEMON on %d container instance(s)", spec.ContainerInstances)
	}
	deploy := "ROLLING"
	breaker := "no circuit breaker"
	if dc := spec.DeploymentConfiguration; dc != nil {
		if dc.Strategy != "" {
			deploy = string(dc.Strategy)
		}
		deploy += fmt.Sprintf(" (maximumPercent %d, minimumHealthyPercent %d)", aws.ToInt32(dc.MaximumPercent), aws.ToInt32(dc.MinimumHealthyPercent))
		if b := dc.DeploymentCircuitBreaker; b != nil && b.Enable {
			breaker = "circuit breaker"
			if b.Rollback {
				breaker += " with rollback"
			}
		}
	}
	containers := make([]string, 0, len(spec.Containers))
	for _, c := range spec.Containers {
		containers = append(containers, aws.ToString(c.Name)+"="+aws.ToString(c.Image))
	}
	return fmt.Sprintf("copy of service %s: %s, %s, %s; containers %s", spec.Service, count, deploy, breaker, strings.Join(containers, ", "))
}
