package ecsimage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// describeBatch is the most services DescribeServices accepts in one call.
const describeBatch = 10

// target is the state of one service through the run. Everything restore needs is captured at preflight,
// before anything changes.
type target struct {
	name   string // as the user gave it (name or ARN)
	report *ServiceReport

	service      types.Service // as described at preflight
	originalTags []types.Tag
	restorePlan  // original, originalDC, chaosDC; chaosARN is the current cycle's chaos revision
	watch        watchState

	// The current cycle: how long to hold, whether the inject went through, and when its hold ends (measured
	// from when the inject UpdateService was sent).
	holdFor   time.Duration
	injected  bool
	holdUntil time.Time
	dereg     *deregistration // written by a background deregistration, read after bgWait
}

func (t *target) serviceID() string {
	if t.service.ServiceArn != nil {
		return *t.service.ServiceArn
	}
	return t.name
}

func (t *target) originalARN() string { return aws.ToString(t.original.TaskDefinitionArn) }

// PreflightError is a refusal: the service is not in a state the fault may touch. Nothing was changed.
type PreflightError struct {
	Service string
	Reasons []string
	// ByThisJob is set when the service carries a chaos revision whose marker names this run's Job
	// (Options.JobUID): a previous pod of the same Job was killed mid-run. The caller restores it with Recover
	// rather than injecting again.
	ByThisJob bool
}

// LeftByThisJob reports whether preflight found a chaos revision of a previous pod of this run's Job on any
// service of the report.
func (r *Report) LeftByThisJob() bool {
	for _, s := range r.Services {
		var pe *PreflightError
		if errors.As(s.Err(), &pe) && pe.ByThisJob {
			return true
		}
	}
	return false
}

// markedBy says whose chaos revision a marker is, for a refusal, and flags refuse when it is this Job's.
func (r *runState) markedBy(refuse *PreflightError, m taskdef.Marker) string {
	if r.opts.JobUID != "" && m.JobUID == r.opts.JobUID {
		refuse.ByThisJob = true
		return fmt.Sprintf("run %s of a previous pod of this Job (%s)", m.RunID, m.JobUID)
	}
	return "run " + m.RunID
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("preflight refused service %s: %s", e.Service, strings.Join(e.Reasons, "; "))
}

// describeServices describes services in batches of ten; missing services come back in missing.
func describeServices(ctx context.Context, c ECS, cluster string, names []string) (found map[string]types.Service, missing map[string]string, err error) {
	found = map[string]types.Service{}
	missing = map[string]string{}
	for start := 0; start < len(names); start += describeBatch {
		end := min(start+describeBatch, len(names))
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: names[start:end]})
		if err != nil {
			return nil, nil, fmt.Errorf("describe services in cluster %s: %w", cluster, err)
		}
		for _, s := range out.Services {
			for _, n := range names[start:end] {
				if n == aws.ToString(s.ServiceName) || n == aws.ToString(s.ServiceArn) {
					found[n] = s
				}
			}
		}
		for _, f := range out.Failures {
			for _, n := range names[start:end] {
				if _, ok := found[n]; !ok && (strings.HasSuffix(aws.ToString(f.Arn), "/"+n) || aws.ToString(f.Arn) == n) {
					missing[n] = aws.ToString(f.Reason)
				}
			}
		}
	}
	for _, n := range names {
		if _, ok := found[n]; !ok {
			if _, ok := missing[n]; !ok {
				missing[n] = "MISSING"
			}
		}
	}
	return found, missing, nil
}

// preflight checks every target read-only and fills what restore will need. It returns false when any service is
// refused: then nothing may change anywhere.
func (r *runState) preflight(ctx context.Context, targets []*target) bool {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.name
	}
	found, missing, err := describeServices(ctx, r.clients.Chaos, r.opts.Cluster, names)
	if err != nil {
		for _, t := range targets {
			t.report.State = StateRefused
			t.report.fail(&PreflightError{Service: t.name, Reasons: []string{explainAPIError(err, "ecs:DescribeServices")}})
		}
		return false
	}
	// Up to ten services are checked at once: each needs two task-definition reads, and a serial loop would cost
	// a round trip per service before anything can start.
	passed := r.forEach(targets, func(t *target) bool {
		if reason, gone := missing[t.name]; gone {
			t.report.State = StateRefused
			t.report.fail(&PreflightError{Service: t.name, Reasons: []string{fmt.Sprintf("service not found in cluster %s (%s)", r.opts.Cluster, reason)}})
			return false
		}
		if err := r.preflightOne(ctx, t, found[t.name]); err != nil {
			t.report.State = StateRefused
			t.report.fail(err)
			return false
		}
		t.report.State = StateReady
		return true
	})
	return len(passed) == len(targets)
}

