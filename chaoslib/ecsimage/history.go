package ecsimage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ServiceDeploymentReader is the optional permission ecs:DescribeServiceDeployments: with it, "rolled back by ECS"
// rests on the service deployment's own rollback record and circuit breaker / alarm status
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html).
type ServiceDeploymentReader interface {
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
}

// ServiceDeploymentStopper is the optional permission ecs:StopServiceDeployment: with it, a chaos deployment still
// in progress is rolled back to the previous service revision, with the image digests it ran
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stop-service-deployment.html), instead of a new
// deployment that resolves mutable tags again.
type ServiceDeploymentStopper interface {
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
}

// Restore methods: how the fault pointed a service back at its original revision.
const (
	// RestoreMethodStopDeployment: StopServiceDeployment ROLLBACK, back to the previous service revision and its
	// digests, then the original deployment configuration with UpdateService.
	RestoreMethodStopDeployment = "stop-service-deployment"
	// RestoreMethodUpdateService: UpdateService with the original revision and configuration, a new deployment
	// in which ECS resolves image tags again.
	RestoreMethodUpdateService = "update-service"
)

// Effects: what the run saw of the fault (README, What it does: hold and observe).
const (
	// EffectConfirmed: a chaos task stopped with an image pull error.
	EffectConfirmed = "confirmed"
	// EffectStalled: chaos tasks were launched and none ever ran, but no failure was seen before the hold
	// ended: the deployment stalled, as the spec describes. Not an error.
	EffectStalled = "stalled"
	// EffectNotEffective: a chaos task ran, or none was launched.
	EffectNotEffective = "not-effective"
)

// learnChaosDeployment remembers, from a DescribeServices view, the chaos revision's deployment id (what its tasks
// carry as startedBy) and, while it is the service's current one, its service deployment ARN.
func (t *target) learnChaosDeployment(svc types.Service) {
	if t.chaosARN == "" {
		return
	}
	for _, d := range svc.Deployments {
		if aws.ToString(d.TaskDefinition) != t.chaosARN {
			continue
		}
		t.watch.chaosDeployment = aws.ToString(d.Id)
		if aws.ToString(d.Status) == "PRIMARY" && aws.ToString(svc.CurrentServiceDeployment) != "" && t.watch.chaosServiceDeployment == "" {
			t.watch.chaosServiceDeployment = aws.ToString(svc.CurrentServiceDeployment)
		}
	}
}

// revertEvidence is what ECS says about a service that is back on its original revision.
type revertEvidence struct {
	byECS    bool
	evidence string
}

// judgeRevert decides, once a service is seen back on its original revision, whether ECS rolled it back: only on
// ECS's own evidence. The service deployment's rollback record and breaker / alarm status when
// ecs:DescribeServiceDeployments is granted; without it, the chaos deployment FAILED (with ECS's reason) under a
// configuration whose circuit breaker or alarms roll back. Anything else is a revert by someone else.
func (r *restorer) judgeRevert(ctx context.Context, t *target, svc types.Service, now time.Time) {
	obs := &t.report.Observations
	if obs.RolledBackByECS || obs.RevertedBySomeoneElse || t.chaosARN == "" {
		return
	}
	ev := r.revertEvidence(ctx, t, svc)
	log := r.log.WithField("service", t.name)
	at := now
	var seconds float64
	if !obs.injectedAt.IsZero() {
		seconds = now.Sub(obs.injectedAt).Seconds()
	}
	obs.RollbackEvidence = ev.evidence
	if ev.byECS {
		obs.RolledBackByECS, obs.RollbackAt, obs.RollbackSeconds = true, &at, seconds
		log.Infof("ECS rolled the service back to %s after %.0fs (%s)", aws.ToString(svc.TaskDefinition), seconds, ev.evidence)
		return
	}
	obs.RevertedBySomeoneElse, obs.RevertedAt, obs.RevertedSeconds = true, &at, seconds
	log.Warn(t.report.warn("the service was pointed back at %s after %.0fs by someone else, not by ECS (%s)", aws.ToString(svc.TaskDefinition), seconds, ev.evidence))
}

