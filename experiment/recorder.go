package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/engine"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/events"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

// probeStop is the cause of a run stopped by a failing stopOnFailure probe: a failed hypothesis, not an abort.
var probeStop = &ecsimage.StopCause{Reason: "a stopOnFailure probe failed", HypothesisFailed: true}

// resultWriteTimeout bounds each write of the result and the final flush of events.
const resultWriteTimeout = 10 * time.Second

// outcomeRecorder connects the fault to everything that reports on it: the ChaosResult, the Kubernetes events,
// the probes and the built-in expectations. It owns the ChaosResult value; every write sends a copy.
type outcomeRecorder struct {
	s       *session
	writer  result.Writer
	events  events.Recorder
	probes  *probe.Runner
	engine  *engine.Client // nil without CHAOSENGINE
	mu      sync.Mutex
	res     *result.ChaosResult
	targets map[string]result.ChaosStatus // service -> chaos status

	cancel     context.CancelCauseFunc // stops the run; set by watchForStops
	alarmWatch *alarms.Watcher         // EXPECT_ALARMS, between ChaosStarted and ChaosEnded
	alarmsSeen *alarms.Observation
	chaosStart time.Time
}

// kubeClients returns the cluster's clients when the binary runs in a pod or KUBECONFIG is set, else nil: outside
// a cluster the result goes to a file or stdout.
func kubeClients(getenv func(string) (string, bool)) (*rest.Config, error) {
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	path, ok := getenv("KUBECONFIG")
	if !ok || path == "" {
		return nil, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("KUBECONFIG %s: %w", path, err)
	}
	return cfg, nil
}

func newOutcomeRecorder(ctx context.Context, s *session) (*outcomeRecorder, error) {
	rec := &outcomeRecorder{s: s, targets: map[string]result.ChaosStatus{}}
	name := result.Name(s.cfg.ChaosEngine, s.cfg.ExperimentName, s.cfg.InstanceID)
	rec.res = &result.ChaosResult{
		Name: name, Namespace: s.cfg.ChaosNamespace, Engine: s.cfg.ChaosEngine,
		Experiment: s.cfg.ExperimentName, Instance: s.cfg.InstanceID,
		Phase: result.PhaseRunning, Verdict: result.VerdictAwaited,
	}
	var restCfg *rest.Config
	if !s.outsideCluster {
		var err error
		if restCfg, err = kubeClients(s.lookupEnv); err != nil {
			return nil, err
		}
	}
	var defs []probe.Definition
	var err error
	if restCfg == nil {
		rec.writer, err = fileWriter(s)
		if err != nil {
			return nil, err
		}
		rec.events = events.LogRecorder{Logger: s.log}
	} else {
		dyn, err := dynamic.NewForConfig(restCfg)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client: %w", err)
		}
		rec.writer = result.NewKubeWriter(dyn, s.cfg.ChaosNamespace)
		if s.cfg.ChaosEngine != "" {
			rec.engine = engine.New(dyn, s.cfg.ChaosNamespace, s.cfg.ChaosEngine, engine.Options{Logger: s.log})
			eng, err := rec.engine.Get(ctx, s.cfg.ExperimentName)
			if err != nil {
				return nil, fmt.Errorf("read ChaosEngine %s/%s: %w", s.cfg.ChaosNamespace, s.cfg.ChaosEngine, err)
			}
			if eng.State == engine.StateStop {
				return nil, fmt.Errorf("ChaosEngine %s/%s is set to stop: not starting", s.cfg.ChaosNamespace, s.cfg.ChaosEngine)
			}
			rec.res.EngineUID = eng.UID
			if len(eng.Probes) > 0 {
				if defs, err = probe.Parse(eng.Probes); err != nil {
					return nil, fmt.Errorf("probes of ChaosEngine %s: %w", s.cfg.ChaosEngine, err)
				}
			}
		}
		subject := events.ChaosResult(s.cfg.ChaosNamespace, name, "")
		if s.cfg.ChaosEngine != "" {
			subject = events.ChaosEngine(s.cfg.ChaosNamespace, s.cfg.ChaosEngine, rec.res.EngineUID)
		}
		rec.events = events.NewKubeRecorder(dyn, subject, events.Options{Host: s.cfg.PodName, Logger: s.log})
		pods, err := probe.NewPods(restCfg)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client: %w", err)
		}
		s.probeDeps = probe.Deps{Kube: dyn, Pods: pods, Namespace: s.cfg.ChaosNamespace}
	}
	if s.cfg.ProbesFile != "" && len(defs) == 0 {
		data, err := os.ReadFile(s.cfg.ProbesFile)
		if err != nil {
			return nil, fmt.Errorf("PROBES_FILE: %w", err)
		}
		if defs, err = probe.Parse(data); err != nil {
			return nil, fmt.Errorf("PROBES_FILE %s: %w", s.cfg.ProbesFile, err)
		}
	}
	if len(defs) > 0 {
		deps := s.probeDeps
		deps.Clock, deps.Logger = s.clock, s.log
		rec.probes = probe.NewRunner(defs, deps)
	}
	for _, svc := range s.cfg.Services {
		rec.targets[svc] = result.ChaosTargeted
	}
	rec.res.Targets = rec.targetList()
	wctx, cancel := context.WithTimeout(ctx, resultWriteTimeout)
	defer cancel()
	if err := rec.writer.Start(wctx, rec.copyResult()); err != nil {
		return nil, fmt.Errorf("create the ChaosResult %s: %w", name, err)
	}
	return rec, nil
}

