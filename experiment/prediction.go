package main

import (
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// printPrediction is the rehearsal's prediction of a real run, read from the fault's report on the copy, then what
// the copy assumed. Durations are the simulator's, which runs the launch type's real timing: what a real run takes.
func printPrediction(log logrus.FieldLogger, shapes []ecssim.Shape, report *ecsimage.Report, code int) {
	log.Infof("prediction: a real run now would end %s (exit %d) if the real services behave as their copies did", ecsimage.Outcome(code), code)
	if report == nil {
		log.Info("prediction: none: the fault did not run against the copy (see the errors above)")
	} else {
		breakers := map[string]bool{}
		for _, sh := range shapes {
			dc := sh.Service.DeploymentConfiguration
			breakers[sh.Service.Service] = dc != nil && dc.DeploymentCircuitBreaker != nil && dc.DeploymentCircuitBreaker.Enable
		}
		for _, s := range report.Services {
			for _, line := range predictionLines(s, breakers[s.Service]) {
				log.Infof("prediction: service %s: %s", s.Service, line)
			}
		}
	}
	if len(shapes) > 1 && shapes[0].Timing != shapes[len(shapes)-1].Timing {
		log.Infof("prediction: assumes: the services differ in launch type; the simulator ran all of them on %s's timing", shapes[0].Service.LaunchType)
	}
	log.Info("prediction: assumes: the simulated account allows every call the fault makes; a real run with the spec's policy alone restores with UpdateService (see Permissions in the README)")
	for _, sh := range shapes {
		for _, note := range sh.Notes {
			log.Infof("prediction: service %s assumes: %s", sh.Name, note)
		}
	}
}

// predictionLines are what the fault saw of one service's copy, one fact a line; breaker says whether the copy has
// the deployment circuit breaker on.
func predictionLines(s ecsimage.ServiceReport, breaker bool) []string {
	if !s.Changed {
		return []string{fmt.Sprintf("not injected (%s): %s", s.State, orNone(s.Error))}
	}
	o := s.Observations
	lines := []string{fmt.Sprintf("ECS may start %d chaos task(s) at once", o.ChaosTasksAllowed)}
	if o.FirstFailureAt != nil {
		lines = append(lines, fmt.Sprintf("first failure after %.0f s (%s); %d chaos task(s) failed in all", o.FirstFailureSeconds, o.FirstFailureReason, o.FailedTasks))
	} else {
		lines = append(lines, "no chaos task failed during the hold")
	}
	lines = append(lines, rollbackLine(o, breaker),
		fmt.Sprintf("lowest count of original tasks RUNNING: %d of %d", o.OriginalRunningLowest, o.OriginalRunningAtStart),
		"effect: "+effectLine(s))
	return append(lines, restoreLine(s.Restore))
}

// rollbackLine says whether and when ECS rolled the chaos deployment back, with what its circuit breaker counted.
func rollbackLine(o ecsimage.Observations, breakerOn bool) string {
	breaker := "circuit breaker on, not seen to trip"
	if !breakerOn {
		breaker = "no deployment circuit breaker"
	}
	if b := o.CircuitBreaker; b != nil && breakerOn {
		breaker = fmt.Sprintf("circuit breaker %s, %d of %d failures", b.Status, b.FailureCount, b.Threshold)
	}
	if o.RolledBackByECS {
		return fmt.Sprintf("rolled back by ECS after %.0f s (%s; %s)", o.RollbackSeconds, orNone(o.RollbackEvidence), breaker)
	}
	return "not rolled back by ECS (" + breaker + ")"
}

func effectLine(s ecsimage.ServiceReport) string {
	switch {
	case s.Effect == ecsimage.EffectConfirmed:
		return "confirmed (a chaos task failed to pull its image)"
	case s.Effect == ecsimage.EffectStalled:
		return "stalled (chaos tasks were launched and none ran, none failed before the hold ended)"
	case s.NotEffectiveReason != "":
		return orNone(s.Effect) + ": " + s.NotEffectiveReason
	}
	return orNone(s.Effect)
}

func restoreLine(r ecsimage.RestoreReport) string {
	line := fmt.Sprintf("restore %s", orNone(string(r.Action)))
	if r.Method != "" {
		line += " by " + r.Method
	}
	if r.Completed {
		line += fmt.Sprintf(", completed after %.0f s", r.WaitSeconds)
	} else {
		line += ", not completed"
	}
	if r.InProgress != "" {
		line += "; still in progress: " + r.InProgress
	}
	if len(r.ManualSteps) > 0 {
		line += fmt.Sprintf("; %d manual step(s): %s", len(r.ManualSteps), strings.Join(r.ManualSteps, " && "))
	}
	return line
}
