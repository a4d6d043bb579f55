// Package recorder connects one run of the fault to everything that reports on it: the ChaosResult, the
// Kubernetes events, the resilience probes and the built-in expectations. The fault reaches it through
// ecsimage.Hooks. Intermediate ChaosResult writes happen behind the fault on one goroutine, so a slow apiserver
// never delays an injection or a restore; the final write is synchronous and decides whether the verdict is in.
package recorder

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/engine"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/events"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// WriteTimeout bounds each write of the result and the final flush of events.
const WriteTimeout = 10 * time.Second

// Outputs are where a run's outcome goes: the Kubernetes API in a cluster, else RESULT_FILE or stdout.
type Outputs struct {
	Writer result.Writer
	// Kube is the cluster's dynamic client; nil outside a cluster.
	Kube dynamic.Interface
	pods probe.Pods
}

// InCluster reports whether the result goes to the Kubernetes API, where chaos-runner reads it.
func (o Outputs) InCluster() bool { return o.Kube != nil }

// Open picks the outputs for cfg: the Kubernetes API when restCfg is non-nil, else RESULT_FILE, else stdout.
// Every result of the run, an early failure included, goes through the writer it returns.
func Open(cfg tunables.Config, restCfg *rest.Config, stdout io.Writer) (Outputs, error) {
	if restCfg == nil {
		if cfg.ResultFile != "" {
			return Outputs{Writer: result.NewFileWriter(cfg.ResultFile)}, nil
		}
		return Outputs{Writer: result.NewStreamWriter(stdout)}, nil
	}
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return Outputs{}, fmt.Errorf("kubernetes client: %w", err)
	}
	pods, err := probe.NewPods(restCfg)
	if err != nil {
		return Outputs{}, fmt.Errorf("kubernetes client: %w", err)
	}
	return Outputs{Writer: result.NewKubeWriter(dyn, cfg.ChaosNamespace), Kube: dyn, pods: pods}, nil
}

// Params is what a Recorder records about.
type Params struct {
	Config tunables.Config
	Run    result.Run
	Clock  clock.Clock
	Log    logrus.FieldLogger
	// Alarms reads CloudWatch alarms for EXPECT_ALARMS; nil when none are expected.
	Alarms alarms.API
	// Image is the chaos image reference, for the timeline's configuration.
	Image string
	// Version names the binary in the HTML report (REPORT_FILE).
	Version string
}

// Recorder follows one run. It owns the ChaosResult value; every write sends a copy.
type Recorder struct {
	p      Params
	out    Outputs
	events events.Recorder
	probes *probe.Runner  // nil without probes
	engine *engine.Client // nil without CHAOSENGINE
	behind *writeBehind   // set by Start
	cancel context.CancelCauseFunc
	// timeline draws the run from the hooks, for status.faultStatus.timeline and the HTML report.
	timeline *runTimeline

	mu         sync.Mutex
	res        *result.ChaosResult
	targets    map[string]result.ChaosStatus // service -> chaos status
	alarmWatch *alarms.Watcher               // EXPECT_ALARMS, between ChaosStarted and ChaosEnded
	alarmsSeen *alarms.Observation
	chaosStart time.Time
}

// New builds the recorder of one run: it reads the ChaosEngine (its UID and probes) and PROBES_FILE, and writes
// nothing. An engine set to stop is an error: the run must not start.
func New(ctx context.Context, out Outputs, p Params) (*Recorder, error) {
	cfg := p.Config
	rec := &Recorder{p: p, out: out, targets: map[string]result.ChaosStatus{}, res: newResult(cfg, p.Run),
		timeline: newRunTimeline(cfg, p.Image, p.Run.ID, p.Clock)}
	var defs []probe.Definition
	var deps probe.Deps
	if out.Kube == nil {
		rec.events = events.LogRecorder{Logger: p.Log}
	} else {
		if cfg.ChaosEngine != "" {
			var err error
			if defs, err = rec.readEngine(ctx); err != nil {
				return nil, err
			}
		}
		subject := events.ChaosResult(cfg.ChaosNamespace, rec.res.Name, "")
		if cfg.ChaosEngine != "" {
			subject = events.ChaosEngine(cfg.ChaosNamespace, cfg.ChaosEngine, rec.res.EngineUID)
		}
		rec.events = events.NewKubeRecorder(out.Kube, subject, events.Options{Host: cfg.PodName, Logger: p.Log})
		deps = probe.Deps{Kube: out.Kube, Pods: out.pods, Namespace: cfg.ChaosNamespace}
	}
	if cfg.ProbesFile != "" && len(defs) == 0 {
		data, err := os.ReadFile(cfg.ProbesFile)
		if err != nil {
			return nil, fmt.Errorf("PROBES_FILE: %w", err)
		}
		if defs, err = probe.Parse(data); err != nil {
			return nil, fmt.Errorf("PROBES_FILE %s: %w", cfg.ProbesFile, err)
		}
	}
	if len(defs) > 0 {
		deps.Clock, deps.Logger = p.Clock, p.Log
		rec.probes = probe.NewRunner(defs, deps)
	}
	for _, svc := range cfg.Services {
		rec.targets[svc] = result.ChaosTargeted
	}
	rec.res.Targets = rec.targetList()
	return rec, nil
}

