package ecsimage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// releaseCoalescing is how early a hold may be released to share a release with another one: each release costs
// a compare-and-set read and an update (two round trips), which would otherwise make the next one that late.
const releaseCoalescing = 50 * time.Millisecond

// Limits that keep a long hold's report readable.
const (
	maxReasons = 10
	maxEvents  = 20
)

// watchState is what the hold remembers between polls of one service.
type watchState struct {
	seenEvents    map[string]bool
	seenStopped   map[string]bool
	lastFailed    int32
	rollout       map[string]types.DeploymentRolloutState // deployment id -> last state seen
	gone          bool
	lastProgress  string
	sawChaosTasks bool

	// The chaos deployment's id (its tasks' startedBy) and service deployment ARN, what its stopped tasks showed,
	// and whether ecs:DescribeServiceDeployments was refused.
	chaosDeployment        string
	chaosServiceDeployment string
	stoppedChaos           int
	failedSeen             int
	chaosRan               bool
	historyDenied          bool
	stoppedReadAt          int // the poll that last read the chaos deployment's stopped tasks; 0: never
}

// holdAndRelease holds each service that arrives from the injections until its own hold ends, observing every
// held service each STATUS_CHECK_DELAY (ten per DescribeServices), and releases it to the restore the moment its
// hold is over. Deadlines are timers, not counts of polls. A stop releases every held service at once, and a
// service whose inject failed is released as soon as it arrives. It returns, once the injections are over and
// every service was released, the services it released; their deregistrations may still be running (bgWait).
// lastHoldEnded is called once, just before the last held service is released.
func (r *runState) holdAndRelease(ctx, rctx context.Context, arrivals <-chan *target, lastHoldEnded func()) []*target {
	var held, released []*target
	polls := 0 // observation polls so far: when each service's stopped tasks were last read
	poll := r.opts.Clock.NewTimer(r.opts.StatusCheckDelay)
	defer func() { poll.Stop() }()
	for arrivals != nil || len(held) > 0 {
		now := r.opts.Clock.Now()
		// Holds that end within the coalescing window are released together: one batched read and their
		// updates back to back cost less lateness to the later ones than a release each would.
		horizon := now.Add(releaseCoalescing)
		var due, keep []*target
		for _, t := range held {
			if ctx.Err() != nil || !t.injected || !horizon.Before(t.holdUntil) {
				due = append(due, t)
			} else {
				keep = append(keep, t)
			}
		}
		held = keep
		if len(due) > 0 {
			if arrivals == nil && len(held) == 0 {
				lastHoldEnded()
			}
			r.release(ctx, rctx, due)
			released = append(released, due...)
			continue // a release takes round trips: look at the clock again
		}
		var next clock.Timer
		var nextC <-chan time.Time
		if len(held) > 0 {
			first := held[0].holdUntil
			for _, t := range held[1:] {
				if t.holdUntil.Before(first) {
					first = t.holdUntil
				}
			}
			next = r.opts.Clock.NewTimer(first.Sub(now))
			nextC = next.C()
		}
		select {
		case t, open := <-arrivals:
			if !open {
				arrivals = nil
				break
			}
			r.startWatching(ctx, t)
			held = append(held, t)
		case <-nextC:
		case <-poll.C():
			r.observe(ctx, held, &polls)
			poll = r.opts.Clock.NewTimer(r.opts.StatusCheckDelay)
		case <-ctx.Done():
		}
		if next != nil {
			next.Stop()
		}
	}
	return released
}

// startWatching begins the observation of a service that was just injected.
func (r *runState) startWatching(ctx context.Context, t *target) {
	if t.injected {
		r.startChaos()
	}
	t.watch = watchState{seenEvents: map[string]bool{}, seenStopped: map[string]bool{}, rollout: map[string]types.DeploymentRolloutState{}}
	for _, e := range t.service.Events {
		t.watch.seenEvents[aws.ToString(e.Id)] = true // events from before the fault are not its effect
	}
	for _, d := range t.service.Deployments {
		t.watch.rollout[aws.ToString(d.Id)] = d.RolloutState // so is the state the fault found
	}
	if t.injected && ctx.Err() == nil {
		// The digests of the original tasks are read once the chaos is on: they never delay an inject.
		r.recordDigests(ctx, []*target{t}, true)
	}
}

