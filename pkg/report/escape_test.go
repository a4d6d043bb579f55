package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/timeline"
)

// resultWith is a ChaosResult whose every string the page shows (names, reasons, probe descriptions, marks'
// texts and kinds, configuration names and values) holds s.
func resultWith(t *testing.T, s string) *result.ChaosResult {
	t.Helper()
	start := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	at := func(sec float64) time.Time { return start.Add(time.Duration(sec * float64(time.Second))) }
	rec := timeline.NewRecorder(start)
	rec.Mark("", timeline.Mark{At: at(1), Kind: timeline.KindChaosStart, Text: s})
	rec.Mark("", timeline.Mark{At: at(2), Kind: timeline.Kind(s), Text: s})
	rec.Mark("", timeline.Mark{At: at(9), Kind: timeline.KindChaosEnd, Text: s})
	for i := range 4 {
		rec.Observe(s, timeline.Sample{At: at(float64(i)), Desired: 3, Original: timeline.Tasks{Running: 3 - i%2},
			Chaos: timeline.Tasks{Running: i % 2, Pending: i % 2, Failed: i % 2}, Other: timeline.Tasks{Running: i % 2}})
	}
	rec.Mark(s, timeline.Mark{At: at(2), Kind: timeline.KindInject, Text: s})
	rec.Mark(s, timeline.Mark{At: at(3), Kind: timeline.Kind(s), Text: s})
	rec.Probe(timeline.Probe{Name: s, Type: s, Mode: s, Verdict: s, From: at(1), To: at(8)})
	rec.Probe(timeline.Probe{Name: s, Type: s, Mode: "EOT", Verdict: "Passed", From: at(10), To: at(10)})
	rec.Probe(timeline.Probe{Name: s, Type: s, Mode: "Edge", Verdict: "Failed", From: at(1), To: at(10)})
	rec.Config(s, s)
	rec.End(at(10))
	fs := map[string]any{"runId": s, "startedAt": start, "endedAt": at(10), "outcome": s, "timeline": rec.Snapshot(),
		"stop": map[string]any{"reason": s, "hypothesisFailed": true},
		"services": []any{map[string]any{
			"service": s, "state": "restored", "changed": true, "effective": true, "effect": s, "notEffectiveReason": s,
			"warnings": []string{s}, "error": s,
			"observations": map[string]any{"firstFailureAfterSeconds": 3, "firstFailureReason": s, "stoppedReasons": []string{s},
				"rolledBackByECS": true, "rollbackAfterSeconds": 4, "serviceEvents": []string{s},
				"originalRunningAtStart": 3, "originalRunningLowest": 2},
			"restore": map[string]any{"action": s, "completed": true, "waitSeconds": 6, "manualSteps": []string{s}},
		}}}
	r := &result.ChaosResult{Name: s, Experiment: s, Engine: s, Phase: result.Phase(s), Verdict: result.Verdict(s), ProbeSuccessPercentage: s,
		ErrorOutput:   &result.ErrorOutput{ErrorCode: s, Reason: s},
		ProbeStatuses: []result.ProbeStatus{{Name: s, Type: s, Mode: s, Status: result.ProbeStatusBody{Verdict: result.ProbeVerdict(s), Description: s}}}}
	data, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r.FaultStatus); err != nil {
		t.Fatal(err)
	}
	return r
}

// parsed is the page as a browser's parser builds it: one line per element (namespace, name, attributes) and per
// text node, indented by depth.
func parsed(t *testing.T, page []byte) []string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node, depth int)
	walk = func(n *html.Node, depth int) {
		indent := strings.Repeat(" ", depth)
		switch n.Type {
		case html.ElementNode:
			line := indent + n.Namespace + ":" + n.Data
			for _, a := range n.Attr {
				line += fmt.Sprintf(" %s:%s=%q", a.Namespace, a.Key, a.Val)
			}
			out = append(out, line)
		case html.TextNode:
			out = append(out, indent+fmt.Sprintf("%q", n.Data))
		case html.CommentNode:
			out = append(out, indent+"<!--"+n.Data+"-->")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, depth+1)
		}
	}
	walk(doc, 0)
	return out
}

// Whatever a ChaosResult holds stays in its place: a browser parses the page of a hostile result into the very
// tree it builds for a harmless one, with the hostile text, unchanged, where the harmless text was.
func TestHostileTextStaysInItsPlace(t *testing.T) {
	const marker = "QmarkQ"
	for _, hostile := range []string{
		`<script>alert(1)</script>`,
		`" onmouseover="x`,
		`</svg>`,
		`' onclick='x' </title></text></g></svg><!-- & &amp; + -->`,
		"]]></style></td></tr></table>\x00<img src=x>",
	} {
		t.Run(hostile, func(t *testing.T) {
			var plain, bad bytes.Buffer
			if err := Render(&plain, resultWith(t, marker), Options{Generator: marker}); err != nil {
				t.Fatal(err)
			}
			if err := Render(&bad, resultWith(t, hostile), Options{Generator: hostile}); err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(plain.Bytes(), []byte(marker)); n < 40 {
				t.Fatalf("the harmless page shows the marker %d times; the fixture misses places", n)
			}
			if bytes.Contains(bad.Bytes(), []byte("<script")) {
				t.Errorf("the hostile page holds a script tag")
			}
			// A browser replaces NUL in text and attributes by U+FFFD; the page writes it so.
			want := strings.ReplaceAll(hostile, "\x00", "\uFFFD")
			got, expect := parsed(t, bad.Bytes()), parsed(t, plain.Bytes())
			for i := range expect {
				expect[i] = strings.ReplaceAll(expect[i], marker, strings.Trim(fmt.Sprintf("%q", want), `"`))
			}
			if !slices.Equal(got, expect) {
				for i := range max(len(got), len(expect)) {
					var g, e string
					if i < len(got) {
						g = got[i]
					}
					if i < len(expect) {
						e = expect[i]
					}
					if g != e {
						t.Fatalf("the hostile text changed the page at node %d:\ngot  %s\nwant %s", i, g, e)
					}
				}
			}
		})
	}
}

// text escapes what html/template's escaper did, the same way, and nothing else.
func TestTextEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"checkout", "checkout"},
		{`<script>alert(1)</script>`, "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{`" onmouseover="x`, "&#34; onmouseover=&#34;x"},
		{"it's a+b & c", "it&#39;s a&#43;b &amp; c"},
		{"a\x00b", "a\uFFFDb"},
		{"✓ é \xff`=", "✓ é \xff`="},
	} {
		var w pageWriter
		w.text(tc.in)
		if got := w.b.String(); got != tc.want {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
