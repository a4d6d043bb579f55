// Package result models the run's outcome as a Litmus ChaosResult
// (litmuschaos.io/v1alpha1) and writes it, to the Kubernetes API or to a YAML
// file, keeping the run history that Litmus tooling reads across re-runs.
package result

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Phase is status.experimentStatus.phase.
type Phase string

// Phases of a run, as Litmus names them.
const (
	PhaseRunning                   Phase = "Running"
	PhaseCompleted                 Phase = "Completed"
	PhaseCompletedWithProbeFailure Phase = "Completed_With_Probe_Failure"
	PhaseError                     Phase = "Error"
	PhaseStopped                   Phase = "Stopped"
)

// Verdict is status.experimentStatus.verdict.
type Verdict string

// Verdicts of a run, as Litmus names them. Awaited only while running.
const (
	VerdictAwaited Verdict = "Awaited"
	VerdictPass    Verdict = "Pass"
	VerdictFail    Verdict = "Fail"
	VerdictError   Verdict = "Error"
	VerdictStopped Verdict = "Stopped"
)

// ProbeVerdict is the verdict of one probe, as Litmus names them.
type ProbeVerdict string

// Probe verdicts.
const (
	ProbeAwaited ProbeVerdict = "Awaited"
	ProbePassed  ProbeVerdict = "Passed"
	ProbeFailed  ProbeVerdict = "Failed"
	ProbeNA      ProbeVerdict = "N/A"
)

// ChaosStatus is where one target stands in the run.
type ChaosStatus string

// Target states, as Litmus names them.
const (
	ChaosTargeted ChaosStatus = "targeted"
	ChaosInjected ChaosStatus = "injected"
	ChaosReverted ChaosStatus = "reverted"
)

