package ecsimage

import (
	"errors"
	"fmt"
	"time"
)

// ServiceState is how far the fault got with one service.
type ServiceState string

const (
	// StateRefused: preflight refused the service; nothing was changed.
	StateRefused ServiceState = "refused"
	// StateReady: preflight passed; nothing was changed (yet).
	StateReady ServiceState = "ready"
	// StateInjected: the service points (or may point) at a chaos revision.
	StateInjected ServiceState = "injected"
	// StateRestored: the service no longer points at a chaos revision of this run.
	StateRestored ServiceState = "restored"
	// StateRestoreFailed: the fault could not put the service back; ManualSteps say how.
	StateRestoreFailed ServiceState = "restore-failed"
)

// RestoreAction says what the restore found and did, following the README's three cases (What it does, step 4).
type RestoreAction string

const (
	// RestoreNotNeeded: the service never left its original revision.
	RestoreNotNeeded RestoreAction = "not-needed"
	// RestoreReverted: the service was still on the chaos revision and the fault pointed it back.
	RestoreReverted RestoreAction = "reverted"
	// RestoreRolledBackByECS: ECS (circuit breaker or alarms) had already rolled the service back.
	RestoreRolledBackByECS RestoreAction = "rolled-back-by-ecs"
	// RestoreLeftToThirdParty: someone deployed another revision meanwhile; it was left alone.
	RestoreLeftToThirdParty RestoreAction = "left-to-third-party"
	// RestoreRevertedBySomeoneElse: someone other than ECS pointed the service back at its original revision.
	RestoreRevertedBySomeoneElse RestoreAction = "reverted-by-someone-else"
)

// ServiceReport is everything the run knows about one service. Its JSON form goes into the ChaosResult.
type ServiceReport struct {
	Service                string       `json:"service"`
	Cluster                string       `json:"cluster"`
	ServiceARN             string       `json:"serviceArn,omitempty"`
	OriginalTaskDefinition string       `json:"originalTaskDefinition,omitempty"`
	ChaosTaskDefinitions   []string     `json:"chaosTaskDefinitions,omitempty"`
	DeploymentStrategy     string       `json:"deploymentStrategy,omitempty"`
	State                  ServiceState `json:"state"`
	// Changed is true once a mutating call may have taken effect on this service or its family.
	Changed bool `json:"changed"`
	Cycles  int  `json:"cycles"`
	// Effective is true when the effect is confirmed (a chaos task failed to pull) or stalled.
	Effective bool `json:"effective"`
	// Effect is EffectConfirmed, EffectStalled or EffectNotEffective once the hold is over.
	Effect             string        `json:"effect,omitempty"`
	NotEffectiveReason string        `json:"notEffectiveReason,omitempty"`
	Warnings           []string      `json:"warnings,omitempty"`
	Observations       Observations  `json:"observations"`
	Restore            RestoreReport `json:"restore"`
	Error              string        `json:"error,omitempty"`
	err                error
}

// Err returns the error that ended this service's run, if any.
func (s ServiceReport) Err() error { return s.err }

func (s *ServiceReport) fail(err error) {
	if err == nil {
		return
	}
	if s.err == nil {
		s.err = err
	} else {
		s.err = errors.Join(s.err, err)
	}
	s.Error = s.err.Error()
}

func (s *ServiceReport) warn(format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	for _, w := range s.Warnings {
		if w == msg {
			return msg
		}
	}
	s.Warnings = append(s.Warnings, msg)
	return msg
}

