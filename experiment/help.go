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

Usage: experiment [run|recover|demo|version|help [--markdown]]

  run       (default) run the fault configured by the environment; what a chaos pod runs
  recover   restore services a killed run left under chaos, from the marker on the chaos revision
  demo      run the fault against a built-in ECS simulator and print the ChaosResult
  version   print the version
  help      this text; --markdown prints the tunables table as Markdown

Exit codes: 0 Pass, 1 Fail (probe or expectation), 2 nothing changed (bad input or refusal),
3 error after injection (restored), 4 restore failed (manual steps printed), 5 stopped (restored).

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
