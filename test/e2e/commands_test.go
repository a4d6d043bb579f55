package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoWithDurationThreePasses runs the README's first command with the shortest hold it allows (3 s) and a
// longer one: a chaos task of the demo's shapes fails its pull about 1.5 s after launch (ecssim.DemoTiming), so
// even a 3 s hold confirms the effect. (An earlier demo timing of 1 s + 3 s made the 3 s hold end before any
// failure, exit 3.)
func TestDemoWithDurationThreePasses(t *testing.T) {
	for _, duration := range []string{"3", "5"} {
		t.Run("duration "+duration, func(t *testing.T) {
			env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}
			p, code := runExperiment(t, env, "demo", "--duration", duration)
			if code != 0 {
				t.Errorf("demo --duration %s: exit code %d, want 0", duration, code)
			}
			r := parseResult(t, p.Stdout.String())
			if st := r.Status.ExperimentStatus; st.Phase != "Completed" || st.Verdict != "Pass" {
				t.Errorf("demo ChaosResult %s/%s, want Completed/Pass (error output %+v)", st.Phase, st.Verdict, st.ErrorOutput)
			}
			assertTargets(t, r, "reverted")
			if t.Failed() {
				t.Logf("stderr:\n%s", p.Stderr.String())
			}
		})
	}
}

// TestHelpMarkdownMatchesREADME keeps the README's tunables table generated: it must equal `experiment help
// --markdown` byte for byte between the markers.
func TestHelpMarkdownMatchesREADME(t *testing.T) {
	const begin, end = "<!-- tunables:begin -->", "<!-- tunables:end -->"
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md")) // go test runs in the package folder
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	_, rest, okBegin := strings.Cut(string(readme), begin)
	table, _, okEnd := strings.Cut(rest, end)
	if !okBegin || !okEnd {
		t.Fatalf("README.md has no %s ... %s section holding the tunables table", begin, end)
	}
	p, code := runExperiment(t, map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}, "help", "--markdown")
	if code != 0 {
		t.Fatalf("help --markdown: exit code %d\n%s", code, p.Stderr.String())
	}
	got, want := strings.TrimSpace(p.Stdout.String()), strings.TrimSpace(table)
	if got != want {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
			var g, w string
			if i < len(gotLines) {
				g = gotLines[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Fatalf("README.md's tunables table differs from `experiment help --markdown` at line %d:\nREADME: %s\nbinary: %s\n(regenerate it with: go run ./experiment help --markdown)", i+1, w, g)
			}
		}
	}
}

// TestVersionPrints: the image's smoke check.
func TestVersionPrints(t *testing.T) {
	p, code := runExperiment(t, map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir()}, "version")
	if code != 0 || strings.TrimSpace(p.Stdout.String()) == "" {
		t.Errorf("version: exit code %d, stdout %q", code, p.Stdout.String())
	}
}
