package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/report"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/report/reporttest"
)

var screenshotTo = flag.String("screenshot", "", "also write the pass report's screenshot to this file (docs/report.png)")

// placement reads, for every mark and probe, where the browser drew it and where its time says it belongs: the
// plot's left edge plus its share of the axis, in the SVG's own units scaled to its on-screen size.
const placement = `(() => {
  const svg = document.querySelector('svg.chart');
  if (!svg) return {rows: 0, marks: [], probes: []};
  const box = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
  const left = +svg.dataset.plotLeft, width = +svg.dataset.plotWidth, span = +svg.dataset.span, k = box.width / vb.width;
  const want = t => box.left + (left + Math.min(Math.max(t, 0), span) / span * width) * k;
  const centre = el => { const r = el.getBoundingClientRect(); return r.left + r.width / 2; };
  const marks = [...svg.querySelectorAll('g.mark')].map(g => {
    const row = g.closest('[data-service]');
    return {service: row ? row.dataset.service : '', kind: g.getAttribute('class').replace('mark mark-', ''),
      t: +g.dataset.t, x: centre(g.querySelector('line')), want: want(+g.dataset.t)};
  });
  const probes = [...svg.querySelectorAll('g.probe')].map(g => {
    const shape = g.querySelector('rect, circle');
    return {name: g.dataset.probe, t: +g.dataset.t, x: shape.getBoundingClientRect().left + (shape.tagName === 'rect' ? 0 : shape.getBoundingClientRect().width / 2), want: want(+g.dataset.t)};
  });
  return {rows: svg.querySelectorAll('g.service-row').length, marks, probes, width: box.width};
})()`

type drawn struct {
	Rows   int     `json:"rows"`
	Width  float64 `json:"width"`
	Marks  []place `json:"marks"`
	Probes []place `json:"probes"`
}

type place struct {
	Service string  `json:"service"`
	Kind    string  `json:"kind"`
	Name    string  `json:"name"`
	T       float64 `json:"t"`
	X       float64 `json:"x"`
	Want    float64 `json:"want"`
}

func TestReportsInChromium(t *testing.T) {
	browser := Start(t)
	page := browser.NewPage(t)
	dir := t.TempDir()
	rows := map[string]int{"hundred-services": 100}
	for _, name := range reporttest.Names {
		t.Run(name, func(t *testing.T) {
			f, err := reporttest.Build(name)
			if err != nil {
				t.Fatal(err)
			}
			var html bytes.Buffer
			if err := report.Render(&html, f.Result, report.Options{Generator: "browser test"}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".html")
			if err := os.WriteFile(path, html.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			page.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)
			page.Navigate("file://" + path)

			var loadMs float64
			page.Eval(`(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; })()`, &loadMs)
			t.Logf("%s: %d bytes, loaded in %.0f ms", name, html.Len(), loadMs)
			if loadMs <= 0 || loadMs >= 1000 {
				t.Errorf("load took %.0f ms, want under a second", loadMs)
			}
			if errs := page.ConsoleErrors(); len(errs) > 0 {
				t.Errorf("console errors: %q", errs)
			}

			var got drawn
			page.Eval(placement, &got)
			want := max(1, rows[name])
			if got.Rows != want {
				t.Errorf("%d service rows drawn, want %d", got.Rows, want)
			}
			// Half a CSS pixel of slack: the browser snaps strokes to its pixel grid.
			const slack = 0.75
			for _, m := range append(got.Marks, got.Probes...) {
				if math.Abs(m.X-m.Want) > slack {
					t.Errorf("%s %s%s at t=%gs drawn at x=%.2f, want %.2f", m.Service, m.Kind, m.Name, m.T, m.X, m.Want)
				}
			}
			for _, m := range f.Marks {
				if !hasMark(got.Marks, m) {
					t.Errorf("mark %s of %q at %gs is not drawn", m.Kind, m.Service, m.T)
				}
			}
			if len(got.Probes) != len(f.Result.ProbeStatuses) {
				t.Errorf("%d probe lanes, want %d", len(got.Probes), len(f.Result.ProbeStatuses))
			}
			var pdf struct {
				Data []byte `json:"data"`
			}
			page.Call("Page.printToPDF", map[string]any{"printBackground": true}, &pdf)
			if !bytes.HasPrefix(pdf.Data, []byte("%PDF")) {
				t.Errorf("printing gave %d bytes that are not a PDF", len(pdf.Data))
			}
			png := page.Screenshot(1280, 2400)
			artifact := filepath.Join(t.ArtifactDir(), name+".png")
			if err := os.WriteFile(artifact, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", artifact)
			if name == "pass" && *screenshotTo != "" {
				if err := os.WriteFile(*screenshotTo, png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if errs := page.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func hasMark(drawn []place, m reporttest.Mark) bool {
	for _, d := range drawn {
		if d.Service == m.Service && d.Kind == string(m.Kind) && math.Abs(d.T-m.T) < 0.051 {
			return true
		}
	}
	return false
}

// The checks above can fail: a page that loads something from elsewhere logs a console error (the report's policy
// blocks it), and a mark drawn away from its time is caught.
func TestTheChecksCanFail(t *testing.T) {
	browser := Start(t)
	page := browser.NewPage(t)
	f, err := reporttest.Build("pass")
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := report.Render(&html, f.Result, report.Options{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	external := bytes.Replace(html.Bytes(), []byte("<footer>"), []byte(`<footer><img alt="" src="http://127.0.0.1:9/x.png">`), 1)
	path := filepath.Join(dir, "external.html")
	if err := os.WriteFile(path, external, 0o644); err != nil {
		t.Fatal(err)
	}
	page.Navigate("file://" + path)
	if len(page.ConsoleErrors()) == 0 {
		t.Error("an image from elsewhere logged no console error")
	}

	// Move the inject mark's line (not its time) by 30 SVG units.
	moved := bytes.Replace(html.Bytes(), []byte(`data-t="1.2" data-x="233.1"><title>1.2s points at checkout:8</title><line x1="233.1" x2="233.1"`),
		[]byte(`data-t="1.2" data-x="233.1"><title>1.2s points at checkout:8</title><line x1="263.1" x2="263.1"`), 1)
	if bytes.Equal(moved, html.Bytes()) {
		t.Fatal("the inject mark is not where this test expects it in the page; update the test")
	}
	path = filepath.Join(dir, "moved.html")
	if err := os.WriteFile(path, moved, 0o644); err != nil {
		t.Fatal(err)
	}
	page.Navigate("file://" + path)
	var got drawn
	page.Eval(placement, &got)
	off := 0
	for _, m := range got.Marks {
		if math.Abs(m.X-m.Want) > 0.75 {
			off++
		}
	}
	if off != 1 {
		t.Errorf("%d marks away from their time, want the one moved", off)
	}
}