func fileWriter(s *session) (result.Writer, error) {
	if s.cfg.ResultFile == "" {
		return result.NewStreamWriter(s.stdout), nil
	}
	return result.NewFileWriter(s.cfg.ResultFile), nil
}

// watchForStops cancels the run when the ChaosEngine is set to stop or a stopOnFailure probe fails.
func (rec *outcomeRecorder) watchForStops(ctx context.Context, cancel context.CancelCauseFunc) {
	rec.cancel = cancel
	if rec.engine != nil {
		stopped := rec.engine.Watch(ctx)
		go func() {
			select {
			case <-stopped:
				cancel(&ecsimage.StopCause{Reason: "the ChaosEngine's engineState was set to stop"})
			case <-ctx.Done():
			}
		}()
	}
	if rec.probes != nil {
		go func() {
			select {
			case <-rec.probes.StopRequested():
				cancel(probeStop)
			case <-ctx.Done():
			}
		}()
	}
}

// hooks follow the fault: probes at the right moments, events at each step, the result updated as it goes.
func (rec *outcomeRecorder) hooks(ctx context.Context) ecsimage.Hooks {
	// Writes during the run use a context that a stop does not cancel: the stop must still be recorded.
	wctx := context.WithoutCancel(ctx)
	return ecsimage.Hooks{
		PreflightPassed: func(services []ecsimage.ServiceReport) {
			rec.events.Normal(wctx, "PreChaosCheck", fmt.Sprintf("preflight passed for %d ECS service(s) in cluster %s", len(services), rec.s.cfg.ClusterName))
			if rec.probes != nil {
				rec.probes.PreChaos(ctx)
				// A stopOnFailure probe that failed before the chaos must stop the run before the first injection,
				// not whenever the watching goroutine gets to it.
				select {
				case <-rec.probes.StopRequested():
					rec.cancel(probeStop)
				default:
				}
			}
		},
		ChaosStarted: func() {
			rec.chaosStart = rec.s.clock.Now()
			if rec.s.alarmsAPI != nil {
				rec.alarmWatch = alarms.Start(wctx, rec.s.alarmsAPI, rec.s.cfg.ExpectAlarms, rec.s.cfg.StatusCheckDelay, rec.s.clock)
			}
			if rec.probes != nil {
				rec.probes.ChaosStarted(ctx)
			}
		},
		Injected: func(service, revision string) {
			rec.setTarget(service, result.ChaosInjected)
			rec.events.Normal(wctx, "ChaosInject", fmt.Sprintf("service %s points at chaos revision %s", service, revision))
			rec.update(wctx)
		},
		ChaosEnded: func() {
			rec.stopAlarmWatch(wctx)
			if rec.probes != nil {
				rec.probes.ChaosEnded(ctx)
			}
		},
		Restored: func(s ecsimage.ServiceReport) {
			if s.State == ecsimage.StateRestored {
				rec.setTarget(s.Service, result.ChaosReverted)
				rec.events.Normal(wctx, "PostChaosCheck", fmt.Sprintf("service %s restored (%s)", s.Service, s.Restore.Action))
			} else {
				rec.events.Warning(wctx, "PostChaosCheck", fmt.Sprintf("service %s NOT restored: %s", s.Service, s.Error))
			}
			rec.update(wctx)
		},
	}
}

func (rec *outcomeRecorder) stopAlarmWatch(ctx context.Context) {
	if rec.alarmWatch == nil || rec.alarmsSeen != nil {
		return
	}
	obs := rec.alarmWatch.Stop(ctx)
	rec.alarmsSeen = &obs
}