// release restores services whose hold is over: one compare-and-set read per ten services, which is also the
// hold's last look at them, then their UpdateService calls; the deregistrations follow in the background, since
// ECS paces them at 1/s and they must never delay putting another service back.
func (r *runState) release(ctx, rctx context.Context, due []*target) {
	stopped := ctx.Err() != nil
	for start := 0; start < len(due); start += describeBatch {
		batch := due[start:min(start+describeBatch, len(due))]
		r.restoreBatch(rctx, batch, func(t *target, svc types.Service) {
			if t.injected && !stopped {
				r.observeService(rctx, t, svc, r.opts.Clock.Now())
			}
		})
	}
	for _, t := range due {
		if t.injected && !stopped {
			r.judgeEffect(t)
		}
		arns, result := r.toDeregister(t), &deregistration{}
		t.dereg = result
		r.background(func() { r.deregisterARNs(rctx, t.name, arns, result) })
	}
}

// observe polls the services once (ten per DescribeServices call) and updates their observations. The stopped
// tasks of the chaos deployments are read whether failedTasks moved or not (it resets once a task ran, as
// types.Deployment.FailedTasks says), at most one ListTasks per ten services per poll: services without a
// confirmed effect first, least recently read first.
func (r *runState) observe(ctx context.Context, targets []*target, polls *int) {
	var names []string
	for _, t := range targets {
		if !t.watch.gone {
			names = append(names, t.serviceID())
		}
	}
	if len(names) == 0 {
		return
	}
	found, missing, err := describeServices(ctx, r.clients.Chaos, r.opts.Cluster, names)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warnf("observing the services failed (the hold goes on): %v", err)
		}
		return
	}
	now := r.opts.Clock.Now()
	for _, t := range targets {
		if t.watch.gone {
			continue
		}
		if _, gone := missing[t.serviceID()]; gone {
			r.serviceGone(t)
			continue
		}
		svc := found[t.serviceID()]
		if s := aws.ToString(svc.Status); s != "ACTIVE" {
			r.serviceGone(t)
			continue
		}
		r.observeService(ctx, t, svc, now)
	}
	*polls++
	r.readStoppedBudgeted(ctx, targets, *polls, now)
	for _, t := range targets {
		if svc, ok := found[t.serviceID()]; ok && !t.watch.gone {
			r.progress(t, svc, now.Sub(t.report.Observations.injectedAt), t.holdFor)
		}
	}
}