// readEngine reads the ChaosEngine: its UID labels the result and addresses the events, and its probes run.
func (rec *Recorder) readEngine(ctx context.Context) ([]probe.Definition, error) {
	cfg := rec.p.Config
	rec.engine = engine.New(rec.out.Kube, cfg.ChaosNamespace, cfg.ChaosEngine, engine.Options{Logger: rec.p.Log})
	eng, err := rec.engine.Get(ctx, cfg.ExperimentName)
	if err != nil {
		return nil, fmt.Errorf("read ChaosEngine %s/%s: %w", cfg.ChaosNamespace, cfg.ChaosEngine, err)
	}
	if eng.State == engine.StateStop {
		return nil, fmt.Errorf("ChaosEngine %s/%s is set to stop: not starting", cfg.ChaosNamespace, cfg.ChaosEngine)
	}
	rec.res.EngineUID = eng.UID
	if len(eng.Probes) == 0 {
		return nil, nil
	}
	defs, err := probe.Parse(eng.Probes)
	if err != nil {
		return nil, fmt.Errorf("probes of ChaosEngine %s: %w", cfg.ChaosEngine, err)
	}
	return defs, nil
}

func newResult(cfg tunables.Config, run result.Run) *result.ChaosResult {
	return &result.ChaosResult{
		Name:      result.Name(cfg.ChaosEngine, cfg.ExperimentName, cfg.InstanceID),
		Namespace: cfg.ChaosNamespace, Engine: cfg.ChaosEngine, EngineUID: cfg.ChaosUID,
		Experiment: cfg.ExperimentName, Instance: cfg.InstanceID, Run: run,
		Phase: result.PhaseRunning, Verdict: result.VerdictAwaited,
	}
}

// Name is the ChaosResult's name.
func (rec *Recorder) Name() string { return rec.res.Name }

// Previous reads the ChaosResult as an earlier run left it, before Start resets it for this one.
func (rec *Recorder) Previous(ctx context.Context) (result.Stored, bool, error) {
	return rec.out.Writer.Read(ctx, rec.res.Name)
}

// Start records the run as Running/Awaited and starts writing intermediate states behind the fault.
func (rec *Recorder) Start(ctx context.Context) error {
	err := writeWithTimeout(ctx, func(c context.Context) error { return rec.out.Writer.Start(c, rec.copyResult()) })
	if err != nil {
		return fmt.Errorf("create the ChaosResult %s: %w", rec.res.Name, err)
	}
	rec.behind = startWriteBehind(context.WithoutCancel(ctx), rec.out.Writer, rec.copyResult, rec.p.Log)
	return nil
}

// WatchForStops cancels the run when the ChaosEngine is set to stop or a stopOnFailure probe fails.
func (rec *Recorder) WatchForStops(ctx context.Context, cancel context.CancelCauseFunc) {
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

// probeStop is the cause of a run stopped by a failing stopOnFailure probe: a failed hypothesis, not an abort.
var probeStop = &ecsimage.StopCause{Reason: "a stopOnFailure probe failed", HypothesisFailed: true}

func (rec *Recorder) setTarget(service string, status result.ChaosStatus) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.targets[service] = status
	rec.res.Targets = rec.targetList()
}

// targetList is the targets in the order of SERVICE_NAME; rec.mu must be held (or rec not yet shared).
func (rec *Recorder) targetList() []result.Target {
	var out []result.Target
	for _, svc := range rec.p.Config.Services {
		out = append(out, result.Target{Name: svc, Kind: "ecs-service", ChaosStatus: rec.targets[svc]})
	}
	return out
}

func (rec *Recorder) copyResult() *result.ChaosResult {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	c := *rec.res
	c.Targets = append([]result.Target(nil), rec.res.Targets...)
	c.ProbeStatuses = append([]result.ProbeStatus(nil), rec.res.ProbeStatuses...)
	return &c
}

func writeWithTimeout(ctx context.Context, write func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, WriteTimeout)
	defer cancel()
	return write(c)
}

// RecordFailure writes an Error result for a run that ended before its recorder existed (bad input, a ChaosEngine
// that cannot be read), through the same writer as every other result, so a failed run never stays Awaited or
// invisible. The exit code and the log carry the error too.
func RecordFailure(ctx context.Context, out Outputs, cfg tunables.Config, run result.Run, code, reason string) error {
	res := newResult(cfg, run)
	if res.Experiment == "" {
		res.Experiment = tunables.DefaultExperimentName
		res.Name = result.Name(cfg.ChaosEngine, res.Experiment, cfg.InstanceID)
	}
	if res.Namespace == "" {
		res.Namespace = tunables.DefaultChaosNamespace
	}
	res.Phase, res.Verdict = result.PhaseError, result.VerdictError
	res.ErrorOutput = &result.ErrorOutput{ErrorCode: code, Reason: reason}
	wctx := context.WithoutCancel(ctx)
	if err := writeWithTimeout(wctx, func(c context.Context) error { return out.Writer.Start(c, res) }); err != nil {
		return err
	}
	return writeWithTimeout(wctx, func(c context.Context) error { return out.Writer.Finish(c, res) })
}