func (r *restorer) revertEvidence(ctx context.Context, t *target, svc types.Service) revertEvidence {
	arn := t.watch.chaosServiceDeployment
	if arn == "" {
		// After ECS's rollback the current service deployment is still the chaos one (the rollback belongs to
		// it); after anyone else's deploy it is theirs, which has no rollback record.
		arn = aws.ToString(svc.CurrentServiceDeployment)
	}
	if reader, ok := r.clients.Restore.(ServiceDeploymentReader); ok && arn != "" && !t.watch.historyDenied {
		out, err := reader.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
		switch {
		case err == nil && len(out.ServiceDeployments) == 1:
			return r.fromServiceDeployment(t, out.ServiceDeployments[0])
		case err != nil && isAccessDenied(err):
			t.watch.historyDenied = true
			r.log.WithField("service", t.name).Info(t.report.warn("ecs:DescribeServiceDeployments is not granted: whether ECS rolled the service back is judged from the deployment's rolloutState alone"))
		case err != nil:
			r.log.WithField("service", t.name).Warnf("reading service deployment %s failed (judging from the rolloutState): %v", arn, err)
		}
	}
	// The fault changes only percentages: the circuit breaker and the alarms of the chaos deployment are the
	// original configuration's.
	dc := t.originalDC
	for _, c := range t.report.Observations.RolloutStates {
		if c.Revision == t.chaosARN && c.State == string(types.DeploymentRolloutStateFailed) && rollsBack(dc) {
			return revertEvidence{byECS: true, evidence: fmt.Sprintf("chaos deployment %s FAILED: %s", c.Deployment, c.Reason)}
		}
	}
	for _, d := range svc.Deployments {
		if aws.ToString(d.TaskDefinition) == t.chaosARN && d.RolloutState == types.DeploymentRolloutStateFailed && rollsBack(dc) {
			return revertEvidence{byECS: true, evidence: fmt.Sprintf("chaos deployment %s FAILED: %s", aws.ToString(d.Id), aws.ToString(d.RolloutStateReason))}
		}
	}
	return revertEvidence{evidence: "ECS reports no failure and no rollback of the chaos deployment"}
}

// fromServiceDeployment reads the chaos service deployment: a rollback record or a ROLLBACK_* status is ECS's.
func (r *restorer) fromServiceDeployment(t *target, d types.ServiceDeployment) revertEvidence {
	obs := &t.report.Observations
	if cb := d.DeploymentCircuitBreaker; cb != nil {
		obs.CircuitBreaker = &MonitorStatus{Status: string(cb.Status), FailureCount: int(cb.FailureCount), Threshold: int(cb.Threshold)}
	}
	if a := d.Alarms; a != nil {
		obs.Alarms = &MonitorStatus{Status: string(a.Status), Triggered: a.TriggeredAlarmNames}
	}
	status := string(d.Status)
	if d.Rollback != nil || strings.HasPrefix(status, "ROLLBACK_") {
		reason := aws.ToString(d.StatusReason)
		if d.Rollback != nil && aws.ToString(d.Rollback.Reason) != "" {
			reason = aws.ToString(d.Rollback.Reason)
		}
		return revertEvidence{byECS: true, evidence: fmt.Sprintf("service deployment %s is %s: %s", aws.ToString(d.ServiceDeploymentArn), status, reason)}
	}
	return revertEvidence{evidence: fmt.Sprintf("service deployment %s is %s with no rollback", aws.ToString(d.ServiceDeploymentArn), status)}
}

// rollsBack reports whether a configuration lets ECS roll a failed deployment back.
func rollsBack(dc *types.DeploymentConfiguration) bool {
	if dc == nil {
		return false
	}
	cb, al := dc.DeploymentCircuitBreaker, dc.Alarms
	return (cb != nil && cb.Enable && cb.Rollback) || (al != nil && al.Enable && al.Rollback)
}

