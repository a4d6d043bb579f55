package ecssim

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECS-native BLUE_GREEN, LINEAR and CANARY deployments (2025), as the developer guide describes them:
//   - https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html and
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html: the green
//     revision is scaled up beside the blue one, which keeps serving; test traffic, then production traffic shifts to
//     green; "bakeTimeInMinutes": "The time period when both blue and green service revisions are running
//     simultaneously after the production traffic has shifted" (SDK doc of types.DeploymentConfiguration); then blue
//     is terminated. Rollback returns traffic to blue, which never stopped.
//   - Linear (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linear-deployment.html) shifts production
//     traffic in steps of stepPercent (default 10.0) with stepBakeTimeInMinutes (default 6) between steps, "not applied
//     after reaching 100 percent traffic" (SDK doc of types.LinearConfiguration).
//   - Canary (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment.html) shifts canaryPercent
//     (default 5.0), waits canaryBakeTimeInMinutes (default 10), then shifts the rest (SDK doc of
//     types.CanaryConfiguration).
//   - Lifecycle stages are types.ServiceDeploymentLifecycleStage; RECONCILE_SERVICE "only happens when you start a new
//     service deployment with more than 1 service revision in an ACTIVE state" (SDK doc of
//     types.DeploymentLifecycleHook.LifecycleStages). Lifecycle hooks
//     (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html) answer
//     SUCCEEDED (next stage), FAILED (roll back to the last successful revision) or IN_PROGRESS (invoked again after
//     30 s, or callBackDelay).
//
// Simplifications: a service's first deployment has no blue revision and scales up as a rolling one; traffic is a
// number (no load balancer); DescribeServices shows the green deployment PRIMARY and the blue one ACTIVE, both with
// their running tasks, rolloutState IN_PROGRESS until CLEAN_UP ends.

// stagedDeployment is the lifecycle state of one BLUE_GREEN, LINEAR or CANARY deployment.
type stagedDeployment struct {
	blue         *deployment // the deployment serving production when this one started
	stage        types.ServiceDeploymentLifecycleStage
	gen          int // bumped on every stage change: stale timers and hook answers do nothing
	hooksPending int
	traffic      float64 // percent of production traffic on this revision
}

// HookStatus is what a lifecycle hook answers.
type HookStatus string

// Answers a Lambda lifecycle hook may give (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html).
const (
	HookSucceeded  HookStatus = "SUCCEEDED"
	HookFailed     HookStatus = "FAILED"
	HookInProgress HookStatus = "IN_PROGRESS" // holds the deployment: ECS invokes the hook again after CallBackDelay
)

// HookOutcome scripts a lifecycle hook target. The zero value succeeds after one second.
type HookOutcome struct {
	Status        HookStatus    // default SUCCEEDED
	After         time.Duration // how long one invocation takes to answer; default 1s
	CallBackDelay time.Duration // IN_PROGRESS: delay before the next invocation; default 30s as ECS documents
}

// HookInvocation is one call ECS made to a lifecycle hook, for tests.
type HookInvocation struct {
	Target       string
	Stage        types.ServiceDeploymentLifecycleStage
	DeploymentID string
	HookDetails  string // the hook's hookDetails document as JSON, "" when it has none
	At           time.Time
}

// SetHookOutcome scripts what the hook with this target ARN answers from now on (also for an invocation already
// waiting to be re-invoked).
func (s *Simulator) SetHookOutcome(hookTargetARN string, o HookOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hookOutcomes == nil {
		s.hookOutcomes = map[string]HookOutcome{}
	}
	s.hookOutcomes[hookTargetARN] = o
}

// HookInvocations returns every lifecycle hook invocation so far, oldest first.
func (s *Simulator) HookInvocations() []HookInvocation {
	s.lockAndAdvance()
	defer s.mu.Unlock()
	return append([]HookInvocation(nil), s.hookCalls...)
}

// DeploymentStage returns the lifecycle stage and production traffic percent of a service's PRIMARY deployment;
// a rolling deployment has no stage ("").
func (s *Simulator) DeploymentStage(clusterName, serviceName string) (types.ServiceDeploymentLifecycleStage, float64, error) {
	s.lockAndAdvance()
	defer s.mu.Unlock()
	svc, e := s.serviceLocked(clusterName, serviceName)
	if e != nil {
		return "", 0, e
	}
	if len(svc.deployments) == 0 || svc.deployments[0].staged == nil {
		return "", 0, nil
	}
	dep := svc.deployments[0]
	return dep.lifecycleStage(), dep.staged.traffic, nil
}

