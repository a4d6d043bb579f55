package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

func helpCommand(args []string, stdout io.Writer) int {
	if len(args) > 0 && args[0] == "--markdown" {
		fmt.Fprint(stdout, tunables.Markdown())
		return 0
	}
	fmt.Fprintf(stdout, `%s: the "ECS invalid container image" chaos fault.

Usage: experiment [run|recover|demo|rehearse|report|version|help [--markdown]]

  run       (default) run the fault configured by the environment; what a chaos pod runs
  recover   restore services a killed run left under chaos, from the marker on the chaos revision
  demo      run the fault against a built-in ECS simulator and print the ChaosResult (--shape, --list-shapes,
            --report FILE)
  rehearse  read the real services of the environment (DescribeServices, DescribeTaskDefinition; nothing is
            changed) and run the fault against a simulated copy of them: the ChaosResult and a prediction of
            the chaos tasks, the circuit breaker's rollback, the original tasks kept and the restore (--report FILE)
  report    render a ChaosResult (FILE, -, or --from-cluster NAMESPACE/NAME) as one HTML page (--out FILE)
  version   print the version
  help      this text; --markdown prints the tunables table as Markdown

Exit codes (a plain Job or the CLI): 0 Pass, 1 Fail (probe or expectation), 2 nothing changed (bad input or
refusal), 3 error after injection (restored), 4 restore failed (manual steps printed), 5 stopped (restored).
Under a ChaosEngine the pod exits 0 once the verdict is in the ChaosResult.

Tunables (environment variables):
`, faultName)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tDEFAULT\tRULE")
	for _, d := range tunables.Definitions() {
		def := d.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.Name, def, strings.ReplaceAll(d.Rule, "\n", " "))
	}
	tw.Flush()
	return 0
}