// Observations are what the fault saw while the service was under chaos.
type Observations struct {
	// ChaosTasksAllowed is how many chaos tasks ECS may start at once under the chaos deployment configuration.
	ChaosTasksAllowed   int             `json:"chaosTasksAllowed"`
	FirstFailureAt      *time.Time      `json:"firstFailureAt,omitempty"`
	FirstFailureSeconds float64         `json:"firstFailureAfterSeconds,omitempty"`
	FirstFailureReason  string          `json:"firstFailureReason,omitempty"`
	FailedTasks         int             `json:"failedTasks"`
	StoppedReasons      []string        `json:"stoppedReasons,omitempty"`
	RolloutStates       []RolloutChange `json:"rolloutStates,omitempty"`
	// RolledBackByECS is set only on ECS's own evidence (RollbackEvidence says which).
	RolledBackByECS  bool       `json:"rolledBackByECS"`
	RollbackAt       *time.Time `json:"rollbackAt,omitempty"`
	RollbackSeconds  float64    `json:"rollbackAfterSeconds,omitempty"`
	RollbackEvidence string     `json:"rollbackEvidence,omitempty"`
	// RevertedBySomeoneElse: the service went back to its original revision without ECS saying it rolled back.
	RevertedBySomeoneElse bool       `json:"revertedBySomeoneElse,omitempty"`
	RevertedAt            *time.Time `json:"revertedAt,omitempty"`
	RevertedSeconds       float64    `json:"revertedAfterSeconds,omitempty"`
	// CircuitBreaker and Alarms are the chaos service deployment's failure detection, when it could be read.
	CircuitBreaker *MonitorStatus `json:"circuitBreaker,omitempty"`
	Alarms         *MonitorStatus `json:"alarms,omitempty"`
	ServiceEvents  []string       `json:"serviceEvents,omitempty"`
	// OriginalRunningAtStart and OriginalRunningLowest count RUNNING tasks of the original revision.
	OriginalRunningAtStart int `json:"originalRunningAtStart"`
	OriginalRunningLowest  int `json:"originalRunningLowest"`
	ChaosRunningMax        int `json:"chaosRunningMax"`
	ChaosPendingMax        int `json:"chaosPendingMax"`
	// DigestsBefore maps container name to the image digests its original tasks ran before the fault.
	DigestsBefore  map[string][]string `json:"digestsBefore,omitempty"`
	DigestsAfter   map[string][]string `json:"digestsAfter,omitempty"`
	ChangedDigests []DigestChange      `json:"changedDigests,omitempty"`
	// ThirdPartyTaskDefinition is the revision someone else deployed during the hold, if any.
	ThirdPartyTaskDefinition string `json:"thirdPartyTaskDefinition,omitempty"`
	// LastPoll, DesiredCount and Deployments are what the latest poll saw (during the hold and the restore
	// wait), for Hooks.Progress: a caller draws its timeline from them without calls of its own. They stay out
	// of the JSON form, which keeps the run's summary.
	LastPoll     time.Time          `json:"-"`
	DesiredCount int                `json:"-"`
	Deployments  []DeploymentCounts `json:"-"`
	injectedAt   time.Time
}

// DeploymentCounts is one deployment of the service as a poll saw it.
type DeploymentCounts struct {
	TaskDefinition string
	// Role is "original", "chaos" (a chaos revision of this run) or "other" (someone else's revision).
	Role         string
	Status       string
	RolloutState string
	Desired      int
	Running      int
	Pending      int
	Failed       int
}

// MonitorStatus is a service deployment's circuit breaker or alarms (TRIGGERED, MONITORING...).
type MonitorStatus struct {
	Status       string   `json:"status"`
	FailureCount int      `json:"failureCount,omitempty"`
	Threshold    int      `json:"threshold,omitempty"`
	Triggered    []string `json:"triggered,omitempty"`
}

// RolloutChange is one rolloutState transition seen on a deployment.
type RolloutChange struct {
	At         time.Time `json:"at"`
	Deployment string    `json:"deployment"`
	Revision   string    `json:"revision"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
}

// DigestChange reports a container whose original tasks run another image digest after the restore than before:
// the original image's tag was re-resolved (a mutable tag moved).
type DigestChange struct {
	Container string   `json:"container"`
	Before    []string `json:"before"`
	After     []string `json:"after"`
}

// RestoreReport says how a service was put back.
type RestoreReport struct {
	Action RestoreAction `json:"action,omitempty"`
	// Method is RestoreMethodStopDeployment or RestoreMethodUpdateService when the fault pointed the service back.
	Method                          string `json:"method,omitempty"`
	DeploymentConfigurationRestored bool   `json:"deploymentConfigurationRestored"`
	// Completed is true when the restore deployment reached COMPLETED with no chaos task left.
	Completed   bool    `json:"completed"`
	WaitSeconds float64 `json:"waitSeconds,omitempty"`
	// InProgress says what a blue/green, linear or canary restore deployment still goes through (bake time,
	// lifecycle hooks) once the service counts as restored; the fault does not wait for it.
	InProgress       string   `json:"inProgress,omitempty"`
	Deregistered     []string `json:"deregistered,omitempty"`
	ManualSteps      []string `json:"manualSteps,omitempty"`
	DeregisterFailed []string `json:"deregisterFailed,omitempty"`
	// At is when the compare-and-set restore acted on the service; CompletedAt when its restore deployment
	// completed.
	At          *time.Time `json:"at,omitempty"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
}

