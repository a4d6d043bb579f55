// Package reporttest builds ChaosResults of typical runs of the fault (a pass, a failed probe, a rollback by ECS,
// a stop, a hundred services) with their timelines, for the report's golden and browser tests. Every time is
// fixed, so the same fixture renders to the same bytes.
package reporttest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/timeline"
)

// Start is the time every fixture's run starts.
var Start = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// Mark is a mark a fixture put on a service's row (Service empty: the run lane), at T seconds after Start.
type Mark struct {
	Service string
	Kind    timeline.Kind
	T       float64
}

// Fixture is one run: its result and the marks its report must show.
type Fixture struct {
	Name   string
	Result *result.ChaosResult
	Marks  []Mark
}

// Names lists the fixtures in the order the tests use them.
var Names = []string{"pass", "probe-fail", "rolled-back", "stopped", "hundred-services"}

// Build returns the fixture of that name.
func Build(name string) (Fixture, error) {
	switch name {
	case "pass":
		return run(name, scenario{services: 1, verdict: result.VerdictPass, probe: "Passed"})
	case "probe-fail":
		return run(name, scenario{services: 1, verdict: result.VerdictFail, probe: "Failed"})
	case "rolled-back":
		return run(name, scenario{services: 1, verdict: result.VerdictPass, probe: "Passed", rollbackAt: 14})
	case "stopped":
		return run(name, scenario{services: 1, verdict: result.VerdictStopped, probe: "Passed", stopAt: 11})
	case "hundred-services":
		return run(name, scenario{services: 100, verdict: result.VerdictPass, probe: "Passed"})
	}
	return Fixture{}, fmt.Errorf("no fixture %q; allowed: %v", name, Names)
}

type scenario struct {
	services   int
	verdict    result.Verdict
	probe      string
	rollbackAt float64 // seconds; 0: no rollback
	stopAt     float64 // seconds; 0: not stopped
}

func at(s float64) time.Time { return Start.Add(time.Duration(s * float64(time.Second))) }

// serviceJSON mirrors the JSON form of chaoslib/ecsimage.ServiceReport, the part the report reads.
type serviceJSON struct {
	Service                string         `json:"service"`
	Cluster                string         `json:"cluster"`
	OriginalTaskDefinition string         `json:"originalTaskDefinition"`
	ChaosTaskDefinitions   []string       `json:"chaosTaskDefinitions"`
	State                  string         `json:"state"`
	Changed                bool           `json:"changed"`
	Cycles                 int            `json:"cycles"`
	Effective              bool           `json:"effective"`
	Warnings               []string       `json:"warnings,omitempty"`
	Observations           map[string]any `json:"observations"`
	Restore                map[string]any `json:"restore"`
	Error                  string         `json:"error,omitempty"`
}

// The fixed moments of every fixture's run, in seconds after Start.
const (
	runEnd      = 40.0
	holdEndsAt  = 31.2 // when the hold of a run that was not stopped ends
	pullFailure = "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:chaos-invalid-7f3a: not found"
)

// builder records a fixture's marks twice, on the timeline and in the list the tests compare the report with, so
// the two cannot drift apart.
type builder struct {
	rec *timeline.Recorder
	f   Fixture
}

// mark puts a mark at t seconds on a service's row (service empty: the run lane).
func (b *builder) mark(service string, kind timeline.Kind, t float64, text string) {
	b.rec.Mark(service, timeline.Mark{At: at(t), Kind: kind, Text: text})
	b.f.Marks = append(b.f.Marks, Mark{Service: service, Kind: kind, T: t})
}

// run plays the scenario into a timeline in the order a real run records it, then wraps the fault's report and
// that timeline into a ChaosResult.
func run(name string, sc scenario) (Fixture, error) {
	b := &builder{rec: timeline.NewRecorder(Start), f: Fixture{Name: name}}
	holdEnd := b.runLane(sc)
	var services []serviceJSON
	for i := range sc.services {
		services = append(services, b.service(sc, i, holdEnd))
	}
	b.mark("", timeline.KindPostChaos, runEnd, "post-chaos probes")
	b.probesAndConfig(sc, holdEnd)
	b.rec.End(at(runEnd))
	res, err := chaosResult(sc, services, b.rec.Snapshot())
	if err != nil {
		return Fixture{}, err
	}
	b.f.Result = res
	return b.f, nil
}

