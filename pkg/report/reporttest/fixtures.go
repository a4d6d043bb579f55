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

func run(name string, sc scenario) (Fixture, error) {
	const end = 40.0
	rec := timeline.NewRecorder(Start)
	f := Fixture{Name: name}
	mark := func(service string, kind timeline.Kind, t float64, text string) {
		rec.Mark(service, timeline.Mark{At: at(t), Kind: kind, Text: text})
		f.Marks = append(f.Marks, Mark{Service: service, Kind: kind, T: t})
	}
	mark("", timeline.KindPreChaos, 0.4, "preflight passed; pre-chaos probes")
	mark("", timeline.KindChaosStart, 1.2, "chaos started")
	holdEnd := 31.2
	if sc.stopAt > 0 {
		holdEnd = sc.stopAt
		mark("", timeline.KindStop, sc.stopAt, "stopped: received SIGTERM")
	}
	mark("", timeline.KindChaosEnd, holdEnd, "last hold ended")
	var services []serviceJSON
	for i := range sc.services {
		svc := "checkout"
		if sc.services > 1 {
			svc = fmt.Sprintf("svc-%03d", i)
		}
		shift := float64(i%10) * 0.1
		inject, restore := 1.2+shift, holdEnd+0.3+shift
		rolledBack := sc.rollbackAt > 0
		completed := restore + 6
		mark(svc, timeline.KindInject, inject, "points at "+svc+":8")
		for t := 0.0; t <= completed+1; t++ {
			s := timeline.Sample{At: at(t), Desired: 3, Original: timeline.Tasks{Running: 3}}
			switch {
			case t < inject+1:
			case rolledBack && t >= sc.rollbackAt+2 && t < restore:
			case t < restore:
				s.Chaos.Pending = 1 + int(t)%2
				s.Chaos.Failed = int(t-inject) / 3
				if int(t)%7 == 3 {
					s.Original.Running = 2
				}
			case t < completed:
				s.Original.Running, s.Original.Pending = 2, 1
			}
			rec.Observe(svc, s)
		}
		mark(svc, timeline.KindFirstFailure, inject+3, "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:chaos-invalid-7f3a: not found")
		mark(svc, timeline.KindEvent, inject+9, "(service "+svc+") is unable to consistently start tasks successfully.")
		action := "reverted"
		if rolledBack {
			mark(svc, timeline.KindBreaker, sc.rollbackAt, svc+":8 FAILED: ECS deployment circuit breaker: tasks failed to start.")
			mark(svc, timeline.KindRollback, sc.rollbackAt+1, "ECS rolled the service back")
			action = "rolled-back-by-ecs"
		}
		mark(svc, timeline.KindRestore, restore, "restore: "+action)
		mark(svc, timeline.KindRestored, completed, "restore deployment completed after 6s")
		mark(svc, timeline.KindDeregister, completed+0.5, "deregistered "+svc+":8")
		obs := map[string]any{
			"chaosTasksAllowed": 3, "firstFailureAfterSeconds": 3, "failedTasks": 9, "rolledBackByECS": rolledBack,
			"firstFailureReason":     "CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:chaos-invalid-7f3a: not found",
			"stoppedReasons":         []string{"CannotPullContainerError: pull image manifest has been retried 5 time(s): nginx:chaos-invalid-7f3a: not found"},
			"serviceEvents":          []string{"(service " + svc + ") is unable to consistently start tasks successfully."},
			"originalRunningAtStart": 3, "originalRunningLowest": 2, "chaosRunningMax": 0, "chaosPendingMax": 2,
		}
		if rolledBack {
			obs["rollbackAfterSeconds"] = sc.rollbackAt + 1 - inject
		}
		arn := func(rev int) string {
			return fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task-definition/%s:%d", svc, rev)
		}
		services = append(services, serviceJSON{
			Service: svc, Cluster: "shop", OriginalTaskDefinition: arn(7), ChaosTaskDefinitions: []string{arn(8)},
			State: "restored", Changed: true, Cycles: 1, Effective: true, Observations: obs,
			Restore: map[string]any{"action": action, "completed": true, "waitSeconds": 6, "deregistered": []string{arn(8)},
				"deploymentConfigurationRestored": true},
		})
		rec.Observe(svc, timeline.Sample{At: at(end), Desired: 3, Original: timeline.Tasks{Running: 3}})
	}
	mark("", timeline.KindPostChaos, end, "post-chaos probes")
	probeVerdict := result.ProbeVerdict(sc.probe)
	rec.Probe(timeline.Probe{Name: "checkout-availability", Type: "httpProbe", Mode: "Continuous", Verdict: sc.probe, From: at(0.4), To: at(end)})
	rec.Probe(timeline.Probe{Name: "orders-consistent", Type: "cmdProbe", Mode: "EOT", Verdict: "Passed", From: at(end), To: at(end)})
	rec.Probe(timeline.Probe{Name: "expect-healthy-tasks", Type: "builtinExpectation", Mode: "Continuous", Verdict: "Passed", From: at(1.2), To: at(holdEnd)})
	for _, kv := range [][2]string{{"run", "7f3a9c21e0"}, {"CLUSTER_NAME", "shop"}, {"SERVICE_NAME", "checkout"}, {"REGION", "us-east-1"},
		{"IMAGE", "nginx:chaos-invalid-7f3a9c21e0"}, {"TASK_REPLICA_AFFECTED_PERC", "100"}, {"TOTAL_CHAOS_DURATION", "30"},
		{"CHAOS_INTERVAL", "30"}, {"SEQUENCE", "parallel"}, {"STATUS_CHECK_DELAY", "1"}, {"EXPECT_HEALTHY_TASKS", "2"}} {
		rec.Config(kv[0], kv[1])
	}
	rec.End(at(end))

	fs := map[string]any{"runId": "7f3a9c21e0", "startedAt": Start, "endedAt": at(end), "services": services, "timeline": rec.Snapshot()}
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
		{Name: "checkout-availability", Type: "httpProbe", Mode: "Continuous", Status: result.ProbeStatusBody{Verdict: probeVerdict, Description: describe(sc.probe)}},
		{Name: "orders-consistent", Type: "cmdProbe", Mode: "EOT", Status: result.ProbeStatusBody{Verdict: result.ProbePassed, Description: "Probe passed"}},
		{Name: "expect-healthy-tasks", Type: "builtinExpectation", Mode: "Continuous", Status: result.ProbeStatusBody{Verdict: result.ProbePassed, Description: "the original revision kept at least 2 RUNNING tasks (lowest 2)"}},
	}
	// A round trip through JSON gives the values a ChaosResult read back from the apiserver or a file holds.
	data, err := json.Marshal(fs)
	if err != nil {
		return Fixture{}, err
	}
	if err := json.Unmarshal(data, &res.FaultStatus); err != nil {
		return Fixture{}, err
	}
	f.Result = res
	return f, nil
}

func describe(verdict string) string {
	if verdict == "Failed" {
		return "Actual value 503 did not match the expected 200 (responseCode ==) at 0:17 into the chaos"
	}
	return "Probe passed"
}