// readStoppedBudgeted reads the stopped chaos tasks of at most one service per ten observed. Services without a
// confirmed effect go first, and within each group the least recently read: every service gets its turn however
// the groups change between polls (a rotating index over a list that shrinks as effects are confirmed skipped
// some services for most of a hold).
func (r *runState) readStoppedBudgeted(ctx context.Context, targets []*target, poll int, now time.Time) {
	var candidates []*target
	for _, t := range targets {
		if !t.watch.gone && t.watch.chaosDeployment != "" {
			candidates = append(candidates, t)
		}
	}
	slices.SortStableFunc(candidates, func(a, b *target) int {
		ca, cb := a.report.Observations.FirstFailureReason != "", b.report.Observations.FirstFailureReason != ""
		if ca != cb {
			if ca {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.watch.stoppedReadAt, b.watch.stoppedReadAt)
	})
	budget := min((len(targets)+describeBatch-1)/describeBatch, len(candidates))
	for _, t := range candidates[:budget] {
		t.watch.stoppedReadAt = poll
		r.readStoppedTasks(ctx, t, now)
	}
}

func (r *restorer) serviceGone(t *target) {
	t.watch.gone = true
	msg := fmt.Sprintf("service %s was deleted during the fault; nothing of it is left to restore", t.name)
	r.log.WithField("service", t.name).Error(msg)
	t.report.fail(fmt.Errorf("%s", msg))
}

func (r *runState) observeService(ctx context.Context, t *target, svc types.Service, now time.Time) {
	obs := &t.report.Observations
	t.learnChaosDeployment(svc)
	r.recordRollouts(t, svc, now)
	t.recordPoll(svc, now)
	current := aws.ToString(svc.TaskDefinition)
	switch {
	case current == t.chaosARN:
	case current == t.originalARN():
		r.judgeRevert(ctx, t, svc, now)
	default:
		if obs.ThirdPartyTaskDefinition != current {
			obs.ThirdPartyTaskDefinition = current
			r.log.WithField("service", t.name).Warn(t.report.warn("someone deployed %s during the fault; the fault will leave that deployment alone", current))
		}
	}
	originalRunning := 0
	var failed int32
	for _, d := range svc.Deployments {
		td := aws.ToString(d.TaskDefinition)
		if td == t.originalARN() {
			originalRunning += int(d.RunningCount)
		}
		if td == t.chaosARN {
			failed += d.FailedTasks
			obs.ChaosRunningMax = max(obs.ChaosRunningMax, int(d.RunningCount))
			obs.ChaosPendingMax = max(obs.ChaosPendingMax, int(d.PendingCount))
			if d.RunningCount+d.PendingCount > 0 {
				t.watch.sawChaosTasks = true
			}
		}
	}
	obs.OriginalRunningLowest = min(obs.OriginalRunningLowest, originalRunning)
	for i := len(svc.Events) - 1; i >= 0; i-- { // oldest first
		e := svc.Events[i]
		id := aws.ToString(e.Id)
		if t.watch.seenEvents[id] {
			continue
		}
		t.watch.seenEvents[id] = true
		if msg := aws.ToString(e.Message); notableEvent(msg) && len(obs.ServiceEvents) < maxEvents && !slices.Contains(obs.ServiceEvents, msg) {
			obs.ServiceEvents = append(obs.ServiceEvents, msg)
		}
	}
	if failed > t.watch.lastFailed {
		t.watch.lastFailed = failed
		obs.FailedTasks = max(obs.FailedTasks, int(failed))
	}
	if obs.FirstFailureReason != "" {
		t.report.Effective = true
	}
}

// recordRollouts records the rolloutState changes of the service's deployments.
func (r *runState) recordRollouts(t *target, svc types.Service, now time.Time) {
	obs := &t.report.Observations
	for _, d := range svc.Deployments {
		id := aws.ToString(d.Id)
		if d.RolloutState != "" && t.watch.rollout[id] != d.RolloutState {
			t.watch.rollout[id] = d.RolloutState
			obs.RolloutStates = append(obs.RolloutStates, RolloutChange{
				At: now, Deployment: id, Revision: aws.ToString(d.TaskDefinition), State: string(d.RolloutState), Reason: aws.ToString(d.RolloutStateReason),
			})
		}
	}
}

// notableEvent picks the service events that show the fault's effect or ECS's reaction to it.
func notableEvent(msg string) bool {
	for _, s := range []string{"unable to consistently start tasks", "deployment failed", "rolling back", "unable to place a task", "CannotPullContainer"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// stoppedReason prefers a container's reason (where CannotPullContainerError is), then the task's.
func stoppedReason(task types.Task) string {
	for _, c := range task.Containers {
		if reason := aws.ToString(c.Reason); reason != "" {
			return reason
		}
	}
	if reason := aws.ToString(task.StoppedReason); reason != "" {
		return reason
	}
	return string(task.StopCode)
}

func (r *runState) progress(t *target, svc types.Service, elapsed, total time.Duration) {
	var parts []string
	for _, d := range svc.Deployments {
		label := "other"
		switch aws.ToString(d.TaskDefinition) {
		case t.chaosARN:
			label = "chaos"
		case t.originalARN():
			label = "original"
		}
		parts = append(parts, fmt.Sprintf("%s(%s) running=%d pending=%d failed=%d %s", label, aws.ToString(d.Status), d.RunningCount, d.PendingCount, d.FailedTasks, d.RolloutState))
	}
	line := strings.Join(parts, " | ")
	if line != t.watch.lastProgress {
		t.watch.lastProgress = line
		r.log.WithField("service", t.name).Infof("%s/%s %s", elapsed.Truncate(time.Second), total.Round(time.Second), line)
	}
	r.callHook(func() {
		if r.opts.Hooks.Progress != nil {
			r.opts.Hooks.Progress(r.snapshot(t))
		}
	})
}

// listTasks lists every task ARN of a service with the given desired status.
func listTasks(ctx context.Context, c ECS, cluster, service string, status types.DesiredStatus) ([]string, error) {
	var arns []string
	in := &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(serviceName(service)), DesiredStatus: status}
	for {
		out, err := c.ListTasks(ctx, in)
		if err != nil {
			return nil, err
		}
		arns = append(arns, out.TaskArns...)
		if out.NextToken == nil || len(arns) >= 1000 {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

// describeTasks describes tasks a hundred at a time, the most DescribeTasks accepts.
func describeTasks(ctx context.Context, c ECS, cluster string, arns []string) ([]types.Task, error) {
	var tasks []types.Task
	for start := 0; start < len(arns); start += 100 {
		end := min(start+100, len(arns))
		out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[start:end]})
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

// serviceName turns a service ARN into its name; ListTasks' serviceName takes a name.
func serviceName(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+1:]
	}
	return s
}

// recordDigests reads the image digests the original revision's RUNNING tasks run; before the fault into the
// observations, after it into ChangedDigests. Best effort: it never changes the outcome.
func (r *restorer) recordDigests(ctx context.Context, targets []*target, before bool) {
	for _, t := range targets {
		digests, err := r.originalDigests(ctx, t)
		if err != nil {
			if ctx.Err() == nil {
				r.log.WithField("service", t.name).Warn(t.report.warn("reading the image digests of the original tasks failed: %s",
					explainAPIError(err, "ecs:ListTasks and ecs:DescribeTasks")))
			}
			continue
		}
		obs := &t.report.Observations
		if before {
			obs.DigestsBefore = digests
			continue
		}
		obs.DigestsAfter = digests
		obs.ChangedDigests = changedDigests(obs.DigestsBefore, digests)
		for _, c := range obs.ChangedDigests {
			r.log.WithField("service", t.name).Warn(t.report.warn("container %s runs image digest %s after the restore, %s before the fault: its tag was resolved again (restore method %s)",
				c.Container, strings.Join(c.After, ","), strings.Join(c.Before, ","), orUnknown(t.report.Restore.Method)))
		}
	}
}

func (r *restorer) originalDigests(ctx context.Context, t *target) (map[string][]string, error) {
	arns, err := listTasks(ctx, r.clients.Restore, r.opts.Cluster, t.serviceID(), types.DesiredStatusRunning)
	if err != nil {
		return nil, err
	}
	tasks, err := describeTasks(ctx, r.clients.Restore, r.opts.Cluster, arns)
	if err != nil {
		return nil, err
	}
	digests := map[string][]string{}
	for _, task := range tasks {
		if aws.ToString(task.TaskDefinitionArn) != t.originalARN() {
			continue
		}
		for _, c := range task.Containers {
			name, d := aws.ToString(c.Name), aws.ToString(c.ImageDigest)
			if d != "" && !slices.Contains(digests[name], d) {
				digests[name] = append(digests[name], d)
			}
		}
	}
	for name := range digests {
		slices.Sort(digests[name])
	}
	return digests, nil
}

func changedDigests(before, after map[string][]string) []DigestChange {
	var changes []DigestChange
	for name, a := range after {
		b, ok := before[name]
		if ok && !slices.Equal(a, b) {
			changes = append(changes, DigestChange{Container: name, Before: b, After: a})
		}
	}
	slices.SortFunc(changes, func(x, y DigestChange) int { return strings.Compare(x.Container, y.Container) })
	return changes
}

// judgeEffect classifies the effect once the hold is over: confirmed (a chaos task stopped with a pull error),
// stalled (chaos tasks launched, none ever RUNNING, no failure seen yet: not an error, but a longer hold would
// show the failure) or not effective (a chaos task ran, or none was launched), which is never Pass.
func (r *runState) judgeEffect(t *target) {
	o := &t.report.Observations
	log := r.log.WithField("service", t.name)
	t.report.NotEffectiveReason = ""
	switch {
	case o.FirstFailureReason != "":
		t.report.Effect, t.report.Effective = EffectConfirmed, true
		return
	case o.ChaosRunningMax > 0 || t.watch.chaosRan:
		t.report.NotEffectiveReason = fmt.Sprintf("the chaos image %s pulled: chaos tasks reached RUNNING (choose an IMAGE that does not exist, e.g. one without a tag)", r.opts.Image.Reference)
	case t.watch.sawChaosTasks || o.ChaosPendingMax > 0 || t.watch.stoppedChaos > 0:
		t.report.Effect, t.report.Effective = EffectStalled, true
		msg := "chaos tasks were launched and none ran, but none was seen failing to pull before the hold ended: the deployment stalled"
		if len(o.StoppedReasons) > 0 {
			msg += " (chaos tasks stopped with: " + strings.Join(o.StoppedReasons, "; ") + ")"
		}
		log.Warn(t.report.warn("%s; a longer hold (TOTAL_CHAOS_DURATION, CHAOS_INTERVAL) would show the pull failure", msg))
		return
	case o.ChaosTasksAllowed == 0:
		t.report.NotEffectiveReason = "ECS could start no chaos task under the chaos deployment configuration (raise TASK_REPLICA_AFFECTED_PERC or the service's maximumPercent)"
	case o.RolledBackByECS:
		t.report.NotEffectiveReason = "ECS rolled the deployment back before any chaos task was seen"
	case o.RevertedBySomeoneElse:
		t.report.NotEffectiveReason = "someone pointed the service back at its original revision before any chaos task was seen"
	default:
		t.report.NotEffectiveReason = "ECS scheduled no chaos task during the hold"
	}
	t.report.Effect, t.report.Effective = EffectNotEffective, false
	log.Warnf("the fault did not take effect: %s", t.report.NotEffectiveReason)
}

func orUnknown(s string) string {
	if s == "" {
		return "none: ECS or someone else reverted it"
	}
	return s
}
