package recorder

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/timeline"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// timelineField is where the timeline goes in the ChaosResult's status.faultStatus.
const timelineField = "timeline"

// runTimeline draws the run's timeline (pkg/timeline) from the fault's hooks alone: the task counts of each poll,
// the steps of the fault and what ECS did, with no ECS call of its own. The probes and alarms are added at the end.
type runTimeline struct {
	rec   *timeline.Recorder
	clock clock.Clock

	mu                             sync.Mutex
	seen                           map[string]*seenService
	preChaos, chaosStart, chaosEnd time.Time
}

// seenService is how much of a service's report is already on the timeline: the report's lists only grow.
type seenService struct {
	rollouts, events     int
	firstFailure         bool
	rollback             bool
	thirdParty           string
	restoreAt, completed time.Time
	deregistered         int
}

// newRunTimeline starts the timeline of a run with its configuration (no secret: names and numbers only).
func newRunTimeline(cfg tunables.Config, image string, runID string, c clock.Clock) *runTimeline {
	rt := &runTimeline{rec: timeline.NewRecorder(c.Now()), clock: c, seen: map[string]*seenService{}}
	for _, s := range cfg.Services {
		rt.rec.Service(s)
	}
	seconds := func(d time.Duration) string { return strconv.Itoa(int(d.Seconds())) }
	for _, kv := range [][2]string{
		{"run", runID},
		{"CLUSTER_NAME", cfg.ClusterName},
		{"SERVICE_NAME", strings.Join(cfg.Services, ",")},
		{"REGION", cfg.Region},
		{"IMAGE", image},
		{"TARGET_CONTAINERS", strings.Join(cfg.TargetContainers, ",")},
		{"TASK_REPLICA_AFFECTED_PERC", strconv.Itoa(cfg.AffectedPercent)},
		{"TOTAL_CHAOS_DURATION", seconds(cfg.TotalChaosDuration)},
		{"CHAOS_INTERVAL", seconds(cfg.ChaosInterval)},
		{"RAMP_TIME", seconds(cfg.RampTime)},
		{"SEQUENCE", string(cfg.Sequence)},
		{"STATUS_CHECK_TIMEOUT", seconds(cfg.StatusCheckTimeout)},
		{"STATUS_CHECK_DELAY", seconds(cfg.StatusCheckDelay)},
		{"EXPECT_ROLLBACK_WITHIN", secondsIfSet(cfg.ExpectRollbackWithin)},
		{"EXPECT_HEALTHY_TASKS", intIfSet(cfg.ExpectHealthyTasks)},
		{"EXPECT_ALARMS", strings.Join(cfg.ExpectAlarms, ",")},
		{"CHAOSENGINE", cfg.ChaosEngine},
		{"EXPERIMENT_NAME", cfg.ExperimentName},
	} {
		if kv[1] != "" {
			rt.rec.Config(kv[0], kv[1])
		}
	}
	return rt
}

func secondsIfSet(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.Itoa(int(d.Seconds()))
}