// runLane marks the run's own moments before the services' and returns when the hold ended: at the stop for a
// stopped run.
func (b *builder) runLane(sc scenario) float64 {
	b.mark("", timeline.KindPreChaos, 0.4, "preflight passed; pre-chaos probes")
	b.mark("", timeline.KindChaosStart, 1.2, "chaos started")
	holdEnd := holdEndsAt
	if sc.stopAt > 0 {
		holdEnd = sc.stopAt
		b.mark("", timeline.KindStop, sc.stopAt, "stopped: received SIGTERM")
	}
	b.mark("", timeline.KindChaosEnd, holdEnd, "last hold ended")
	return holdEnd
}

// service draws the i-th service's row (its polls and marks, shifted a little per service so that a hundred
// rows differ) and returns its part of the fault's report.
func (b *builder) service(sc scenario, i int, holdEnd float64) serviceJSON {
	svc := "checkout"
	if sc.services > 1 {
		svc = fmt.Sprintf("svc-%03d", i)
	}
	shift := float64(i%10) * 0.1
	inject, restore := 1.2+shift, holdEnd+0.3+shift
	rolledBack := sc.rollbackAt > 0
	completed := restore + 6
	b.mark(svc, timeline.KindInject, inject, "points at "+svc+":8")
	for t := 0.0; t <= completed+1; t++ {
		b.rec.Observe(svc, sample(sc, t, inject, restore, completed))
	}
	b.mark(svc, timeline.KindFirstFailure, inject+3, pullFailure)
	b.mark(svc, timeline.KindEvent, inject+9, "(service "+svc+") is unable to consistently start tasks successfully.")
	action := "reverted"
	if rolledBack {
		b.mark(svc, timeline.KindBreaker, sc.rollbackAt, svc+":8 FAILED: ECS deployment circuit breaker: tasks failed to start.")
		b.mark(svc, timeline.KindRollback, sc.rollbackAt+1, "ECS rolled the service back")
		action = "rolled-back-by-ecs"
	}
	b.mark(svc, timeline.KindRestore, restore, "restore: "+action)
	b.mark(svc, timeline.KindRestored, completed, "restore deployment completed after 6s")
	b.mark(svc, timeline.KindDeregister, completed+0.5, "deregistered "+svc+":8")
	report := serviceReport(svc, action, observations(sc, svc, inject))
	b.rec.Observe(svc, timeline.Sample{At: at(runEnd), Desired: 3, Original: timeline.Tasks{Running: 3}})
	return report
}

// sample is one poll of a service at t seconds: the chaos tasks pend and fail between the inject and the restore
// (or ECS's rollback), then the original revision comes back.
func sample(sc scenario, t, inject, restore, completed float64) timeline.Sample {
	s := timeline.Sample{At: at(t), Desired: 3, Original: timeline.Tasks{Running: 3}}
	switch {
	case t < inject+1:
	case sc.rollbackAt > 0 && t >= sc.rollbackAt+2 && t < restore:
	case t < restore:
		s.Chaos.Pending = 1 + int(t)%2
		s.Chaos.Failed = int(t-inject) / 3
		if int(t)%7 == 3 {
			s.Original.Running = 2
		}
	case t < completed:
		s.Original.Running, s.Original.Pending = 2, 1
	}
	return s
}

// observations is what the fault saw of a service, in the JSON form of its report.
func observations(sc scenario, svc string, inject float64) map[string]any {
	obs := map[string]any{
		"chaosTasksAllowed": 3, "firstFailureAfterSeconds": 3, "failedTasks": 9, "rolledBackByECS": sc.rollbackAt > 0,
		"firstFailureReason":     pullFailure,
		"stoppedReasons":         []string{pullFailure},
		"serviceEvents":          []string{"(service " + svc + ") is unable to consistently start tasks successfully."},
		"originalRunningAtStart": 3, "originalRunningLowest": 2, "chaosRunningMax": 0, "chaosPendingMax": 2,
	}
	if sc.rollbackAt > 0 {
		obs["rollbackAfterSeconds"] = sc.rollbackAt + 1 - inject
	}
	return obs
}

// serviceReport is a service's part of the fault's report: faulted once and restored by action.
func serviceReport(svc, action string, obs map[string]any) serviceJSON {
	arn := func(rev int) string {
		return fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/%s:%d", svc, rev)
	}
	return serviceJSON{
		Service: svc, Cluster: "shop", OriginalTaskDefinition: arn(7), ChaosTaskDefinitions: []string{arn(8)},
		State: "restored", Changed: true, Cycles: 1, Effective: true, Observations: obs,
		Restore: map[string]any{"action": action, "completed": true, "waitSeconds": 6, "deregistered": []string{arn(8)},
			"deploymentConfigurationRestored": true},
	}
}

