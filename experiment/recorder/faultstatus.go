package recorder

import (
	"encoding/json"
	"fmt"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
)

// servicesBudget bounds the JSON form of status.faultStatus without its timeline. The apiserver keeps a
// ChaosResult in etcd, which refuses a request over 1.5 MiB by default (etcd's --max-request-bytes); the timeline
// takes at most timeline.MaxBytes (256 KiB) and the history, probes and metadata the rest. A verdict that does not
// fit is a verdict nobody can read, so a run over hundreds of services or cycles reports less detail instead.
const servicesBudget = 1 << 20

// keptListItems is how many items of a per-cycle list (chaos revisions, deregistrations, rollout changes) stay at
// each end when the service reports are shortened.
const keptListItems = 2

// faultStatus is status.faultStatus: the fault's report with the outcome, shortened until it fits servicesBudget.
// Shortening works on copies; the report itself is left as the run produced it.
func faultStatus(report *ecsimage.Report, o ecsimage.Outcome) map[string]any {
	shortened := *report
	shortened.Services = append([]ecsimage.ServiceReport(nil), report.Services...)
	var compacted string
	for level := 0; ; level++ {
		data, err := json.Marshal(&shortened)
		if err != nil {
			return map[string]any{"error": err.Error(), "outcome": o.String(), "exitCode": int64(o)}
		}
		says, compact := compaction(level)
		if len(data) <= servicesBudget || compact == nil {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				return map[string]any{"error": err.Error(), "outcome": o.String(), "exitCode": int64(o)}
			}
			m["outcome"] = o.String()
			m["exitCode"] = int64(o)
			if compacted != "" {
				m["compacted"] = compacted
			}
			return m
		}
		for i := range shortened.Services {
			compact(&shortened.Services[i])
		}
		compacted = fmt.Sprintf("the service reports of %d services did not fit the ChaosResult (%d KiB allowed): %s; the fault's log holds every detail",
			len(shortened.Services), servicesBudget>>10, says)
	}
}

// compaction is the shortening of a level, applied on top of the lower levels' until the report fits; nil past
// the last one.
func compaction(level int) (says string, apply func(*ecsimage.ServiceReport)) {
	switch level {
	case 0:
		return "per-cycle lists keep their first and last entries", shortenLists
	case 1:
		return "observations keep counts and the first failure only", dropObservationTexts
	case 2:
		return "each service keeps its state, effect, error and restore outcome only", keepEssentials
	}
	return "", nil
}

// shortenLists keeps the ends of the lists that grow with every cycle.
func shortenLists(s *ecsimage.ServiceReport) {
	s.ChaosTaskDefinitions = ends(s.ChaosTaskDefinitions)
	s.Restore.Deregistered = ends(s.Restore.Deregistered)
	s.Observations.RolloutStates = ends(s.Observations.RolloutStates)
}

func ends[T any](list []T) []T {
	if len(list) <= 2*keptListItems {
		return list
	}
	out := append([]T(nil), list[:keptListItems]...)
	return append(out, list[len(list)-keptListItems:]...)
}

// dropObservationTexts drops the observations' free text; the counts, the first failure and the rollback stay.
func dropObservationTexts(s *ecsimage.ServiceReport) {
	o := &s.Observations
	o.StoppedReasons, o.ServiceEvents, o.RolloutStates = nil, nil, nil
	o.DigestsBefore, o.DigestsAfter = nil, nil
	if len(s.Warnings) > 1 {
		s.Warnings = s.Warnings[:1]
	}
}

// keepEssentials keeps what a reader needs to know the service is safe and whether the fault worked.
func keepEssentials(s *ecsimage.ServiceReport) {
	*s = ecsimage.ServiceReport{
		Service: s.Service, Cluster: s.Cluster, OriginalTaskDefinition: s.OriginalTaskDefinition, State: s.State,
		Changed: s.Changed, Cycles: s.Cycles, Effective: s.Effective, Effect: s.Effect, NotEffectiveReason: s.NotEffectiveReason,
		Error: s.Error,
		Restore: ecsimage.RestoreReport{Action: s.Restore.Action, Method: s.Restore.Method, Completed: s.Restore.Completed,
			DeploymentConfigurationRestored: s.Restore.DeploymentConfigurationRestored, ManualSteps: s.Restore.ManualSteps,
			DeregisterFailed: s.Restore.DeregisterFailed},
		Observations: ecsimage.Observations{FailedTasks: s.Observations.FailedTasks, RolledBackByECS: s.Observations.RolledBackByECS,
			FirstFailureReason: s.Observations.FirstFailureReason},
	}
}