// lifecycleStage is the deployment's current stage, "" for a rolling one (for DescribeServiceDeployments).
func (d *deployment) lifecycleStage() types.ServiceDeploymentLifecycleStage {
	if d.staged == nil {
		return ""
	}
	return d.staged.stage
}

func isStagedStrategy(st types.DeploymentStrategy) bool {
	return st == types.DeploymentStrategyBlueGreen || st == types.DeploymentStrategyLinear || st == types.DeploymentStrategyCanary
}

// stagedOrder is the order of the lifecycle stages of a blue/green-family deployment.
var stagedOrder = []types.ServiceDeploymentLifecycleStage{
	types.ServiceDeploymentLifecycleStageReconcileService,
	types.ServiceDeploymentLifecycleStagePreScaleUp,
	types.ServiceDeploymentLifecycleStageScaleUp,
	types.ServiceDeploymentLifecycleStagePostScaleUp,
	types.ServiceDeploymentLifecycleStageTestTrafficShift,
	types.ServiceDeploymentLifecycleStagePostTestTrafficShift,
	types.ServiceDeploymentLifecycleStageProductionTrafficShift,
	types.ServiceDeploymentLifecycleStagePostProductionTrafficShift,
	types.ServiceDeploymentLifecycleStageBakeTime,
	types.ServiceDeploymentLifecycleStageCleanUp,
}

// beginStaged turns a new PRIMARY deployment into a staged one when its strategy asks for it and a blue revision
// serves production; it reports whether the deployment is staged.
func (s *Simulator) beginStaged(svc *service, dep *deployment) bool {
	if dep.staged != nil {
		return true
	}
	if !isStagedStrategy(dep.strategy) || svc.spec.SchedulingStrategy == types.SchedulingStrategyDaemon || len(svc.deployments) < 2 {
		return false
	}
	// The revision serving production: the previous deployment, or, when that one was itself a staged deployment
	// that never received all the traffic, the blue revision it was going to replace.
	prev := svc.deployments[1]
	blue := prev
	if prev.staged != nil && prev.staged.traffic < 100 && prev.staged.blue != nil {
		blue = prev.staged.blue
	}
	dep.staged = &stagedDeployment{blue: blue}
	// RECONCILE_SERVICE only happens with more than one revision ACTIVE besides the new one.
	active := 0
	for _, d := range svc.deployments[1:] {
		if d.status != "INACTIVE" {
			active++
		}
	}
	first := types.ServiceDeploymentLifecycleStagePreScaleUp
	if active > 1 {
		first = types.ServiceDeploymentLifecycleStageReconcileService
	}
	s.enterStage(svc, dep, first)
	return true
}

// reconcileStaged is the scheduler pass of a staged PRIMARY deployment.
func (s *Simulator) reconcileStaged(svc *service) {
	primary := svc.deployments[0]
	primary.desired = svc.desired
	greenActive := s.stopStagedSurplus(svc, primary)
	s.startGreen(svc, primary, int(svc.desired)-greenActive)
	s.dropDrained(svc)
	s.advanceStaged(svc, primary)
}

// stopStagedSurplus stops what a staged deployment does not keep: tasks of superseded deployments (neither green
// nor blue) and surplus green tasks at once, and blue's tasks at CLEAN_UP. It returns how many green tasks remain
// active.
func (s *Simulator) stopStagedSurplus(svc *service, primary *deployment) int {
	st := primary.staged
	all := svc.tasks()
	var stopped []*task
	stop := func(t *task) {
		s.stopTaskLocked(t, types.TaskStopCodeServiceSchedulerInitiated, fmt.Sprintf("Scaling activity initiated by (deployment %s)", primary.id))
		stopped = append(stopped, t)
	}
	greenActive := 0
	for _, t := range all {
		switch {
		case !t.active():
		case t.dep == primary:
			greenActive++
			if greenActive > int(svc.desired) {
				stop(t)
				greenActive--
			}
		case t.dep != st.blue:
			stop(t)
		}
	}
	if st.stage == types.ServiceDeploymentLifecycleStageCleanUp {
		for _, t := range all {
			if t.dep == st.blue && t.active() {
				stop(t)
			}
		}
	}
	s.reportStopped(svc, stopped)
	return greenActive
}

// startGreen launches up to missing green tasks. From SCALE_UP on, green runs the desired count beside blue
// (maximumPercent does not bound it), unless the deployment is no longer in progress or is backing off.
func (s *Simulator) startGreen(svc *service, primary *deployment, missing int) {
	st := primary.staged
	scaling := slices.Index(stagedOrder, st.stage) >= slices.Index(stagedOrder, types.ServiceDeploymentLifecycleStageScaleUp)
	if !scaling || missing <= 0 || primary.rollout != types.DeploymentRolloutStateInProgress {
		return
	}
	if s.now.Before(primary.nextLaunch) {
		s.wakeAt(svc, primary.nextLaunch)
		return
	}
	if started := s.startTasks(svc, primary, missing); len(started) > 0 {
		s.addEvent(svc, "has started %d tasks: %s.", len(started), taskList(started))
	}
}