// preflightOne checks one service read-only and, when it may be touched, records at its target what restore will
// need (the original revision and deployment configuration). It returns a *PreflightError naming every reason
// found, or nil.
func (r *runState) preflightOne(ctx context.Context, t *target, svc types.Service) error {
	t.service = svc
	t.report.ServiceARN = aws.ToString(svc.ServiceArn)
	refuse := &PreflightError{Service: t.name, Reasons: serviceRefusals(svc)}
	tdARN := aws.ToString(svc.TaskDefinition)
	if tdARN == "" {
		refuse.Reasons = append(refuse.Reasons, "service has no task definition")
		return refuse
	}
	// A killed run that ECS rolled back leaves its chaos revision as the family's newest, with the service's
	// deployment configuration possibly still narrowed: look at it at the same time as the service's revision,
	// so the check costs no extra round trip.
	newest := r.familyNewest(ctx, tdARN)
	// Always by the service's revision ARN: the family's newest revision may be another one.
	out, err := r.clients.Chaos.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(tdARN),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if leftover := <-newest; leftover != nil && aws.ToString(leftover.TaskDefinitionArn) != tdARN {
		if m, isChaos, err := taskdef.ReadMarker(leftover); err == nil && isChaos {
			refuse.Reasons = append(refuse.Reasons, fmt.Sprintf("chaos revision %s of %s is still ACTIVE in the family (a killed run?); run `recover` first", aws.ToString(leftover.TaskDefinitionArn), r.markedBy(refuse, m)))
		}
	}
	if err != nil {
		refuse.Reasons = append(refuse.Reasons, explainAPIError(err, "ecs:DescribeTaskDefinition"))
		return refuse
	}
	td := out.TaskDefinition
	if td == nil {
		refuse.Reasons = append(refuse.Reasons, "DescribeTaskDefinition returned no task definition")
		return refuse
	}
	r.refuseRevision(refuse, td, tdARN)
	if len(refuse.Reasons) > 0 {
		return refuse
	}
	r.recordOriginal(t, svc, td, tdARN, out.Tags)
	if err := checkTargets(td, r.opts.TargetContainers); err != nil {
		return &PreflightError{Service: t.name, Reasons: []string{err.Error()}}
	}
	if reason := daemonRefusal(svc, t.chaosDC); reason != "" {
		return &PreflightError{Service: t.name, Reasons: []string{reason}}
	}
	r.preflightWarnings(t, svc)
	return nil
}

// serviceRefusals are the reasons, read from the service alone, not to touch it: the fault needs an ACTIVE service
// under the ECS controller, with a running task and one completed deployment.
func serviceRefusals(svc types.Service) []string {
	var reasons []string
	if status := aws.ToString(svc.Status); status != "ACTIVE" {
		reasons = append(reasons, fmt.Sprintf("service status is %s, want ACTIVE", status))
	}
	if c := svc.DeploymentController; c != nil && c.Type != types.DeploymentControllerTypeEcs {
		reasons = append(reasons, fmt.Sprintf("deployment controller is %s; only the ECS controller lets the fault point the service at a revision", c.Type))
	}
	if svc.RunningCount < 1 {
		reasons = append(reasons, "no RUNNING task: the spec requires at least one running task at the start")
	}
	switch {
	case len(svc.Deployments) != 1:
		reasons = append(reasons, fmt.Sprintf("%d deployments in progress, want exactly one COMPLETED deployment", len(svc.Deployments)))
	case svc.Deployments[0].RolloutState != "" && svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted:
		reasons = append(reasons, fmt.Sprintf("deployment %s is %s, want COMPLETED", aws.ToString(svc.Deployments[0].Id), svc.Deployments[0].RolloutState))
	}
	return reasons
}

// familyNewest reads the newest revision of tdARN's family in the background and delivers it (nil when it could
// not be read) on the channel it returns, so that the check for a leftover chaos revision overlaps the read of
// the service's own revision.
func (r *runState) familyNewest(ctx context.Context, tdARN string) <-chan *types.TaskDefinition {
	newest := make(chan *types.TaskDefinition, 1)
	go func() {
		var td *types.TaskDefinition
		defer func() { newest <- td }() // also after a panic, which the guard logs: the check is then skipped
		r.guardRun("the family's newest revision", func() {
			if out, err := r.clients.Chaos.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(familyOf(tdARN))}); err == nil {
				td = out.TaskDefinition
			}
		})
	}()
	return newest
}

