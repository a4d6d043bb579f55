// Package report renders a ChaosResult of this fault into one self-contained HTML file: the verdict, each
// service's effect and restore, the task counts of every service over time with the fault's and ECS's moments
// marked on one shared axis, the probes' verdicts on the same axis, and the run's configuration.
//
// The file needs nothing else: no script, no font, no stylesheet or image from elsewhere (its Content Security
// Policy forbids them), the charts are inline SVG, and it prints. It reads the ChaosResult's status.faultStatus
// (the fault's report and, when the run recorded one, its timeline from pkg/timeline); a result without a
// timeline still renders, without the chart.
package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/timeline"
)

// faultStatus is the part of status.faultStatus the report reads (chaoslib/ecsimage.Report's JSON form).
type faultStatus struct {
	RunID     string        `json:"runId"`
	StartedAt time.Time     `json:"startedAt"`
	EndedAt   time.Time     `json:"endedAt"`
	Outcome   string        `json:"outcome"`
	ExitCode  *int          `json:"exitCode"`
	Stop      *stopCause    `json:"stop"`
	Services  []serviceInfo `json:"services"`
	// Compacted says what was left out of the service reports to fit the ChaosResult (experiment/recorder).
	Compacted string `json:"compacted"`
}

type stopCause struct {
	Reason           string `json:"reason"`
	HypothesisFailed bool   `json:"hypothesisFailed"`
}

type serviceInfo struct {
	Service                string   `json:"service"`
	Cluster                string   `json:"cluster"`
	OriginalTaskDefinition string   `json:"originalTaskDefinition"`
	ChaosTaskDefinitions   []string `json:"chaosTaskDefinitions"`
	DeploymentStrategy     string   `json:"deploymentStrategy"`
	State                  string   `json:"state"`
	Changed                bool     `json:"changed"`
	Cycles                 int      `json:"cycles"`
	Effective              bool     `json:"effective"`
	Effect                 string   `json:"effect"`
	NotEffectiveReason     string   `json:"notEffectiveReason"`
	Warnings               []string `json:"warnings"`
	Error                  string   `json:"error"`
	Observations           struct {
		ChaosTasksAllowed      int      `json:"chaosTasksAllowed"`
		FirstFailureSeconds    float64  `json:"firstFailureAfterSeconds"`
		FirstFailureReason     string   `json:"firstFailureReason"`
		FailedTasks            int      `json:"failedTasks"`
		StoppedReasons         []string `json:"stoppedReasons"`
		RolledBackByECS        bool     `json:"rolledBackByECS"`
		RollbackSeconds        float64  `json:"rollbackAfterSeconds"`
		ServiceEvents          []string `json:"serviceEvents"`
		OriginalRunningAtStart int      `json:"originalRunningAtStart"`
		OriginalRunningLowest  int      `json:"originalRunningLowest"`
		ChaosRunningMax        int      `json:"chaosRunningMax"`
		ChaosPendingMax        int      `json:"chaosPendingMax"`
		ThirdParty             string   `json:"thirdPartyTaskDefinition"`
	} `json:"observations"`
	Restore struct {
		Action           string   `json:"action"`
		Completed        bool     `json:"completed"`
		WaitSeconds      float64  `json:"waitSeconds"`
		Deregistered     []string `json:"deregistered"`
		DeregisterFailed []string `json:"deregisterFailed"`
		ManualSteps      []string `json:"manualSteps"`
	} `json:"restore"`
}

// effect is the spec's three-way answer to "did the fault take effect?" (README, What it does: hold and observe).
func (s serviceInfo) effect() string {
	switch {
	case s.Effect != "":
		return s.Effect
	case !s.Changed:
		return "not injected"
	case s.Effective:
		return "confirmed"
	case s.Observations.ChaosRunningMax == 0 && s.Observations.ChaosPendingMax > 0:
		return "stalled"
	}
	return "not effective"
}

// verdict is the service's share of the run's verdict, before probes: what the fault itself says of it.
func (s serviceInfo) verdict(stop *stopCause) string {
	switch {
	case s.State == "restore-failed":
		return "Error"
	case s.State == "refused":
		return "Refused"
	case s.Error != "":
		return "Error"
	case stop != nil && !stop.HypothesisFailed:
		return "Stopped"
	case stop != nil:
		return "Fail"
	case !s.Changed:
		return "Untouched"
	case !s.Effective, !s.Restore.Completed, len(s.Restore.DeregisterFailed) > 0:
		return "Error"
	}
	return "Pass"
}

func (s serviceInfo) restoreOutcome() string {
	r := s.Restore
	switch {
	case s.State == "restore-failed":
		return "FAILED: manual steps below"
	case r.Action == "":
		return "nothing to restore"
	case r.Completed:
		return fmt.Sprintf("%s, completed after %.0fs", r.Action, r.WaitSeconds)
	case r.Action == "not-needed":
		return string(r.Action)
	}
	return r.Action + ", restore deployment not completed"
}

// decode reads what the report needs from the ChaosResult.
func decode(r *result.ChaosResult) (faultStatus, *timeline.Timeline, error) {
	var fs faultStatus
	if r.FaultStatus == nil {
		return fs, nil, nil
	}
	data, err := json.Marshal(r.FaultStatus)
	if err != nil {
		return fs, nil, fmt.Errorf("faultStatus: %w", err)
	}
	if err := json.Unmarshal(data, &fs); err != nil {
		return fs, nil, fmt.Errorf("faultStatus: %w", err)
	}
	tl, found, err := timeline.Decode(r.FaultStatus["timeline"])
	if err != nil {
		return fs, nil, fmt.Errorf("faultStatus.timeline: %w", err)
	}
	if !found {
		return fs, nil, nil
	}
	return fs, &tl, nil
}

// duration prints a time offset the way people read it on an axis: 45s, 2m30s, 1h05m.
func duration(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(100 * time.Millisecond)
	switch {
	case d < 10*time.Second && d != d.Truncate(time.Second):
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		m, s := int(d.Minutes()), int(d.Seconds())%60
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	return fmt.Sprintf("%dh%02dm", h, m)
}

func verdictClass(v string) string {
	switch strings.ToLower(v) {
	case "pass", "passed":
		return "pass"
	case "fail", "failed":
		return "fail"
	case "stopped":
		return "stopped"
	case "error", "refused":
		return "error"
	}
	return "neutral"
}
