package ecssim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	maxServiceEvents = 100
	// failuresBeforeBackoff is how many launches in a row may fail before ECS starts throttling launches.
	failuresBeforeBackoff = 3
	maxBackoffDoublings   = 4
)

// bounds returns the deployment bounds in tasks: maximumPercent rounded down and minimumHealthyPercent
// rounded up, as ECS documents.
func (svc *service) bounds() (maxTotal, minHealthy int) {
	maxPct, minPct := int(aws.ToInt32(svc.cfg.MaximumPercent)), int(aws.ToInt32(svc.cfg.MinimumHealthyPercent))
	d := int(svc.desired)
	return maxPct * d / 100, (minPct*d + 99) / 100
}

// circuitBreakerThreshold is ECS's default failed-task threshold: half the desired count rounded up,
// within [3, 200].
func circuitBreakerThreshold(desired int32) int32 {
	return thresholdFor(nil, desired)
}

// thresholdFor applies a circuit breaker's thresholdConfiguration (default BOUNDED_PERCENT of 50).
func thresholdFor(cfg *types.ThresholdConfiguration, desired int32) int32 {
	kind, value := types.ThresholdTypeBoundedPercent, int32(50)
	if cfg != nil {
		kind, value = cfg.Type, cfg.Value
	}
	scaled := int32(math.Ceil(float64(value) * float64(desired) / 100))
	switch kind {
	case types.ThresholdTypeCount:
		return max(value, 1)
	case types.ThresholdTypeUnboundedPercent:
		return max(scaled, 1)
	default:
		return min(max(scaled, 3), 200)
	}
}

func (s *Simulator) addEvent(svc *service, format string, args ...any) {
	msg := fmt.Sprintf("(service %s) ", svc.name) + fmt.Sprintf(format, args...)
	ev := types.ServiceEvent{CreatedAt: timePtr(s.now), Id: aws.String(s.newEventID()), Message: aws.String(msg)}
	svc.events = append([]types.ServiceEvent{ev}, svc.events...)
	if len(svc.events) > maxServiceEvents {
		svc.events = svc.events[:maxServiceEvents]
	}
	s.logf("ecssim: %s", msg)
}

func (svc *service) tasks() []*task {
	var out []*task
	for _, t := range svc.cluster.taskOrder {
		if t.svc == svc {
			out = append(out, t)
		}
	}
	return out
}

func taskList(ts []*task) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = "(task " + t.id + ")"
	}
	return strings.Join(parts, " ")
}

// reconcile is the service scheduler: one pass that stops and starts tasks within the deployment bounds
// and settles deployment states. It runs after every change that could matter and is idempotent.
func (s *Simulator) reconcile(svc *service) {
	if svc.status == "INACTIVE" || len(svc.deployments) == 0 {
		return
	}
	all := svc.tasks()
	if svc.status == "DRAINING" {
		s.drain(svc, all)
		return
	}
	primary := svc.deployments[0]
	if primary.rollout != types.DeploymentRolloutStateCompleted && s.beginStaged(svc, primary) {
		s.reconcileStaged(svc) // BLUE_GREEN, LINEAR, CANARY: strategies.go
		return
	}
	primary.desired = svc.desired
	maxTotal, minHealthy := svc.bounds()

	var stopped []*task
	stop := func(t *task) {
		s.stopTaskLocked(t, types.TaskStopCodeServiceSchedulerInitiated,
			fmt.Sprintf("Scaling activity initiated by (deployment %s)", primary.id))
		stopped = append(stopped, t)
	}
	primaryActive := scaleDownPrimary(all, primary, int(svc.desired), stop)
	stopOlderDeployments(all, primary, minHealthy, stop)
	s.reportStopped(svc, stopped)

	s.startPrimary(svc, primary, all, len(primaryActive), maxTotal)
	s.settle(svc)
}

// scaleDownPrimary stops the primary's tasks above the desired count, dropping tasks that are not running yet
// first so that the running ones keep serving. It returns the primary's active tasks that remain.
func scaleDownPrimary(all []*task, primary *deployment, desired int, stop func(*task)) []*task {
	var primaryActive []*task
	for _, t := range all {
		if t.dep == primary && t.active() {
			primaryActive = append(primaryActive, t)
		}
	}
	for i := len(primaryActive) - 1; i >= 0 && len(primaryActive) > desired; i-- {
		if !primaryActive[i].healthy() {
			stop(primaryActive[i])
			primaryActive = append(primaryActive[:i], primaryActive[i+1:]...)
		}
	}
	for len(primaryActive) > desired {
		stop(primaryActive[len(primaryActive)-1])
		primaryActive = primaryActive[:len(primaryActive)-1]
	}
	return primaryActive
}