func (rec *outcomeRecorder) setTarget(service string, status result.ChaosStatus) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.targets[service] = status
	rec.res.Targets = rec.targetList()
}

func (rec *outcomeRecorder) targetList() []result.Target {
	var out []result.Target
	for _, svc := range rec.s.cfg.Services {
		out = append(out, result.Target{Name: svc, Kind: "ecs-service", ChaosStatus: rec.targets[svc]})
	}
	return out
}

func (rec *outcomeRecorder) copyResult() *result.ChaosResult {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	c := *rec.res
	c.Targets = append([]result.Target(nil), rec.res.Targets...)
	c.ProbeStatuses = append([]result.ProbeStatus(nil), rec.res.ProbeStatuses...)
	return &c
}

// update writes the intermediate result; a failed intermediate write is logged, the final one decides.
func (rec *outcomeRecorder) update(ctx context.Context) {
	wctx, cancel := context.WithTimeout(ctx, resultWriteTimeout)
	defer cancel()
	if err := rec.writer.Update(wctx, rec.copyResult()); err != nil {
		rec.s.log.Warnf("updating the ChaosResult failed (the final write retries): %v", err)
	}
}

// finish runs the post-chaos probes, judges the expectations, writes the final result and flushes the events. It
// returns the exit code. Its writes run on their own context: a stop must be recorded, not lost.
func (rec *outcomeRecorder) finish(ctx context.Context, report *ecsimage.Report) int {
	wctx := context.WithoutCancel(ctx)
	outcome := report.Outcome()
	var verdicts []probe.Result
	if rec.probes != nil && outcome != ecsimage.OutcomeRefused {
		rec.probes.PostChaos(wctx)
		verdicts = rec.probes.Results()
	}
	verdicts = append(verdicts, judgeExpectations(rec.s.cfg, report)...)
	if len(rec.s.cfg.ExpectAlarms) > 0 {
		rec.stopAlarmWatch(wctx)
		passed, desc := false, "the fault never started its hold, so no alarm was watched"
		if rec.alarmsSeen != nil {
			passed, desc = alarms.Judge(rec.s.cfg.ExpectAlarms, *rec.alarmsSeen, rec.chaosStart)
		}
		verdicts = append(verdicts, probe.Judged("expect-alarms", "builtinExpectation", "OnChaos", passed, desc))
	}
	failedProbe := false
	for _, v := range verdicts {
		failedProbe = failedProbe || v.Verdict != probe.Passed
	}
	if failedProbe && (outcome == ecsimage.OutcomePass) {
		outcome = ecsimage.OutcomeFail
	}
	rec.mu.Lock()
	res := rec.res
	res.ProbeStatuses = nil
	for _, v := range verdicts {
		res.ProbeStatuses = append(res.ProbeStatuses, result.ProbeStatus{Name: v.Name, Type: v.Type, Mode: v.Mode,
			Status: result.ProbeStatusBody{Verdict: result.ProbeVerdict(v.Verdict), Description: v.Description}})
	}
	res.ProbeSuccessPercentage = strconv.Itoa(probe.SuccessPercentage(verdicts))
	res.Phase, res.Verdict, res.ErrorOutput = phaseAndVerdict(outcome, report)
	res.FaultStatus = faultStatus(report, outcome)
	for _, s := range report.Services {
		if s.State == ecsimage.StateRestored && s.Changed {
			rec.targets[s.Service] = result.ChaosReverted
		}
	}
	res.Targets = rec.targetList()
	rec.mu.Unlock()

	final := rec.copyResult()
	werr := writeWithTimeout(wctx, func(c context.Context) error { return rec.writer.Finish(c, final) })
	reason := fmt.Sprintf("run %s ended %s/%s", report.RunID, final.Phase, final.Verdict)
	if outcome == ecsimage.OutcomePass {
		rec.events.Normal(wctx, "Summary", reason)
	} else {
		rec.events.Warning(wctx, "Summary", reason+errorSuffix(final))
	}
	if err := writeWithTimeout(wctx, rec.events.Flush); err != nil {
		rec.s.log.Warnf("flushing events failed: %v", err)
	}
	if werr != nil {
		rec.s.log.Errorf("writing the final ChaosResult failed: %v", werr)
		if outcome == ecsimage.OutcomePass || outcome == ecsimage.OutcomeFail {
			// A result nobody can read is not a pass: say so with the exit code.
			outcome = ecsimage.Worse(outcome, ecsimage.OutcomeError)
		}
	}
	return int(outcome)
}

