package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/report/reporttest"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

func render(t *testing.T, r *result.ChaosResult) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, r, Options{Generator: "experiment test"}); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.Bytes()
}

func fixture(t *testing.T, name string) reporttest.Fixture {
	t.Helper()
	f, err := reporttest.Build(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// skeleton is the page's structure: one line per element with its id, classes and the data attributes that
// place it, indented by depth; texts and coordinates are left out so that wording can change freely.
func skeleton(t *testing.T, page []byte) string {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var b strings.Builder
	depth := 0
	void := map[string]bool{"meta": true, "br": true}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			line := strings.Repeat("  ", depth) + tok.Data
			for _, a := range tok.Attr {
				switch a.Key {
				case "id", "class", "data-service", "data-probe", "data-t", "data-t2", "http-equiv":
					line += fmt.Sprintf(" %s=%q", a.Key, a.Val)
				}
			}
			b.WriteString(line + "\n")
			if tok.Type == html.StartTagToken && !void[tok.Data] {
				depth++
			}
		case html.EndTagToken:
			if tok := z.Token(); !void[tok.Data] {
				depth--
			}
		}
	}
}

func TestGoldenStructure(t *testing.T) {
	for _, name := range []string{"pass", "probe-fail", "rolled-back", "stopped"} {
		t.Run(name, func(t *testing.T) {
			got := skeleton(t, render(t, fixture(t, name).Result))
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/report -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("structure differs from %s (go test ./pkg/report -update rewrites it after a deliberate change):\n%s", path, diff(string(want), got))
			}
		})
	}
}

func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("first difference at line %d:\nwant %s\ngot  %s", i+1, a, b)
		}
	}
	return ""
}

// The page stands alone: no script, nothing loaded from elsewhere, and a policy that would block it if there were.
func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	page := render(t, fixture(t, "probe-fail").Result)
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script`), regexp.MustCompile(`(?i)(src|href)\s*=`), regexp.MustCompile(`(?i)@import|url\(`),
		regexp.MustCompile(`(?i)<link`), regexp.MustCompile(`(?i)@font-face`),
	} {
		if loc := bad.FindIndex(page); loc != nil {
			t.Errorf("page contains %q", page[loc[0]:min(loc[1]+40, len(page))])
		}
	}
	if !bytes.Contains(page, []byte(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`)) {
		t.Error("page lacks its Content-Security-Policy")
	}
}

func TestEveryServiceAndMarkIsDrawn(t *testing.T) {
	tests := []struct {
		name                    string
		rows                    int
		verdict, effect, action string
	}{
		{"pass", 1, `id="verdict">Pass<`, "confirmed", "reverted, completed after 6s"},
		{"probe-fail", 1, `id="verdict">Fail<`, "confirmed", "reverted, completed after 6s"},
		{"rolled-back", 1, `id="verdict">Pass<`, "confirmed", "rolled-back-by-ecs, completed after 6s"},
		{"stopped", 1, `id="verdict">Stopped<`, "confirmed", "reverted, completed after 6s"},
		{"hundred-services", 100, `id="verdict">Pass<`, "confirmed", "reverted, completed after 6s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fixture(t, tc.name)
			page := string(render(t, f.Result))
			if n := strings.Count(page, `<g class="service-row"`); n != tc.rows {
				t.Errorf("%d service rows, want %d", n, tc.rows)
			}
			for _, want := range []string{tc.verdict, `<td class="effect">` + tc.effect + `<`, tc.action} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if n, want := strings.Count(page, `<g class="mark mark-`), len(f.Marks); n != want {
				t.Errorf("%d marks drawn, want %d", n, want)
			}
		})
	}
}

// A result of a run that recorded no timeline (an older version, a refusal) still renders, and says why there is
// no chart and what was left out of a shortened result.
func TestResultWithoutTimeline(t *testing.T) {
	r := &result.ChaosResult{Name: "x", Phase: result.PhaseError, Verdict: result.VerdictError,
		ErrorOutput: &result.ErrorOutput{ErrorCode: "PRE_CHAOS_CHECK_ERROR", Reason: "service web is not ACTIVE"},
		FaultStatus: map[string]any{"runId": "r1", "services": []any{map[string]any{"service": "web", "state": "refused", "error": "service web is not ACTIVE"}},
			"compacted": "observations keep counts"}}
	page := string(render(t, r))
	for _, want := range []string{"holds no timeline", "PRE_CHAOS_CHECK_ERROR", "Refused", "not injected", "Shortened: observations keep counts."} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<svg class=\"chart\"") {
		t.Error("a chart was drawn without a timeline")
	}
	if err := Render(&bytes.Buffer{}, &result.ChaosResult{Name: "x", FaultStatus: map[string]any{"timeline": map[string]any{"version": 9.0}}}, Options{}); err == nil ||
		!strings.Contains(err.Error(), "version 9") {
		t.Errorf("a timeline of another version: %v, want an error naming it", err)
	}
}

func TestDurationLabels(t *testing.T) {
	for _, tc := range []struct {
		s    float64
		want string
	}{{0, "0s"}, {2.5, "2.5s"}, {45, "45s"}, {60, "1m"}, {150, "2m30s"}, {3900, "1h05m"}, {86400, "24h00m"}} {
		if got := duration(tc.s); got != tc.want {
			t.Errorf("duration(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