// stopOlderDeployments retires the tasks of deployments the primary replaces: tasks that are not healthy are
// useless and go at once; healthy ones go only while minimumHealthyPercent (minHealthy tasks) still holds.
func stopOlderDeployments(all []*task, primary *deployment, minHealthy int, stop func(*task)) {
	healthy := 0
	for _, t := range all {
		if t.healthy() {
			healthy++
		}
	}
	for _, t := range all {
		if t.dep != primary && t.active() && !t.healthy() {
			stop(t)
		}
	}
	for _, t := range all {
		if t.dep != primary && t.healthy() && healthy-1 >= minHealthy {
			stop(t)
			healthy--
		}
	}
}

// reportStopped adds the service event ECS writes for the tasks a scheduler pass stopped; a service that
// stops tasks is no longer in a steady state.
func (s *Simulator) reportStopped(svc *service, stopped []*task) {
	if len(stopped) > 0 {
		s.addEvent(svc, "has stopped %d running tasks: %s.", len(stopped), taskList(stopped))
		svc.steady = false
	}
}

// startPrimary launches the primary tasks still missing (the primary has primaryActive of the desired count)
// within maximumPercent (maxTotal tasks), which bounds the tasks RUNNING or PENDING (stopping ones are
// neither), unless the deployment has failed or is backing off after failed launches.
func (s *Simulator) startPrimary(svc *service, primary *deployment, all []*task, primaryActive, maxTotal int) {
	activeTotal := 0
	for _, t := range all {
		if t.active() {
			activeTotal++
		}
	}
	launch := min(int(svc.desired)-primaryActive, maxTotal-activeTotal)
	if launch <= 0 || primary.rollout == types.DeploymentRolloutStateFailed {
		return
	}
	if s.now.Before(primary.nextLaunch) {
		s.wakeAt(svc, primary.nextLaunch)
		return
	}
	started := s.startTasks(svc, primary, launch)
	if len(started) > 0 {
		s.addEvent(svc, "has started %d tasks: %s.", len(started), taskList(started))
		svc.steady = false
	}
}

// startTasks launches up to n tasks of dep; fewer when no container instance has room (capacity.go), in which
// case a later pass tries again.
func (s *Simulator) startTasks(svc *service, dep *deployment, n int) []*task {
	started := make([]*task, 0, n)
	for range n {
		t := s.launchTask(svc, dep)
		if t == nil {
			break
		}
		started = append(started, t)
	}
	return started
}

// wakeAt makes sure the scheduler looks at svc again at t.
func (s *Simulator) wakeAt(svc *service, t time.Time) {
	if !svc.wakeAt.IsZero() && !svc.wakeAt.After(t) && svc.wakeAt.After(s.now) {
		return
	}
	svc.wakeAt = t
	s.scheduleLocked(t.Sub(s.now), func() { s.reconcile(svc) })
}

// settle updates deployment states: a primary with every task running and older deployments drained is
// COMPLETED, and the older ones become INACTIVE and leave the list.
func (s *Simulator) settle(svc *service) {
	primary := svc.deployments[0]
	running, pendingOrOld := 0, 0
	for _, t := range svc.tasks() {
		switch {
		case t.dep == primary && t.healthy():
			running++
		case t.live():
			pendingOrOld++
		}
	}
	s.dropDrained(svc)
	if running != int(svc.desired) || pendingOrOld > 0 {
		return
	}
	if primary.rollout == types.DeploymentRolloutStateInProgress {
		primary.rollout = types.DeploymentRolloutStateCompleted
		primary.reason = fmt.Sprintf("ECS deployment %s completed.", primary.id)
		primary.updatedAt = s.now
		svc.lastCompleted = primary
		s.addEvent(svc, "(deployment %s) deployment completed.", primary.id)
		s.deploymentCompleted(primary)
	}
	if len(svc.deployments) > 1 {
		for _, old := range svc.deployments[1:] {
			old.status = "INACTIVE"
			old.updatedAt = s.now
		}
		svc.deployments = svc.deployments[:1]
	}
	if !svc.steady && primary.rollout != types.DeploymentRolloutStateFailed {
		svc.steady = true
		s.addEvent(svc, "has reached a steady state.")
	}
}

// dropDrained retires older deployments that have no task left. A FAILED one stays listed until the
// primary completes, so a rollback remains visible while it runs.
func (s *Simulator) dropDrained(svc *service) {
	liveByDeployment := map[*deployment]bool{}
	for _, t := range svc.tasks() {
		if t.live() {
			liveByDeployment[t.dep] = true
		}
	}
	kept := svc.deployments[:1]
	for _, old := range svc.deployments[1:] {
		if liveByDeployment[old] || old.rollout == types.DeploymentRolloutStateFailed {
			kept = append(kept, old)
			continue
		}
		old.status = "INACTIVE"
		old.updatedAt = s.now
	}
	svc.deployments = kept
}

