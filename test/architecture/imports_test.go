// Package architecture holds the checks that keep ARCHITECTURE.md's import rules true.
package architecture

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ecschaos/ecs-invalid-container-image/"

type pkg struct {
	ImportPath string
	Imports    []string
}

// packages lists the module's packages with their direct (non-test) imports.
func packages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-json", module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var all []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all = append(all, p)
	}
	return all
}

// TestImportsPointDown: experiment -> experiment/recorder -> chaoslib -> pkg, never back up; the fault knows no
// Kubernetes; only the demo (experiment), bench and tests use the simulator.
func TestImportsPointDown(t *testing.T) {
	rules := []struct {
		from, forbidden, why string
	}{
		{"chaoslib/", module + "experiment", "the fault must not depend on its entry point"},
		{"chaoslib/", "k8s.io/", "the fault knows no Kubernetes (DESIGN: experiment and pkg/result do)"},
		{"pkg/", module + "chaoslib", "pkg/ packages sit below the fault"},
		{"pkg/", module + "experiment", "pkg/ packages sit below the entry point"},
		{"chaoslib/", module + "pkg/ecssim", "production code never uses the simulator"},
		{"experiment/recorder", module + "pkg/ecssim", "production code never uses the simulator"},
		{"pkg/", module + "test/", "test harnesses are for tests"},
		{"chaoslib/", module + "test/", "test harnesses are for tests"},
		{"experiment", module + "test/", "test harnesses are for tests"},
	}
	checked := 0
	for _, p := range packages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		if strings.HasPrefix(rel, "pkg/ecssim") || strings.HasSuffix(rel, "test") && strings.HasPrefix(rel, "pkg/") {
			continue // the simulator and test fixture packages (pkg/report/reporttest) may use what tests use
		}
		for _, r := range rules {
			if !strings.HasPrefix(rel, r.from) {
				continue
			}
			checked++
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, r.forbidden) && !(r.forbidden == module+"pkg/ecssim" && rel == "experiment") {
					t.Errorf("%s imports %s: %s", rel, imp, r.why)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d package/rule pairs checked: the package list is wrong", checked)
	}
}