// probesAndConfig puts the probes' lanes and the run's configuration on the timeline, as the end of a run does.
func (b *builder) probesAndConfig(sc scenario, holdEnd float64) {
	b.rec.Probe(timeline.Probe{Name: "checkout-availability", Type: "httpProbe", Mode: "Continuous", Verdict: sc.probe, From: at(0.4), To: at(runEnd)})
	b.rec.Probe(timeline.Probe{Name: "orders-consistent", Type: "cmdProbe", Mode: "EOT", Verdict: "Passed", From: at(runEnd), To: at(runEnd)})
	b.rec.Probe(timeline.Probe{Name: "expect-healthy-tasks", Type: "builtinExpectation", Mode: "Continuous", Verdict: "Passed", From: at(1.2), To: at(holdEnd)})
	for _, kv := range [][2]string{{"run", "7f3a9c21e0"}, {"CLUSTER_NAME", "shop"}, {"SERVICE_NAME", "checkout"}, {"REGION", "us-east-1"},
		{"IMAGE", "nginx:chaos-invalid-7f3a9c21e0"}, {"TASK_REPLICA_AFFECTED_PERC", "100"}, {"TOTAL_CHAOS_DURATION", "30"},
		{"CHAOS_INTERVAL", "30"}, {"SEQUENCE", "parallel"}, {"STATUS_CHECK_DELAY", "1"}, {"EXPECT_HEALTHY_TASKS", "2"}} {
		b.rec.Config(kv[0], kv[1])
	}
}

// chaosResult is the ChaosResult the run writes at its end: the verdict's phase and exit code, the probes'
// statuses, and the fault's report with the timeline as status.faultStatus.
func chaosResult(sc scenario, services []serviceJSON, tl map[string]any) (*result.ChaosResult, error) {
	fs := map[string]any{"runId": "7f3a9c21e0", "startedAt": Start, "endedAt": at(runEnd), "services": services, "timeline": tl}
	res := &result.ChaosResult{Name: "ecs-invalid-container-image", Namespace: "litmus", Experiment: "ecs-invalid-container-image",
		Verdict: sc.verdict, ProbeSuccessPercentage: "100"}
	switch sc.verdict {
	case result.VerdictPass:
		res.Phase, fs["outcome"], fs["exitCode"] = result.PhaseCompleted, "pass", 0
	case result.VerdictFail:
		res.Phase, fs["outcome"], fs["exitCode"], res.ProbeSuccessPercentage = result.PhaseCompletedWithProbeFailure, "fail", 1, "66"
	case result.VerdictStopped:
		res.Phase, fs["outcome"], fs["exitCode"] = result.PhaseStopped, "stopped", 5
		fs["stop"] = map[string]any{"reason": "received SIGTERM", "hypothesisFailed": false}
		res.ErrorOutput = &result.ErrorOutput{ErrorCode: "EXPERIMENT_ABORTED", Reason: "received SIGTERM"}
	}
	res.ProbeStatuses = []result.ProbeStatus{
		{Name: "checkout-availability", Type: "httpProbe", Mode: "Continuous", Status: result.ProbeStatusBody{Verdict: result.ProbeVerdict(sc.probe), Description: describe(sc.probe)}},
		{Name: "orders-consistent", Type: "cmdProbe", Mode: "EOT", Status: result.ProbeStatusBody{Verdict: result.ProbePassed, Description: "Probe passed"}},
		{Name: "expect-healthy-tasks", Type: "builtinExpectation", Mode: "Continuous", Status: result.ProbeStatusBody{Verdict: result.ProbePassed, Description: "the original revision kept at least 2 RUNNING tasks (lowest 2)"}},
	}
	// A round trip through JSON gives the values a ChaosResult read back from the apiserver or a file holds.
	data, err := json.Marshal(fs)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &res.FaultStatus); err != nil {
		return nil, err
	}
	return res, nil
}

func describe(verdict string) string {
	if verdict == "Failed" {
		return "Actual value 503 did not match the expected 200 (responseCode ==) at 0:17 into the chaos"
	}
	return "Probe passed"
}