// drain stops every task of a deleted service and makes it INACTIVE once they are gone.
func (s *Simulator) drain(svc *service, all []*task) {
	var stopped []*task
	live := 0
	for _, t := range all {
		if t.active() {
			s.stopTaskLocked(t, types.TaskStopCodeServiceSchedulerInitiated, "Service deleted")
			stopped = append(stopped, t)
		}
		if t.live() {
			live++
		}
	}
	if len(stopped) > 0 {
		s.addEvent(svc, "has stopped %d running tasks: %s.", len(stopped), taskList(stopped))
	}
	if live == 0 {
		svc.status = "INACTIVE"
		for _, dep := range svc.deployments {
			dep.updatedAt = s.now
		}
	}
}

// newDeployment makes a PRIMARY deployment of taskDef with a new service revision and service deployment
// (history.go); the previous primary stays as ACTIVE until drained.
func (s *Simulator) newDeployment(svc *service, taskDef, reason string) *deployment {
	dep := s.newECSDeployment(svc, taskDef, reason)
	s.recordDeployment(svc, dep)
	return dep
}

// newECSDeployment makes the deployment DescribeServices lists, without its history.
func (s *Simulator) newECSDeployment(svc *service, taskDef, reason string) *deployment {
	for _, old := range svc.deployments {
		old.status = "ACTIVE"
		old.updatedAt = s.now
	}
	dep := &deployment{
		id: s.newDeploymentID(), taskDef: taskDef, status: "PRIMARY", desired: svc.desired,
		rollout: types.DeploymentRolloutStateInProgress, createdAt: s.now, updatedAt: s.now,
		launchType: svc.spec.LaunchType, strategy: svc.cfg.Strategy, cfg: svc.cfg,
	}
	dep.reason = reason
	if reason == "" {
		dep.reason = fmt.Sprintf("ECS deployment %s in progress.", dep.id)
	}
	svc.deployments = append([]*deployment{dep}, svc.deployments...)
	svc.taskDef = taskDef
	svc.steady = false
	return dep
}

// launchTask places one task of dep and schedules its way through PROVISIONING and PENDING; nil when no container
// instance has room for it.
func (s *Simulator) launchTask(svc *service, dep *deployment) *task {
	td := s.resolveTaskDefinition(dep.taskDef)
	instance, ok := s.placeOrReport(svc, dep, td)
	if !ok {
		return nil
	}
	id := s.newTaskID()
	c := svc.cluster
	t := &task{
		id: id, arn: s.arn(fmt.Sprintf("task/%s/%s", c.name, id)), cluster: c, svc: svc, dep: dep, td: td,
		group: "service:" + svc.name, startedBy: dep.id, launchType: dep.launchType,
		lastStatus: statusProvisioning, desiredStatus: statusRunning, version: 1,
		createdAt: timePtr(s.now), instance: instance,
	}
	for _, cd := range td.ContainerDefinitions {
		t.containers = append(t.containers, types.Container{
			ContainerArn: aws.String(s.arn(fmt.Sprintf("container/%s/%s/%s", c.name, id, s.newTaskID()[:16]))),
			TaskArn:      aws.String(t.arn),
			Name:         cd.Name,
			Image:        cd.Image,
			LastStatus:   aws.String(statusPending),
		})
	}
	c.tasks[id] = t
	c.taskOrder = append(c.taskOrder, t)
	s.after(t, s.provisioningTime(td), s.toPending)
	return t
}

// after runs step on t after d unless t changed state meanwhile.
func (s *Simulator) after(t *task, d time.Duration, step func(*task)) {
	gen := t.gen
	s.scheduleLocked(d, func() {
		if t.gen == gen {
			step(t)
		}
	})
}

func (s *Simulator) transition(t *task, status string) {
	t.lastStatus = status
	t.version++
	t.gen++
}

func (s *Simulator) toPending(t *task) {
	s.transition(t, statusPending)
	t.pullStartedAt = timePtr(s.now)
	t.pulled, t.pullFailures = s.pullPlan(t)
	if t.pulled == nil {
		s.after(t, s.timing.PullFailure, s.failToStart)
		return
	}
	s.after(t, s.timing.PendingToRunning, s.toRunning)
}

func (s *Simulator) toRunning(t *task) {
	s.startContainers(t)
	s.startGrace(t)
	if dep := t.dep; dep != nil {
		// types.Deployment.FailedTasks: "Once a service deployment has one or more successfully running
		// tasks, the failed task count resets to zero and stops being evaluated."
		dep.ranTask = true
		dep.failed = 0
		dep.consecutiveFailures = 0
		dep.nextLaunch = time.Time{}
		// resetOnHealthyTask defaults to true: a healthy task clears the circuit breaker's count.
		if cb := t.svc.cfg.DeploymentCircuitBreaker; cb == nil || cb.ResetOnHealthyTask == nil || *cb.ResetOnHealthyTask {
			dep.breakerFailures = 0
		}
	}
	if t.svc != nil {
		s.reconcile(t.svc)
	}
}