// advanceStaged ends the stages that wait on tasks: SCALE_UP once green runs the desired count healthy, CLEAN_UP
// (completing the deployment) once no other deployment has a task left.
func (s *Simulator) advanceStaged(svc *service, primary *deployment) {
	switch primary.staged.stage {
	case types.ServiceDeploymentLifecycleStageScaleUp:
		healthy := 0
		for _, t := range svc.tasks() {
			if t.dep == primary && t.healthy() {
				healthy++
			}
		}
		if healthy >= int(svc.desired) {
			s.nextStage(svc, primary)
		}
	case types.ServiceDeploymentLifecycleStageCleanUp:
		for _, t := range svc.tasks() {
			if t.dep != primary && t.live() {
				return
			}
		}
		s.completeStaged(svc, primary)
	}
}

// enterStage moves dep to stage and runs that stage's hooks; a stage with nothing to wait for passes at once.
func (s *Simulator) enterStage(svc *service, dep *deployment, stage types.ServiceDeploymentLifecycleStage) {
	st := dep.staged
	st.stage = stage
	st.gen++
	dep.updatedAt = s.now
	hooks := hooksAt(dep.cfg, stage)
	st.hooksPending = len(hooks)
	for _, h := range hooks {
		s.invokeHook(svc, dep, h, stage, st.gen)
	}
	if len(hooks) > 0 {
		return // the stage's own work starts once its hooks succeeded (stageWork)
	}
	s.stageWork(svc, dep)
}

// stageWork is what a stage does once its hooks succeeded.
func (s *Simulator) stageWork(svc *service, dep *deployment) {
	st := dep.staged
	switch st.stage {
	case types.ServiceDeploymentLifecycleStageScaleUp, types.ServiceDeploymentLifecycleStageCleanUp:
		s.reconcileStaged(svc) // launches or stops tasks, and moves on when they are done
	case types.ServiceDeploymentLifecycleStageProductionTrafficShift:
		s.shiftTraffic(svc, dep, st.gen)
	case types.ServiceDeploymentLifecycleStageBakeTime:
		bake := time.Duration(aws.ToInt32(dep.cfg.BakeTimeInMinutes)) * time.Minute
		gen := st.gen
		s.scheduleLocked(bake, func() {
			if dep.staged.gen == gen && svc.deployments[0] == dep {
				s.nextStage(svc, dep)
			}
		})
	default:
		s.nextStage(svc, dep)
	}
}

// nextStage enters the stage after the current one.
func (s *Simulator) nextStage(svc *service, dep *deployment) {
	i := slices.Index(stagedOrder, dep.staged.stage)
	if i < 0 || i+1 >= len(stagedOrder) {
		return
	}
	next := stagedOrder[i+1]
	if next == types.ServiceDeploymentLifecycleStageScaleUp {
		s.addEvent(svc, "(deployment %s) scaling up the new service revision.", dep.id)
	}
	s.enterStage(svc, dep, next)
}

// shiftTraffic moves production traffic to green in the strategy's steps, one step now and the next after its bake.
func (s *Simulator) shiftTraffic(svc *service, dep *deployment, gen int) {
	st := dep.staged
	if st.gen != gen || svc.deployments[0] != dep {
		return
	}
	step, wait := 100.0, time.Duration(0)
	switch dep.strategy {
	case types.DeploymentStrategyLinear:
		step, wait = 10, 6*time.Minute
		if lc := dep.cfg.LinearConfiguration; lc != nil {
			if lc.StepPercent != nil {
				step = *lc.StepPercent
			}
			if lc.StepBakeTimeInMinutes != nil {
				wait = time.Duration(*lc.StepBakeTimeInMinutes) * time.Minute
			}
		}
	case types.DeploymentStrategyCanary:
		step, wait = 5, 10*time.Minute
		if cc := dep.cfg.CanaryConfiguration; cc != nil {
			if cc.CanaryPercent != nil {
				step = *cc.CanaryPercent
			}
			if cc.CanaryBakeTimeInMinutes != nil {
				wait = time.Duration(*cc.CanaryBakeTimeInMinutes) * time.Minute
			}
		}
		if st.traffic > 0 {
			step = 100 // after the canary phase the rest shifts at once
		}
	}
	st.traffic = math.Min(100, math.Round((st.traffic+math.Max(step, 0.1))*10)/10)
	dep.updatedAt = s.now
	if st.traffic >= 100 {
		s.nextStage(svc, dep)
		return
	}
	s.scheduleLocked(wait, func() { s.shiftTraffic(svc, dep, gen) })
}