// Report is the outcome of one run.
type Report struct {
	RunID     string          `json:"runId"`
	StartedAt time.Time       `json:"startedAt"`
	EndedAt   time.Time       `json:"endedAt"`
	Services  []ServiceReport `json:"services"`
	// Stop is set when the run was stopped before it ran its course.
	Stop *StopCause `json:"stop,omitempty"`
	// Err is an error that concerns the whole run (invalid options), not one service.
	Err error `json:"-"`
}

// StopCause is the cause the caller gives when it cancels the run's context (context.WithCancelCause).
type StopCause struct {
	Reason string `json:"reason"`
	// HypothesisFailed marks a stop asked for by a failing stopOnFailure probe: a failed hypothesis, not an abort.
	HypothesisFailed bool `json:"hypothesisFailed"`
}

func (c *StopCause) Error() string { return "run stopped: " + c.Reason }

// Outcome is the run's result class; its numeric value is the process exit code of the README's table (Exit codes and the ChaosResult).
type Outcome int

const (
	OutcomePass          Outcome = 0
	OutcomeFail          Outcome = 1
	OutcomeRefused       Outcome = 2
	OutcomeError         Outcome = 3
	OutcomeRestoreFailed Outcome = 4
	OutcomeStopped       Outcome = 5
)

func (o Outcome) String() string {
	switch o {
	case OutcomePass:
		return "pass"
	case OutcomeFail:
		return "fail"
	case OutcomeRefused:
		return "refused"
	case OutcomeError:
		return "error"
	case OutcomeRestoreFailed:
		return "restore-failed"
	case OutcomeStopped:
		return "stopped"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// severity orders outcomes for "the worst wins": 4, 3, 5, 1, 0 (2 only when nothing changed anywhere).
func (o Outcome) severity() int {
	switch o {
	case OutcomeRestoreFailed:
		return 5
	case OutcomeError:
		return 4
	case OutcomeStopped:
		return 3
	case OutcomeFail:
		return 2
	case OutcomeRefused:
		return 1
	}
	return 0
}

// Worse returns the worse of two outcomes.
func Worse(a, b Outcome) Outcome {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// Outcome classifies the run before probes are considered: a refusal only when nothing changed anywhere.
func (r *Report) Outcome() Outcome {
	if r.Err != nil {
		return OutcomeRefused
	}
	changed := false
	for _, s := range r.Services {
		changed = changed || s.Changed
	}
	if !changed {
		// A stop wins over the refusal it may have caused (a signal during preflight cancels its reads).
		if r.Stop != nil && !r.Stop.HypothesisFailed {
			return OutcomeStopped
		}
		if r.Stop != nil {
			return OutcomeFail
		}
		for _, s := range r.Services {
			if s.State == StateRefused || s.err != nil {
				return OutcomeRefused
			}
		}
		return OutcomeError // nothing was injected and nothing refused: the fault did not happen
	}
	worst := OutcomePass
	for _, s := range r.Services {
		worst = Worse(worst, s.outcome(r.Stop))
	}
	return worst
}

func (s ServiceReport) outcome(stop *StopCause) Outcome {
	switch {
	case s.State == StateRestoreFailed:
		return OutcomeRestoreFailed
	case s.err != nil:
		return OutcomeError
	case stop != nil && !stop.HypothesisFailed:
		return OutcomeStopped
	case stop != nil:
		return OutcomeFail
	case !s.Changed:
		return OutcomePass // refused elsewhere only; this one was left untouched on purpose
	case !s.Effective:
		return OutcomeError
	case !s.Restore.Completed:
		return OutcomeError
	case len(s.Restore.DeregisterFailed) > 0:
		return OutcomeError // an ACTIVE chaos revision is the family's newest, and every later preflight refuses
	}
	return OutcomePass
}

// RecoverOutcome classifies a Recover report: a service that could not be put back wins, then any other error.
func (r *Report) RecoverOutcome() Outcome {
	if r.Err != nil {
		return OutcomeError
	}
	worst := OutcomePass
	for _, s := range r.Services {
		switch {
		case s.State == StateRestoreFailed:
			worst = Worse(worst, OutcomeRestoreFailed)
		case s.err != nil, len(s.Restore.DeregisterFailed) > 0:
			worst = Worse(worst, OutcomeError)
		}
	}
	return worst
}
