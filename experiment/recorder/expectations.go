package recorder

import (
	"fmt"
	"strings"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// judgeExpectations turns the built-in ECS expectations (EXPECT_*) into probe-like verdicts, judged from the
// fault's own observations, so that the spec's use cases need no extra tooling.
func judgeExpectations(cfg tunables.Config, report *ecsimage.Report) []probe.Result {
	var out []probe.Result
	injected := func(s ecsimage.ServiceReport) bool { return len(s.ChaosTaskDefinitions) > 0 }
	if cfg.ExpectRollbackWithin > 0 {
		window := cfg.ExpectRollbackWithin.Seconds()
		var misses, hits []string
		for _, s := range report.Services {
			switch o := s.Observations; {
			case !injected(s):
				misses = append(misses, fmt.Sprintf("%s was never injected", s.Service))
			case !o.RolledBackByECS:
				misses = append(misses, fmt.Sprintf("%s: ECS did not roll back (is deploymentCircuitBreaker enabled with rollback?)", s.Service))
			case o.RollbackSeconds > window:
				misses = append(misses, fmt.Sprintf("%s: ECS rolled back after %.0fs, later than %.0fs", s.Service, o.RollbackSeconds, window))
			default:
				hits = append(hits, fmt.Sprintf("%s rolled back after %.0fs", s.Service, o.RollbackSeconds))
			}
		}
		out = append(out, judged("expect-rollback-within", len(misses) == 0, hits, misses,
			fmt.Sprintf("the circuit breaker rolls the chaos deployment back within %.0fs", window)))
	}
	if cfg.ExpectHealthyTasks >= 0 {
		var misses, hits []string
		for _, s := range report.Services {
			o := s.Observations
			switch {
			case !injected(s):
				misses = append(misses, fmt.Sprintf("%s was never injected", s.Service))
			case o.OriginalRunningLowest < cfg.ExpectHealthyTasks:
				misses = append(misses, fmt.Sprintf("%s: the original revision fell to %d RUNNING task(s)", s.Service, o.OriginalRunningLowest))
			default:
				hits = append(hits, fmt.Sprintf("%s kept at least %d", s.Service, o.OriginalRunningLowest))
			}
		}
		out = append(out, judged("expect-healthy-tasks", len(misses) == 0, hits, misses,
			fmt.Sprintf("the original revision keeps at least %d RUNNING task(s) throughout", cfg.ExpectHealthyTasks)))
	}
	return out
}

func judged(name string, passed bool, hits, misses []string, expectation string) probe.Result {
	desc := expectation + ": "
	if passed {
		desc += strings.Join(hits, "; ")
	} else {
		desc += strings.Join(misses, "; ")
	}
	return probe.Judged(name, "builtinExpectation", "Continuous", passed, desc)
}