// hooksAt returns the lifecycle hooks of cfg that run at stage.
func hooksAt(cfg types.DeploymentConfiguration, stage types.ServiceDeploymentLifecycleStage) []types.DeploymentLifecycleHook {
	var out []types.DeploymentLifecycleHook
	for _, h := range cfg.LifecycleHooks {
		if slices.Contains(h.LifecycleStages, types.DeploymentLifecycleHookStage(stage)) {
			out = append(out, h)
		}
	}
	return out
}

// invokeHook calls a hook and acts on its scripted answer when it arrives.
func (s *Simulator) invokeHook(svc *service, dep *deployment, h types.DeploymentLifecycleHook, stage types.ServiceDeploymentLifecycleStage, gen int) {
	target := aws.ToString(h.HookTargetArn)
	o := s.hookOutcomes[target]
	if o.After <= 0 {
		o.After = time.Second
	}
	call := HookInvocation{Target: target, Stage: stage, DeploymentID: dep.id, At: s.now}
	if h.HookDetails != nil {
		if raw, err := h.HookDetails.MarshalSmithyDocument(); err == nil {
			call.HookDetails = string(raw)
		}
	}
	s.hookCalls = append(s.hookCalls, call)
	s.scheduleLocked(o.After, func() {
		st := dep.staged
		if st.gen != gen || svc.deployments[0] != dep || dep.rollout != types.DeploymentRolloutStateInProgress {
			return
		}
		o := s.hookOutcomes[target] // the answer as scripted when it is given
		switch o.Status {
		case HookFailed:
			s.addEvent(svc, "(deployment %s) lifecycle hook %s failed at stage %s.", dep.id, target, stage)
			s.rollbackStaged(svc, dep, fmt.Sprintf("ECS deployment %s: lifecycle hook %s failed at stage %s: rolling back.", dep.id, target, stage))
		case HookInProgress:
			delay := o.CallBackDelay
			if delay <= 0 {
				delay = 30 * time.Second
			}
			s.scheduleLocked(delay, func() {
				if dep.staged.gen == gen && svc.deployments[0] == dep {
					s.invokeHook(svc, dep, h, stage, gen)
				}
			})
		default:
			st.hooksPending--
			if st.hooksPending == 0 {
				s.stageWork(svc, dep)
			}
		}
	})
}

// rollbackStaged fails a staged deployment and returns the service to its blue revision, which kept running: green
// tasks stop, blue is PRIMARY again, no task is started.
func (s *Simulator) rollbackStaged(svc *service, dep *deployment, reason string) {
	st := dep.staged
	st.gen++
	dep.rollout = types.DeploymentRolloutStateFailed
	dep.reason = reason
	dep.updatedAt = s.now
	blue := st.blue
	var stopped []*task
	for _, t := range svc.tasks() {
		if t.dep == dep && t.active() {
			s.stopTaskLocked(t, types.TaskStopCodeServiceSchedulerInitiated, fmt.Sprintf("Scaling activity initiated by (deployment %s)", blue.id))
			stopped = append(stopped, t)
		}
	}
	if len(stopped) > 0 {
		s.addEvent(svc, "has stopped %d running tasks: %s.", len(stopped), taskList(stopped))
	}
	s.addEvent(svc, "rolling back to deployment %s.", blue.id)
	rest := []*deployment{blue}
	for _, d := range svc.deployments {
		if d != blue {
			d.status = "ACTIVE"
			rest = append(rest, d)
		}
	}
	blue.status = "PRIMARY"
	blue.updatedAt = s.now
	svc.deployments = rest
	svc.taskDef = blue.taskDef
	s.reconcile(svc)
}

// completeStaged ends a staged deployment whose blue revision is gone.
func (s *Simulator) completeStaged(svc *service, dep *deployment) {
	dep.rollout = types.DeploymentRolloutStateCompleted
	dep.reason = fmt.Sprintf("ECS deployment %s completed.", dep.id)
	dep.updatedAt = s.now
	dep.staged.traffic = 100
	svc.lastCompleted = dep
	s.addEvent(svc, "(deployment %s) deployment completed.", dep.id)
	for _, old := range svc.deployments[1:] {
		old.status = "INACTIVE"
		old.updatedAt = s.now
	}
	svc.deployments = svc.deployments[:1]
	if !svc.steady {
		svc.steady = true
		s.addEvent(svc, "has reached a steady state.")
	}
}