// stopChaosDeployment rolls the chaos deployment back with StopServiceDeployment when it is still in progress and
// the permission is there; it reports whether it did. Any refusal leaves the restore to UpdateService.
func (r *restorer) stopChaosDeployment(ctx context.Context, t *target, svc types.Service) bool {
	stopper, ok := r.clients.Restore.(ServiceDeploymentStopper)
	arn := t.watch.chaosServiceDeployment
	if !ok || arn == "" || aws.ToString(svc.CurrentServiceDeployment) != arn {
		return false
	}
	inProgress := false
	for _, d := range svc.Deployments {
		if aws.ToString(d.TaskDefinition) == t.chaosARN && aws.ToString(d.Status) == "PRIMARY" && d.RolloutState == types.DeploymentRolloutStateInProgress {
			inProgress = true
		}
	}
	if !inProgress {
		return false
	}
	_, err := stopper.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback})
	if err != nil {
		msg := explainAPIError(err, "ecs:StopServiceDeployment")
		r.log.WithField("service", t.name).Infof("StopServiceDeployment ROLLBACK not used (%s): restoring with UpdateService, which resolves image tags again", msg)
		return false
	}
	return true
}

// readStoppedTasks reads the stopped tasks of the chaos deployment (startedBy its deployment id): one ListTasks
// page per call, then DescribeTasks of the ones not seen yet.
func (r *runState) readStoppedTasks(ctx context.Context, t *target, now time.Time) {
	log := r.log.WithField("service", t.name)
	out, err := r.clients.Chaos.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster: aws.String(r.opts.Cluster), StartedBy: aws.String(t.watch.chaosDeployment), DesiredStatus: types.DesiredStatusStopped,
	})
	if err != nil {
		if ctx.Err() == nil {
			log.Warnf("listing the chaos deployment's stopped tasks failed: %v", err)
		}
		return
	}
	var fresh []string
	for _, a := range out.TaskArns {
		if !t.watch.seenStopped[a] {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) == 0 {
		return
	}
	tasks, err := describeTasks(ctx, r.clients.Chaos, r.opts.Cluster, fresh)
	if err != nil {
		if ctx.Err() == nil {
			log.Warnf("describing the chaos deployment's stopped tasks failed: %v", err)
		}
		return
	}
	obs := &t.report.Observations
	for _, task := range tasks {
		if aws.ToString(task.LastStatus) != "STOPPED" {
			continue // still stopping: read it again next time
		}
		t.watch.seenStopped[aws.ToString(task.TaskArn)] = true
		t.watch.stoppedChaos++
		if task.StartedAt != nil {
			t.watch.chaosRan = true
		}
		reason := stoppedReason(task)
		if task.StopCode == types.TaskStopCodeTaskFailedToStart {
			t.watch.failedSeen++
			obs.FailedTasks = max(obs.FailedTasks, t.watch.failedSeen)
		}
		if isPullError(reason) && obs.FirstFailureReason == "" {
			at := now
			obs.FirstFailureAt = &at
			obs.FirstFailureSeconds = now.Sub(obs.injectedAt).Seconds()
			obs.FirstFailureReason = reason
			log.Infof("first chaos task failed after %.0fs: %s", obs.FirstFailureSeconds, reason)
		}
		if len(obs.StoppedReasons) < maxReasons && !containsString(obs.StoppedReasons, reason) {
			obs.StoppedReasons = append(obs.StoppedReasons, reason)
		}
	}
	if obs.FirstFailureReason != "" {
		t.report.Effective = true
	}
}

// isPullError reports whether a stopped reason says the image could not be pulled.
func isPullError(reason string) bool {
	l := strings.ToLower(reason)
	return strings.Contains(l, "cannotpullcontainer") || strings.Contains(l, "pull image") || strings.Contains(l, "failed to resolve ref")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
