package recorder

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/report"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

// Final is what Finish recorded.
type Final struct {
	// Outcome is the run's outcome with the probes and expectations judged; a final write that failed makes a
	// Pass or Fail an Error, since a result nobody can read is not a pass.
	Outcome ecsimage.Outcome
	// Recorded is true when the verdict is in the ChaosResult.
	Recorded bool
	Result   *result.ChaosResult
}

// Finish runs the post-chaos probes, judges the expectations, writes the final result and flushes the events.
// Its writes run on their own context: a stop must be recorded, not lost.
func (rec *Recorder) Finish(ctx context.Context, report *ecsimage.Report) Final {
	wctx := context.WithoutCancel(ctx)
	outcome := report.Outcome()
	var verdicts []probe.Result
	if rec.probes != nil && outcome != ecsimage.OutcomeRefused {
		pctx := wctx
		if report.Stop != nil && !report.Stop.HypothesisFailed {
			// Aborted: what is left of the pod's grace period goes to the result, not to end-of-test probes that
			// could retry past the kubelet's SIGKILL and leave the result Awaited.
			var cancel context.CancelFunc
			pctx, cancel = context.WithTimeout(wctx, rec.p.StopBudget)
			defer cancel()
		}
		rec.probes.PostChaos(pctx)
		verdicts = rec.probes.Results()
	}
	verdicts = append(verdicts, judgeExpectations(rec.p.Config, report)...)
	if len(rec.p.Config.ExpectAlarms) > 0 {
		verdicts = append(verdicts, rec.judgeAlarms(wctx))
	}
	failedProbe := false
	for _, v := range verdicts {
		failedProbe = failedProbe || v.Verdict != probe.Passed
	}
	if failedProbe && outcome == ecsimage.OutcomePass {
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
	res.FaultStatus[timelineField] = rec.timeline.finish(report, verdicts, rec.alarmsSeen)
	for _, s := range report.Services {
		if s.State == ecsimage.StateRestored && s.Changed {
			rec.targets[s.Service] = result.ChaosReverted
		}
	}
	res.Targets = rec.targetList()
	rec.mu.Unlock()
	return rec.write(wctx, outcome, report.RunID)
}

// FinishRecovery records the end of a retried pod that found its predecessor interrupted: it restored what the
// predecessor left (report, from ecsimage.Recover) and injected nothing. The verdict is Error, with why.
func (rec *Recorder) FinishRecovery(ctx context.Context, report *ecsimage.Report, why string) Final {
	wctx := context.WithoutCancel(ctx)
	outcome := report.RecoverOutcome()
	code := "CHAOS_INJECT_ERROR"
	if outcome == ecsimage.OutcomeRestoreFailed {
		code = "CHAOS_REVERT_ERROR"
	} else {
		// Nothing of this pod's own ran: whatever the restore did, the run that was asked for did not happen.
		outcome = ecsimage.OutcomeError
	}
	reason := why
	if detail := firstError(report); detail != "see the fault status" {
		reason += "; " + detail
	}
	rec.mu.Lock()
	res := rec.res
	res.Phase, res.Verdict = result.PhaseError, result.VerdictError
	if outcome == ecsimage.OutcomeError {
		res.Phase = result.PhaseCompleted
	}
	res.ErrorOutput = &result.ErrorOutput{ErrorCode: code, Reason: reason}
	res.FaultStatus = faultStatus(report, outcome)
	for _, s := range report.Services {
		if s.Changed && s.State == ecsimage.StateRestored {
			rec.targets[s.Service] = result.ChaosReverted
		}
	}
	res.Targets = rec.targetList()
	rec.mu.Unlock()
	return rec.write(wctx, outcome, report.RunID)
}

// write stops the write-behind, writes the final result, sends the summary event and flushes the events.
func (rec *Recorder) write(ctx context.Context, outcome ecsimage.Outcome, runID string) Final {
	if rec.behind != nil {
		rec.behind.close()
	}
	final := rec.copyResult()
	werr := writeWithTimeout(ctx, func(c context.Context) error { return rec.out.Writer.Finish(c, final) })
	if path := rec.p.Config.ReportFile; path != "" {
		if err := report.WriteFile(path, final, report.Options{Generator: rec.p.Version}); err != nil {
			rec.p.Log.Warnf("the HTML report was not written (the result was): %v", err)
		} else {
			rec.p.Log.Infof("report: %s", path)
		}
	}
	reason := fmt.Sprintf("run %s ended %s/%s", runID, final.Phase, final.Verdict)
	if outcome == ecsimage.OutcomePass {
		rec.events.Normal(ctx, "Summary", reason)
	} else {
		rec.events.Warning(ctx, "Summary", reason+errorSuffix(final))
	}
	if err := writeWithTimeout(ctx, rec.events.Flush); err != nil {
		rec.p.Log.Warnf("flushing events failed: %v", err)
	}
	if werr != nil {
		rec.p.Log.Errorf("writing the final ChaosResult failed: %v", werr)
		if outcome == ecsimage.OutcomePass || outcome == ecsimage.OutcomeFail {
			outcome = ecsimage.Worse(outcome, ecsimage.OutcomeError)
		}
	}
	return Final{Outcome: outcome, Recorded: werr == nil, Result: final}
}

func (rec *Recorder) judgeAlarms(ctx context.Context) probe.Result {
	rec.stopAlarmWatch(ctx)
	rec.mu.Lock()
	seen, start := rec.alarmsSeen, rec.chaosStart
	rec.mu.Unlock()
	passed, desc := false, "the fault never started its hold, so no alarm was watched"
	if seen != nil {
		passed, desc = alarms.Judge(rec.p.Config.ExpectAlarms, *seen, start)
	}
	return probe.Judged("expect-alarms", "builtinExpectation", "OnChaos", passed, desc)
}

func errorSuffix(r *result.ChaosResult) string {
	if r.ErrorOutput == nil {
		return ""
	}
	return ": " + r.ErrorOutput.Reason
}

// phaseAndVerdict maps the outcome to the README's table of phases and verdicts (Exit codes and the ChaosResult) and Litmus's error codes.
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