func (s *Simulator) startContainers(t *task) {
	s.transition(t, statusRunning)
	t.pullStoppedAt = timePtr(s.now)
	t.startedAt = timePtr(s.now)
	if t.pulled == nil {
		t.pulled, t.pullFailures = s.pullPlan(t)
	}
	s.establish(t)
	for i := range t.containers {
		c := &t.containers[i]
		c.LastStatus = aws.String(statusRunning)
		if i < len(t.pulled) {
			c.ImageDigest = aws.String(t.pulled[i])
		}
		c.RuntimeId = aws.String(t.id + "-" + aws.ToString(c.Name))
	}
}

// failToStart ends a task whose image could not be pulled, as ECS does after the agent's pull retries.
func (s *Simulator) failToStart(t *task) {
	reason := ""
	for i := range t.containers {
		c := &t.containers[i]
		c.LastStatus = aws.String(statusStopped)
		if i < len(t.pullFailures) && t.pullFailures[i] != "" {
			c.Reason = aws.String(t.pullFailures[i])
			if reason == "" {
				reason = t.pullFailures[i]
			}
		}
	}
	s.transition(t, statusStopped)
	t.desiredStatus = statusStopped
	t.stopCode = types.TaskStopCodeTaskFailedToStart
	t.stoppedReason = reason
	t.pullStoppedAt = timePtr(s.now)
	t.stoppingAt, t.stoppedAt, t.executionStoppedAt = timePtr(s.now), timePtr(s.now), timePtr(s.now)
	s.after(t, s.timing.StoppedRetention, s.purge)
	if t.svc == nil || t.dep == nil {
		return
	}
	dep, svc := t.dep, t.svc
	if !dep.ranTask {
		dep.failed++ // types.Deployment.FailedTasks: consecutive failures, not evaluated once a task ran
	}
	dep.breakerFailures++
	dep.updatedAt = s.now
	dep.consecutiveFailures++
	if n := dep.consecutiveFailures - failuresBeforeBackoff; n >= 0 {
		dep.nextLaunch = s.now.Add(s.timing.LaunchBackoff << min(n, maxBackoffDoublings))
		if n%10 == 0 {
			s.addEvent(svc, "is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.")
		}
	}
	s.resolutionFailed(t)
	s.checkCircuitBreaker(svc, dep)
	s.reconcile(svc)
}

// checkCircuitBreaker fails the primary deployment once its failed tasks reach the threshold and, with
// rollback, deploys the last completed task definition again.
func (s *Simulator) checkCircuitBreaker(svc *service, dep *deployment) {
	cb := svc.cfg.DeploymentCircuitBreaker
	if cb == nil || !cb.Enable || svc.deployments[0] != dep || dep.rollout != types.DeploymentRolloutStateInProgress {
		return
	}
	if dep.breakerFailures < thresholdFor(cb.ThresholdConfiguration, dep.desired) {
		return
	}
	s.failDeployment(svc, dep, "ECS deployment circuit breaker: tasks failed to start.", "tasks failed to start")
}

// stopTaskLocked asks a task to stop; it reaches STOPPED after the stop duration.
func (s *Simulator) stopTaskLocked(t *task, code types.TaskStopCode, reason string) {
	if t.desiredStatus == statusStopped || !t.live() {
		return
	}
	wasRunning := t.lastStatus == statusRunning
	t.desiredStatus = statusStopped
	s.transition(t, statusStopping)
	t.stopCode = code
	t.stoppedReason = reason
	t.stoppingAt = timePtr(s.now)
	s.after(t, s.timing.StopDuration, func(t *task) {
		s.transition(t, statusStopped)
		t.stoppedAt, t.executionStoppedAt = timePtr(s.now), timePtr(s.now)
		for i := range t.containers {
			c := &t.containers[i]
			c.LastStatus = aws.String(statusStopped)
			if wasRunning {
				c.ExitCode = aws.Int32(0)
			}
		}
		s.after(t, s.timing.StoppedRetention, s.purge)
		if t.svc != nil {
			s.reconcile(t.svc)
		}
	})
}

// purge forgets a stopped task, as ECS does about an hour after it stopped.
func (s *Simulator) purge(t *task) {
	c := t.cluster
	delete(c.tasks, t.id)
	for i, x := range c.taskOrder {
		if x == t {
			c.taskOrder = append(c.taskOrder[:i], c.taskOrder[i+1:]...)
			break
		}
	}
}