func writeWithTimeout(ctx context.Context, write func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, resultWriteTimeout)
	defer cancel()
	return write(c)
}

func errorSuffix(r *result.ChaosResult) string {
	if r.ErrorOutput == nil {
		return ""
	}
	return ": " + r.ErrorOutput.Reason
}

// phaseAndVerdict maps the outcome to DESIGN.md's table of phases, verdicts and Litmus error codes.
func phaseAndVerdict(o ecsimage.Outcome, report *ecsimage.Report) (result.Phase, result.Verdict, *result.ErrorOutput) {
	reason := firstError(report)
	switch o {
	case ecsimage.OutcomePass:
		return result.PhaseCompleted, result.VerdictPass, nil
	case ecsimage.OutcomeFail:
		return result.PhaseCompletedWithProbeFailure, result.VerdictFail, nil
	case ecsimage.OutcomeRefused:
		return result.PhaseError, result.VerdictError, &result.ErrorOutput{ErrorCode: "PRE_CHAOS_CHECK_ERROR", Reason: reason}
	case ecsimage.OutcomeRestoreFailed:
		return result.PhaseError, result.VerdictError, &result.ErrorOutput{ErrorCode: "CHAOS_REVERT_ERROR", Reason: reason}
	case ecsimage.OutcomeStopped:
		why := "stopped"
		if report.Stop != nil {
			why = report.Stop.Reason
		}
		return result.PhaseStopped, result.VerdictStopped, &result.ErrorOutput{ErrorCode: "EXPERIMENT_ABORTED", Reason: why}
	default:
		return result.PhaseCompleted, result.VerdictError, &result.ErrorOutput{ErrorCode: "CHAOS_INJECT_ERROR", Reason: reason}
	}
}

func firstError(report *ecsimage.Report) string {
	if report.Err != nil {
		return report.Err.Error()
	}
	for _, s := range report.Services {
		if s.Error != "" {
			return s.Error
		}
	}
	for _, s := range report.Services {
		if s.NotEffectiveReason != "" {
			return "the fault did not take effect on " + s.Service + ": " + s.NotEffectiveReason
		}
	}
	return "see the fault status"
}

// faultStatus is the report as plain JSON values, for the ChaosResult's status.
func faultStatus(report *ecsimage.Report, o ecsimage.Outcome) map[string]any {
	data, err := json.Marshal(report)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	m["outcome"] = o.String()
	m["exitCode"] = int64(o)
	return m
}

// recordEarlyFailure writes an Error result for a run that failed before the recorder existed (bad input), so a
// failed run never stays Awaited or invisible. Best effort: the exit code and the log carry the error anyway.
func recordEarlyFailure(ctx context.Context, log *logrus.Logger, stdout interface{ Write([]byte) (int, error) }, lookupEnv func(string) (string, bool), code, reason string) {
	get := func(k, def string) string {
		if v, ok := lookupEnv(k); ok && v != "" {
			return v
		}
		return def
	}
	res := &result.ChaosResult{
		Name:       result.Name(get("CHAOSENGINE", ""), get("EXPERIMENT_NAME", faultName), get("INSTANCE_ID", "")),
		Namespace:  get("CHAOS_NAMESPACE", "default"),
		Engine:     get("CHAOSENGINE", ""),
		Experiment: get("EXPERIMENT_NAME", faultName),
		Phase:      result.PhaseError, Verdict: result.VerdictError,
		ErrorOutput: &result.ErrorOutput{ErrorCode: code, Reason: reason},
	}
	restCfg, err := kubeClients(lookupEnv)
	var w result.Writer
	switch {
	case err != nil || restCfg == nil:
		w = result.NewStreamWriter(stdout)
	default:
		dyn, err := dynamic.NewForConfig(restCfg)
		if err != nil {
			log.Warnf("cannot record the failure in a ChaosResult: %v", err)
			return
		}
		w = result.NewKubeWriter(dyn, res.Namespace)
	}
	wctx := context.WithoutCancel(ctx)
	if err := writeWithTimeout(wctx, func(c context.Context) error { return w.Start(c, res) }); err != nil {
		log.Warnf("cannot record the failure in a ChaosResult: %v", err)
		return
	}
	if err := writeWithTimeout(wctx, func(c context.Context) error { return w.Finish(c, res) }); err != nil {
		log.Warnf("cannot record the failure in a ChaosResult: %v", err)
	}
}