func intIfSet(n int) string {
	if n < 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// runMark records now as the run's moment at (chaos start or end) and marks it on the run lane.
func (rt *runTimeline) runMark(at *time.Time, kind timeline.Kind, text string) {
	now := rt.clock.Now()
	rt.mu.Lock()
	*at = now
	rt.mu.Unlock()
	rt.rec.Mark("", timeline.Mark{At: now, Kind: kind, Text: text})
}

// hooks records what each hook reports, then calls next's. A nil runTimeline records nothing.
func (rt *runTimeline) hooks(next ecsimage.Hooks) ecsimage.Hooks {
	if rt == nil {
		return next
	}
	h := next
	h.PreflightPassed = func(services []ecsimage.ServiceReport) {
		rt.mu.Lock()
		rt.preChaos = rt.clock.Now()
		rt.mu.Unlock()
		rt.rec.Mark("", timeline.Mark{At: rt.preChaos, Kind: timeline.KindPreChaos, Text: "preflight passed; pre-chaos probes"})
		if next.PreflightPassed != nil {
			next.PreflightPassed(services)
		}
	}
	h.ChaosStarted = func() {
		rt.runMark(&rt.chaosStart, timeline.KindChaosStart, "chaos started")
		if next.ChaosStarted != nil {
			next.ChaosStarted()
		}
	}
	h.ChaosEnded = func() {
		rt.runMark(&rt.chaosEnd, timeline.KindChaosEnd, "last hold ended")
		if next.ChaosEnded != nil {
			next.ChaosEnded()
		}
	}
	h.Injected = func(service, revision string) {
		rt.rec.Mark(service, timeline.Mark{At: rt.clock.Now(), Kind: timeline.KindInject, Text: "points at " + shortRevision(revision)})
		if next.Injected != nil {
			next.Injected(service, revision)
		}
	}
	h.Progress = func(s ecsimage.ServiceReport) {
		rt.observe(s)
		if next.Progress != nil {
			next.Progress(s)
		}
	}
	h.Restored = func(s ecsimage.ServiceReport) {
		rt.observe(s)
		if next.Restored != nil {
			next.Restored(s)
		}
	}
	return h
}

// observe adds a poll's counts and whatever the report shows that the timeline does not have yet.
func (rt *runTimeline) observe(s ecsimage.ServiceReport) {
	rt.observeCounts(s)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	seen := rt.seen[s.Service]
	if seen == nil {
		seen = &seenService{}
		rt.seen[s.Service] = seen
	}
	m := serviceMarks{rec: rt.rec, service: s.Service, seen: seen}
	m.rollouts(s.Observations)
	m.findings(s.Observations)
	m.restore(s, rt.clock)
}

// observeCounts adds the task counts of the report's last poll, by the role of each deployment; a report that
// has not been polled yet adds nothing.
func (rt *runTimeline) observeCounts(s ecsimage.ServiceReport) {
	o := s.Observations
	if o.LastPoll.IsZero() || len(o.Deployments) == 0 {
		return
	}
	sample := timeline.Sample{At: o.LastPoll, Desired: o.DesiredCount}
	for _, d := range o.Deployments {
		t := &sample.Other
		switch d.Role {
		case "original":
			t = &sample.Original
		case "chaos":
			t = &sample.Chaos
		}
		t.Running += d.Running
		t.Pending += d.Pending
		t.Failed += d.Failed
	}
	rt.rec.Observe(s.Service, sample)
}

// serviceMarks marks on one service's row what its report shows for the first time: seen remembers what is
// already there, since every report repeats everything seen so far. Its methods run under runTimeline.mu.
type serviceMarks struct {
	rec     *timeline.Recorder
	service string
	seen    *seenService
}

// mark puts one mark on the service's row.
func (m serviceMarks) mark(at time.Time, kind timeline.Kind, text string) {
	m.rec.Mark(m.service, timeline.Mark{At: at, Kind: kind, Text: text})
}

// rollouts marks the new rollout states; a failed rollout is marked as what failed it (the circuit breaker or an
// alarm) when its reason says so.
func (m serviceMarks) rollouts(o ecsimage.Observations) {
	for _, r := range o.RolloutStates[min(m.seen.rollouts, len(o.RolloutStates)):] {
		kind, text := timeline.KindRollout, shortRevision(r.Revision)+" "+r.State
		if r.Reason != "" {
			text += ": " + r.Reason
		}
		if r.State == "FAILED" {
			switch reason := strings.ToLower(r.Reason); {
			case strings.Contains(reason, "circuit breaker"):
				kind = timeline.KindBreaker
			case strings.Contains(reason, "alarm"):
				kind = timeline.KindAlarm
			}
		}
		m.mark(r.At, kind, text)
	}
	m.seen.rollouts = max(m.seen.rollouts, len(o.RolloutStates))
}

// findings marks what the hold found out: new service events, the first chaos task failure, ECS's rollback, and
// a revision someone else deployed.
func (m serviceMarks) findings(o ecsimage.Observations) {
	for _, e := range o.ServiceEvents[min(m.seen.events, len(o.ServiceEvents)):] {
		m.mark(o.LastPoll, timeline.KindEvent, e)
	}
	m.seen.events = max(m.seen.events, len(o.ServiceEvents))
	if o.FirstFailureAt != nil && !m.seen.firstFailure {
		m.seen.firstFailure = true
		m.mark(*o.FirstFailureAt, timeline.KindFirstFailure, o.FirstFailureReason)
	}
	if o.RollbackAt != nil && !m.seen.rollback {
		m.seen.rollback = true
		m.mark(*o.RollbackAt, timeline.KindRollback, "ECS rolled the service back")
	}
	if o.ThirdPartyTaskDefinition != "" && o.ThirdPartyTaskDefinition != m.seen.thirdParty {
		m.seen.thirdParty = o.ThirdPartyTaskDefinition
		m.mark(o.LastPoll, timeline.KindThirdParty, "someone deployed "+shortRevision(o.ThirdPartyTaskDefinition))
	}
}

// restore marks the restore's steps: its start, its deployment completed (or failed), the chaos revisions
// deregistered. The report carries no time for a failure or a deregistration, so they are marked at c's now.
func (m serviceMarks) restore(s ecsimage.ServiceReport, c clock.Clock) {
	r := s.Restore
	if r.At != nil && !r.At.Equal(m.seen.restoreAt) {
		m.seen.restoreAt = *r.At
		m.mark(*r.At, timeline.KindRestore, "restore: "+string(r.Action))
	}
	now := c.Now()
	if r.CompletedAt != nil && !r.CompletedAt.Equal(m.seen.completed) {
		m.seen.completed = *r.CompletedAt
		m.mark(*r.CompletedAt, timeline.KindRestored, fmt.Sprintf("restore deployment completed after %.0fs", r.WaitSeconds))
	}
	if s.State == ecsimage.StateRestoreFailed && m.seen.completed.IsZero() {
		m.seen.completed = now
		m.mark(now, timeline.KindRestoreFail, "restore failed")
	}
	if len(r.Deregistered) > m.seen.deregistered {
		var names []string
		for _, arn := range r.Deregistered[m.seen.deregistered:] {
			names = append(names, shortRevision(arn))
		}
		m.seen.deregistered = len(r.Deregistered)
		// The deregistration runs behind the restore; the run learns it is done when the cycle's restores are.
		m.mark(now, timeline.KindDeregister, "deregistered "+strings.Join(names, ", "))
	}
}

// finish adds what only the end of the run knows (a stop, the probes' verdicts, the alarms seen) and returns the
// timeline for status.faultStatus.timeline, at most timeline.MaxBytes of JSON.
func (rt *runTimeline) finish(report *ecsimage.Report, verdicts []probe.Result, alarmsSeen *alarms.Observation) map[string]any {
	if rt == nil {
		return nil
	}
	for _, s := range report.Services {
		rt.observe(s)
	}
	end := report.EndedAt
	if end.IsZero() {
		end = rt.clock.Now()
	}
	rt.mu.Lock()
	pre, start, stop := rt.preChaos, rt.chaosStart, rt.chaosEnd
	rt.mu.Unlock()
	if pre.IsZero() {
		pre = report.StartedAt
	}
	if start.IsZero() {
		start = pre
	}
	if stop.IsZero() {
		stop = end
	}
	if report.Stop != nil {
		rt.rec.Mark("", timeline.Mark{At: stop, Kind: timeline.KindStop, Text: "stopped: " + report.Stop.Reason})
	}
	if alarmsSeen != nil {
		for name, at := range alarmsSeen.Reached {
			rt.rec.Mark("", timeline.Mark{At: at, Kind: timeline.KindAlarm, Text: "alarm " + name + " in ALARM"})
		}
	}
	if len(verdicts) > 0 {
		rt.rec.Mark("", timeline.Mark{At: end, Kind: timeline.KindPostChaos, Text: "post-chaos probes"})
	}
	for _, v := range verdicts {
		from, to := probeWindow(v, pre, start, stop, end)
		rt.rec.Probe(timeline.Probe{Name: v.Name, Type: v.Type, Mode: v.Mode, Verdict: string(v.Verdict), From: from, To: to})
	}
	rt.rec.End(end)
	return rt.rec.Snapshot()
}

// probeWindow places a verdict on the time axis by its mode, as Litmus runs the modes: SOT before the chaos, EOT
// after it, Edge at both, Continuous throughout, OnChaos during the chaos. The built-in expectations judge the
// hold.
func probeWindow(v probe.Result, pre, chaosStart, chaosEnd, end time.Time) (time.Time, time.Time) {
	if v.Type == "builtinExpectation" {
		return chaosStart, chaosEnd
	}
	switch v.Mode {
	case "SOT":
		return pre, pre
	case "EOT":
		return end, end
	case "OnChaos":
		return chaosStart, chaosEnd
	default: // Edge, Continuous
		return pre, end
	}
}

// shortRevision turns a task definition ARN into family:revision.
func shortRevision(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