// ErrorOutput says why a run ended in error (status.experimentStatus.errorOutput).
type ErrorOutput struct {
	ErrorCode string `json:"errorCode,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// ProbeStatus is one entry of status.probeStatuses.
type ProbeStatus struct {
	Name   string          `json:"name,omitempty"`
	Type   string          `json:"type,omitempty"`
	Mode   string          `json:"mode,omitempty"`
	Status ProbeStatusBody `json:"status"`
}

// ProbeStatusBody is a probe's verdict and why.
type ProbeStatusBody struct {
	Verdict     ProbeVerdict `json:"verdict,omitempty"`
	Description string       `json:"description,omitempty"`
}

// Target is one thing the fault acts on (for this fault, an ECS service);
// targets are kept in status.history.targets across runs.
type Target struct {
	Name        string      `json:"name"`
	Kind        string      `json:"kind"`
	ChaosStatus ChaosStatus `json:"chaosStatus"`
}

// ChaosResult is the state of one run. Writers turn it into the Litmus object.
type ChaosResult struct {
	// Name defaults to Name(Engine, Experiment, Instance).
	Name string
	// Namespace defaults to the writer's namespace.
	Namespace string
	Engine    string
	// EngineUID, when known, becomes the chaosUID label and an owner reference
	// to the ChaosEngine.
	EngineUID  string
	Experiment string
	Instance   string

	Phase   Phase
	Verdict Verdict
	// ProbeSuccessPercentage is a string because Litmus's is ("Awaited" while
	// running). Left empty, writers fill it in (see Finish).
	ProbeSuccessPercentage string
	ErrorOutput            *ErrorOutput
	ProbeStatuses          []ProbeStatus
	// Targets are merged by kind and name into status.history.targets.
	Targets []Target
	// Run identifies the run and who ran it, in status.run; RunID also marks the run counted in the history.
	Run Run
	// FaultStatus holds the fault's observations, written to status.faultStatus.
	// Values must survive a JSON round trip (maps, slices, strings, numbers,
	// bools, nil, or types that marshal to them).
	FaultStatus map[string]any
}

// Run is status.run: which run of the fault the result describes and which pod and Job ran it. A retried
// pod of the same Job reads it to tell its predecessor's run from a new one.
type Run struct {
	// ID is the fault's run id, the same as in the chaos revision's marker and image tag.
	ID string `json:"id,omitempty"`
	// JobUID is the uid of the Kubernetes Job whose pod ran it (empty outside a Job).
	JobUID string `json:"jobUID,omitempty"`
	// Pod is the name of that pod.
	Pod string `json:"pod,omitempty"`
}

// Ended reports whether the phase is a final one: the run that wrote it finished and recorded its verdict.
func (p Phase) Ended() bool {
	switch p {
	case PhaseCompleted, PhaseCompletedWithProbeFailure, PhaseError, PhaseStopped:
		return true
	}
	return false
}

// History is status.history: counters and targets kept across runs of the
// same name.
type History struct {
	PassedRuns  int64    `json:"passedRuns"`
	FailedRuns  int64    `json:"failedRuns"`
	StoppedRuns int64    `json:"stoppedRuns"`
	Targets     []Target `json:"targets,omitempty"`
}

// Writer records a run. Start begins a run, Update records progress and
// Finish records the outcome and counts the run in the history. A Writer
// value records one run at a time; Start again for the next run.
type Writer interface {
	// Start creates the result, or resets an existing one for a new run, in
	// phase Running with verdict Awaited, keeping its history.
	Start(ctx context.Context, r *ChaosResult) error
	// Update records an intermediate state; the history counters are untouched.
	Update(ctx context.Context, r *ChaosResult) error
	// Finish records the final phase and verdict and counts the run in the
	// history once, even when called again for the same run.
	Finish(ctx context.Context, r *ChaosResult) error
	// Reader reads back what is stored under a name.
	Reader
}

// Reader reads back the ChaosResult of a name as the writer stored it, so a retried pod can see what its
// predecessor recorded. found is false when there is none (or the writer keeps nothing, like a stream).
type Reader interface {
	Read(ctx context.Context, name string) (stored Stored, found bool, err error)
}

// GVR is the resource every writer and reader of ChaosResults uses.
var GVR = schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosresults"}

// Litmus object identity.
const (
	APIVersion       = "litmuschaos.io/v1alpha1"
	Kind             = "ChaosResult"
	EngineKind       = "ChaosEngine"
	LabelChaosUID    = "chaosUID"
	LabelName        = "name"
	fieldFaultStatus = "faultStatus"
	fieldRun         = "run"
)

// ErrInvalid means the ChaosResult handed to a writer cannot be written; the
// message says why.
var ErrInvalid = errors.New("invalid chaos result")

// Name is the ChaosResult's name as Litmus forms it:
// <engine>-<experiment>[-<instance>], or <experiment> without an engine.
func Name(engine, experiment, instance string) string {
	if engine == "" {
		return experiment
	}
	name := engine + "-" + experiment
	if instance != "" {
		name += "-" + instance
	}
	return name
}

func (r *ChaosResult) name() string {
	if r.Name != "" {
		return r.Name
	}
	return Name(r.Engine, r.Experiment, r.Instance)
}

func (r *ChaosResult) validate() error {
	if r == nil {
		return fmt.Errorf("%w: nil", ErrInvalid)
	}
	if r.name() == "" {
		return fmt.Errorf("%w: no name and no experiment", ErrInvalid)
	}
	return nil
}

// finalPhases and finalVerdicts are what Finish accepts as given.
var (
	finalPhases   = []Phase{PhaseCompleted, PhaseCompletedWithProbeFailure, PhaseError, PhaseStopped}
	finalVerdicts = []Verdict{VerdictPass, VerdictFail, VerdictError, VerdictStopped}
)

// finished returns the outcome Finish writes: a run that ends without a
// final phase or verdict is an error, so no finished result stays Awaited.
func (r *ChaosResult) finished() (Phase, Verdict, *ErrorOutput) {
	phase, verdict, errOut := r.Phase, r.Verdict, r.ErrorOutput
	var problems []string
	if !slices.Contains(finalVerdicts, verdict) {
		problems = append(problems, fmt.Sprintf("verdict %q", verdict))
		verdict = VerdictError
	}
	if !slices.Contains(finalPhases, phase) {
		problems = append(problems, fmt.Sprintf("phase %q", phase))
		phase = PhaseError
	}
	if len(problems) > 0 && errOut == nil {
		errOut = &ErrorOutput{
			ErrorCode: "RESULT_INCOMPLETE",
			Reason:    "the run finished with " + strings.Join(problems, " and "),
		}
	}
	if (verdict == VerdictError || phase == PhaseError) && errOut == nil {
		errOut = &ErrorOutput{ErrorCode: "UNKNOWN", Reason: "the run ended in error without a reason"}
	}
	return phase, verdict, errOut
}

// finalPercentage fills an empty probe success percentage: the share of
// probes that passed, or, without probes, 100 for a passing run and 0 for
// any other (Litmus tooling parses it as a number once the run is over).
func (r *ChaosResult) finalPercentage(verdict Verdict) string {
	if r.ProbeSuccessPercentage != "" {
		return r.ProbeSuccessPercentage
	}
	if len(r.ProbeStatuses) == 0 {
		if verdict == VerdictPass {
			return "100"
		}
		return "0"
	}
	passed := 0
	for _, p := range r.ProbeStatuses {
		if p.Status.Verdict == ProbePassed {
			passed++
		}
	}
	return fmt.Sprint(passed * 100 / len(r.ProbeStatuses))
}
