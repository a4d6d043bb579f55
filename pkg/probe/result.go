// Package probe runs resilience probes written in Litmus's probe schema (the items of a ChaosEngine's
// spec.experiments[].spec.probe, or the same list as YAML in PROBES_FILE) around one run of the fault, and
// reports their verdicts the way Litmus does in a ChaosResult. Existing ChaosEngines work unchanged.
//
// Parse validates the definitions up front and names every problem; a Runner executes them in the modes
// Litmus defines (SOT, EOT, Edge, Continuous, OnChaos) when the caller reports the phases of the run. Where
// Litmus's documentation is silent or this fault behaves differently, README.md in this folder says so.
package probe

// Verdict is a probe's outcome, spelled as Litmus writes it in status.probeStatuses[].status.verdict.
type Verdict string

// The verdicts Litmus uses.
const (
	Passed  Verdict = "Passed"
	Failed  Verdict = "Failed"
	NA      Verdict = "N/A"
	Awaited Verdict = "Awaited"
)

// descNotEvaluated is Litmus's own description for a probe that never got a verdict.
const descNotEvaluated = "Either probe is not executed or not evaluated"

// Result is one line of the ChaosResult's probeStatuses: a probe's verdict, or a built-in expectation of the
// fault reported like one (see Judged).
type Result struct {
	Name        string
	Type        string
	Mode        string
	Verdict     Verdict
	Description string
}

// Judged returns a Result for a check the caller evaluated itself, such as the fault's built-in
// expectations (EXPECT_ROLLBACK_WITHIN...), so that it can be reported and counted like a probe.
func Judged(name, probeType, mode string, passed bool, description string) Result {
	verdict := Failed
	if passed {
		verdict = Passed
	}
	return Result{Name: name, Type: probeType, Mode: mode, Verdict: verdict, Description: description}
}

// SuccessPercentage is Litmus's probeSuccessPercentage over results: the passed share, rounded down. With
// no results it is 100, since nothing that was asked for failed; Litmus writes 0 for a failed run without
// probes, which the caller can decide from its own verdict.
func SuccessPercentage(results []Result) int {
	if len(results) == 0 {
		return 100
	}
	passed := 0
	for _, r := range results {
		if r.Verdict == Passed {
			passed++
		}
	}
	return passed * 100 / len(results)
}