// refuseRevision adds to refuse the reasons the service's own revision gives: restore could not point the service
// back at an inactive one, and a revision that is itself a chaos one means an earlier run is not over.
func (r *runState) refuseRevision(refuse *PreflightError, td *types.TaskDefinition, tdARN string) {
	if td.Status != types.TaskDefinitionStatusActive {
		refuse.Reasons = append(refuse.Reasons, fmt.Sprintf("task definition %s is %s: ECS cannot point a service back at an inactive revision, so restore would be impossible", tdARN, td.Status))
	}
	if m, isChaos, err := taskdef.ReadMarker(td); err != nil {
		refuse.Reasons = append(refuse.Reasons, fmt.Sprintf("task definition %s carries a damaged chaos marker (%v): inspect it and run `recover`", tdARN, err))
	} else if isChaos {
		refuse.Reasons = append(refuse.Reasons, fmt.Sprintf("already under chaos by %s (chaos revision %s, original %s); if that run is gone, run `recover`", r.markedBy(refuse, m), tdARN, m.OriginalTaskDefinitionARN))
	}
}

// recordOriginal keeps, before anything changes, what restore puts back (the original revision tdARN, its tags
// and the deployment configuration) and the chaos configuration the inject will set.
func (r *runState) recordOriginal(t *target, svc types.Service, td *types.TaskDefinition, tdARN string, tags []types.Tag) {
	t.original = td
	t.originalTags = tags
	t.originalDC = cloneDeploymentConfiguration(svc.DeploymentConfiguration)
	t.chaosDC = chaosDeploymentConfiguration(&svc, r.opts.AffectedPercent)
	t.report.OriginalTaskDefinition = tdARN
	if svc.DeploymentConfiguration != nil && svc.DeploymentConfiguration.Strategy != "" {
		t.report.DeploymentStrategy = string(svc.DeploymentConfiguration.Strategy)
	} else {
		t.report.DeploymentStrategy = string(types.DeploymentStrategyRolling)
	}
}

func (r *runState) preflightWarnings(t *target, svc types.Service) {
	log := r.log.WithField("service", t.name)
	daemon := svc.SchedulingStrategy == types.SchedulingStrategyDaemon
	obs := &t.report.Observations
	obs.ChaosTasksAllowed = chaosTasksAllowed(svc.DesiredCount, t.chaosDC, daemon)
	obs.OriginalRunningAtStart = int(svc.RunningCount)
	obs.OriginalRunningLowest = int(svc.RunningCount)
	// Every scheduling strategy: for DAEMON an absent value is the API default, 0.
	if dc := t.originalDC; (dc == nil || dc.MinimumHealthyPercent == nil) && daemon || dc != nil && dc.MinimumHealthyPercent != nil && *dc.MinimumHealthyPercent == 0 {
		log.Warn(t.report.warn("minimumHealthyPercent is 0: ECS may drain every healthy task of the original revision during a deployment (raise it to 50 or more to keep serving)"))
	}
	if !isRolling(t.originalDC) {
		log.Warn(t.report.warn("deployment strategy %s: maximumPercent is left as it is and ECS's own rollback is observed", t.originalDC.Strategy))
	}
	if daemon {
		log.Infof("DAEMON service: maximumPercent stays as ECS requires; minimumHealthyPercent %d for the chaos deployment keeps the daemon task on %d of %d instance(s)",
			aws.ToInt32(t.chaosDC.MinimumHealthyPercent), daemonKept(svc.DesiredCount, t.chaosDC), svc.DesiredCount)
	}
	if obs.ChaosTasksAllowed == 0 {
		log.Warn(t.report.warn("with desiredCount %d and the chaos deployment configuration (maximumPercent %d, minimumHealthyPercent %d), ECS may start no chaos task: the fault cannot take effect (raise TASK_REPLICA_AFFECTED_PERC or the service's maximumPercent)",
			svc.DesiredCount, aws.ToInt32(t.chaosDC.MaximumPercent), aws.ToInt32(t.chaosDC.MinimumHealthyPercent)))
	} else {
		log.Infof("ECS may start up to %d chaos task(s) at once", obs.ChaosTasksAllowed)
	}
	if r.opts.Image.Pinned {
		log.Warn(t.report.warn("IMAGE %s has a tag or digest and is used as given: if it exists the tasks will pull it and the fault will not take effect", r.opts.Image.Reference))
	}
}

// daemonRefusal refuses a DAEMON service whose chaos deployment would stop the daemon task on every instance before
// starting a chaos one (minimumHealthyPercent rounds to no task kept): the service would lose its daemon everywhere.
func daemonRefusal(svc types.Service, chaosDC *types.DeploymentConfiguration) string {
	if svc.SchedulingStrategy != types.SchedulingStrategyDaemon || svc.DesiredCount < 1 || daemonKept(svc.DesiredCount, chaosDC) > 0 {
		return ""
	}
	return fmt.Sprintf("DAEMON service on %d instance(s): with minimumHealthyPercent %d for the chaos deployment, ECS would stop the daemon task on every instance before starting chaos tasks; lower TASK_REPLICA_AFFECTED_PERC (e.g. 50) so that some instances keep their daemon task",
		svc.DesiredCount, aws.ToInt32(chaosDC.MinimumHealthyPercent))
}
