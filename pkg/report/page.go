package report

import (
	"strconv"
	"strings"
)

// The page is written by hand rather than with html/template: text/template (which html/template imports) calls
// reflect.Value.MethodByName, which makes the linker keep every exported method of every reachable type and
// adds about 7 MB to the pod binary. Every string from the ChaosResult goes through text or attr, which escape
// as html/template did in those places (text content, RCDATA <title>, quoted attribute values): the same bytes.

// style is the page's whole stylesheet.
const style = `:root { --pass: #1a7f37; --fail: #cf222e; --error: #9a3412; --stopped: #6e40c9; --neutral: #57606a; --ink: #1f2328; --muted: #57606a; --rule: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0 auto; padding: 24px; max-width: 1200px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--rule); }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; font-size: 12.5px; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); } .badge.error { background: var(--error); }
.badge.stopped { background: var(--stopped); } .badge.neutral { background: var(--neutral); }
.big { font-size: 16px; padding: 2px 12px; }
.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 10px 0; }
.summary dt { color: var(--muted); } .summary dd { margin: 0; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; border-radius: 4px; }
.errorbox { background: #ffebe9; border: 1px solid #ff8182; padding: 6px 10px; border-radius: 4px; }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; }
svg text { fill: var(--ink); }
svg .axis text, svg text.scale { fill: var(--muted); }
svg text.scale { font-size: 10px; }
svg .grid { stroke: #eaeef2; stroke-width: 1; }
svg .rowline { stroke: var(--rule); stroke-width: 1; }
svg .window { fill: #ffebe9; }
svg .s-original { stroke: var(--pass); fill: none; stroke-width: 2; }
svg .s-chaos { stroke: var(--fail); fill: none; stroke-width: 2; }
svg .s-pending { stroke: #bf8700; fill: none; stroke-width: 1.5; stroke-dasharray: 4 2; }
svg .s-failed { stroke: #82071e; fill: none; stroke-width: 1.5; stroke-dasharray: 1 2; }
svg .s-other { stroke: #0969da; fill: none; stroke-width: 1.5; }
svg .s-desired { stroke: #8c959f; fill: none; stroke-width: 1; stroke-dasharray: 6 3; }
svg .mark line { stroke: #57606a; stroke-width: 1; }
svg .mark text { font-size: 10px; font-weight: 700; text-anchor: middle; }
svg .mark-inject line, svg .mark-chaos-start line { stroke: var(--fail); }
svg .mark-first-failure line { stroke: #82071e; stroke-dasharray: 2 2; }
svg .mark-breaker line, svg .mark-alarm line, svg .mark-rollback line { stroke: #bc4c00; stroke-width: 2; }
svg .mark-restore line, svg .mark-restored line { stroke: var(--pass); }
svg .mark-restored line { stroke-width: 2; }
svg .mark-restore-failed line, svg .mark-stop line { stroke: var(--stopped); stroke-width: 2; }
svg .mark-event line, svg .mark-rollout line, svg .mark-deregister line { stroke: #8c959f; stroke-dasharray: 1 2; }
svg .probe.pass rect, svg .probe.pass circle { fill: var(--pass); }
svg .probe.fail rect, svg .probe.fail circle { fill: var(--fail); }
svg .probe.neutral rect, svg .probe.neutral circle { fill: var(--neutral); }
svg .v-Pass { fill: var(--pass); } svg .v-Fail, svg .v-Error { fill: var(--fail); } svg .v-Stopped { fill: var(--stopped); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; color: var(--muted); font-size: 12px; margin: 6px 0 0; padding: 0; list-style: none; }
.legend svg { vertical-align: middle; }
.service { break-inside: avoid; }
ul.plain { margin: 4px 0; padding-left: 20px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; }
  svg.chart, tr, .service { break-inside: avoid; }
  .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`

// pageWriter writes the page; text and attr escape, raw writes the page's own markup.
type pageWriter struct{ b strings.Builder }

func (w *pageWriter) raw(s string) { w.b.WriteString(s) }

// text writes s escaped for HTML text content (also a <title>'s RCDATA) or a quoted attribute value: the
// characters html/template's htmlEscaper replaces, replaced the same way. NUL becomes U+FFFD, as a browser would
// read it; every byte of a multi-byte UTF-8 sequence is 0x80 or above, so escaping byte by byte is safe.
func (w *pageWriter) text(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		w.b.WriteString(s[last:i])
		w.b.WriteString(repl)
		last = i + 1
	}
	w.b.WriteString(s[last:])
}

// attr writes s for the inside of a double-quoted attribute value.
func (w *pageWriter) attr(s string) { w.text(s) }

// num writes f as html/template printed a float64 (fmt's %v: the shortest form, exponent from 1e21).
func (w *pageWriter) num(f float64) {
	var buf [32]byte
	w.b.Write(strconv.AppendFloat(buf[:0], f, 'g', -1, 64))
}

func (w *pageWriter) integer(n int) { w.b.WriteString(strconv.Itoa(n)) }

// para writes text as a paragraph of the class, when there is any text.
func (w *pageWriter) para(class, text string) {
	if text != "" {
		w.raw(`<p class="` + class + `">`)
		w.text(text)
		w.raw("</p>")
	}
}

// nums writes ` name="value"` for each name and number in turn: the coordinates and times of the SVG's elements.
func (w *pageWriter) nums(names string, values ...float64) {
	for i, name := range strings.Fields(names) {
		w.raw(" " + name + `="`)
		w.num(values[i])
		w.raw(`"`)
	}
}

// page writes the whole HTML page of v.
func page(v view) string {
	w := &pageWriter{}
	w.raw(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>`)
	w.text(v.Title)
	w.raw("</title>\n<style>\n" + style + "</style>\n</head>\n<body>\n")
	w.header(v)
	w.services(v.Services)
	if v.Chart != nil {
		w.chart(v.Chart)
	}
	w.raw("\n")
	w.probes(v.Probes)
	w.details(v.Services)
	w.config(v.Config)
	w.raw("<footer>Generated")
	if v.Generator != "" {
		w.raw(" by ")
		w.text(v.Generator)
	}
	w.raw(" from the ChaosResult. This file loads nothing from anywhere else.</footer>\n</body>\n</html>\n")
	return w.b.String()
}

// dd writes a summary line when value is set, and the line's end either way.
func (w *pageWriter) dd(term, value, class string) {
	if value != "" {
		w.raw("<dt>" + term + "</dt><dd" + class + ">")
		w.text(value)
		w.raw("</dd>")
	}
	w.raw("\n")
}

func (w *pageWriter) header(v view) {
	w.raw("<header id=\"run\">\n<h1>")
	w.text(v.Name)
	w.raw(` <span class="badge big `)
	w.attr(verdictClass(v.Verdict))
	w.raw(`" id="verdict">`)
	w.text(v.Verdict)
	w.raw("</span></h1>\n<dl class=\"summary\">\n<dt>Phase</dt><dd id=\"phase\">")
	w.text(v.Phase)
	w.raw("</dd>\n")
	w.dd("Outcome", v.Outcome, "")
	w.raw("<dt>Probe success</dt><dd>")
	w.text(v.ProbeSuccess)
	w.raw("%</dd>\n")
	w.dd("Experiment", v.Experiment, "")
	w.dd("ChaosEngine", v.Engine, "")
	w.dd("Run", v.RunID, ` class="mono"`)
	if v.Started != "" {
		w.raw("<dt>Started</dt><dd>")
		w.text(v.Started)
		w.raw(", lasted ")
		w.text(v.Duration)
		w.raw("</dd>")
	}
	w.raw("\n")
	w.dd("Stopped", v.StopReason, "")
	w.raw("</dl>\n")
	if v.ErrorReason != "" {
		w.raw(`<p class="errorbox" id="error"><strong>`)
		w.text(v.ErrorCode)
		w.raw("</strong>: ")
		w.text(v.ErrorReason)
		w.raw("</p>")
	}
	w.raw("\n")
	w.para("note", v.Note)
	w.raw("\n</header>\n\n")
}

// badge writes a verdict's badge.
func (w *pageWriter) badge(verdict string) {
	w.raw(`<span class="badge `)
	w.attr(verdictClass(verdict))
	w.raw(`">`)
	w.text(verdict)
	w.raw("</span>")
}

func (w *pageWriter) services(services []serviceView) {
	w.raw(`<section id="services">
<h2>Services</h2>
<table>
<thead><tr><th>Service</th><th>Verdict</th><th>Effect</th><th>Restore</th><th>First failure</th><th>Original RUNNING lowest</th></tr></thead>
<tbody>
`)
	for _, s := range services {
		w.raw(`<tr><td class="mono">`)
		w.text(s.Name)
		w.raw("</td><td>")
		w.badge(s.Verdict)
		w.raw(`</td><td class="effect">`)
		w.text(s.Effect)
		w.raw("</td><td>")
		w.text(s.Restore)
		if s.Rollback != "" {
			w.raw("<br>")
			w.text(s.Rollback)
		}
		w.raw("</td><td>")
		w.text(s.FirstFailure)
		w.raw("</td><td>")
		w.text(s.Lowest)
		w.raw("</td></tr>\n")
	}
	w.raw("</tbody>\n</table>\n</section>\n\n")
}

// mark writes one mark: a line at its time with its glyph, its time and text as a tooltip.
func (w *pageWriter) mark(m markView) {
	w.raw(`<g class="mark mark-`)
	w.attr(m.Kind)
	w.raw(`"`)
	w.nums("data-t data-x", m.T, m.X)
	w.raw(`><title>`)
	w.text(m.Title)
	w.raw(`</title><line`)
	w.nums("x1 x2 y1 y2", m.X, m.X, m.Y1, m.Y2)
	w.raw(`/><text`)
	w.nums("x y", m.X, m.Y1)
	w.raw(` dy="9">`)
	w.text(m.Glyph)
	w.raw("</text></g>")
}

// series writes one of a row's step lines, when it has one.
func (w *pageWriter) series(class, d, title string) {
	if d != "" {
		w.raw(`<path class="` + class + `" d="`)
		w.attr(d)
		w.raw(`"><title>` + title + "</title></path>")
	}
	w.raw("\n")
}

// chartLegend follows the chart's SVG: what each line, shade and glyph means, and how rows are scaled.
const chartLegend = `<ul class="legend">
<li><svg width="24" height="8"><path class="s-original" d="M0 4H24"/></svg> original revision running</li>
<li><svg width="24" height="8"><path class="s-chaos" d="M0 4H24"/></svg> chaos tasks running</li>
<li><svg width="24" height="8"><path class="s-pending" d="M0 4H24"/></svg> chaos tasks pending</li>
<li><svg width="24" height="8"><path class="s-failed" d="M0 4H24"/></svg> chaos deployment's failed tasks</li>
<li><svg width="24" height="8"><path class="s-other" d="M0 4H24"/></svg> another revision running</li>
<li><svg width="24" height="8"><path class="s-desired" d="M0 4H24"/></svg> desired count</li>
<li><svg width="24" height="8"><rect class="window" width="24" height="8"/></svg> chaos window</li>
<li>marks: I inject, F first chaos task failure, B circuit breaker, A alarm, R ECS rollback, r rollout state, e ECS service event, 3 someone else's deploy, S restore, ✓ service whole again, ✗ restore failed, D chaos revision deregistered, ▶ ■ chaos start and end, ⏹ stop, P probes</li>
</ul>
<p class="legend">Each service's row is scaled to its own largest count (hover a line for it). Points of a long run may be merged; a merged point keeps the fewest original tasks running and the most chaos tasks of its span.</p>
</section>
`

// chart writes the timeline section: the SVG from the top down (chaos window, axis, run lane, service rows, probe
// lanes), then its legend.
func (w *pageWriter) chart(c *chart) {
	w.raw("<section id=\"timeline\">\n<h2>Timeline</h2>\n")
	w.svgStart(c)
	if b := c.Window; b != nil {
		w.window(b)
	}
	w.raw("\n<g class=\"axis\">")
	for _, t := range c.Ticks {
		w.axisTick(t, c.GridBottom)
	}
	w.raw("</g>\n<g class=\"lane run\"><text x=\"4\" y=\"44\">run</text>")
	for _, m := range c.RunMarks {
		w.mark(m)
	}
	w.raw("</g>\n")
	for _, r := range c.Rows {
		w.row(r)
	}
	if len(c.Probes) > 0 {
		w.raw(`<line class="rowline" x1="0" x2="1000" y1="`)
		w.num(c.ProbesTop)
		w.raw(`" y2="`)
		w.num(c.ProbesTop)
		w.raw(`"/>`)
	}
	w.raw("\n")
	for _, p := range c.Probes {
		w.probeLane(p)
	}
	w.raw("</svg>\n" + chartLegend)
}

// svgStart opens the chart's SVG with the geometry the browser tests read back from its data attributes.
func (w *pageWriter) svgStart(c *chart) {
	w.raw(`<svg class="chart" role="img" aria-label="task counts and marks over time" viewBox="0 0 1000 `)
	w.num(c.Height)
	w.raw(`"`)
	w.nums("data-plot-left data-plot-width data-span", c.PlotLeft, c.PlotWidth, c.Span)
	w.raw(" xmlns=\"http://www.w3.org/2000/svg\">\n")
}

// window writes the shaded chaos window, first so that everything else is drawn over it.
func (w *pageWriter) window(b *band) {
	w.raw(`<rect class="window"`)
	w.nums("x y width height", b.X, b.Y, b.W, b.H)
	w.raw(`><title>chaos window</title></rect>`)
}

// axisTick writes one time on the axis with its grid line down to bottom.
func (w *pageWriter) axisTick(t tick, bottom float64) {
	w.raw(`<line class="grid"`)
	w.nums("x1 x2 y1 y2", t.X, t.X, 20, bottom)
	w.raw(`/><text class="tick"`)
	w.nums("x y", t.X, 14)
	w.raw(` text-anchor="middle"`)
	w.nums("data-t", t.T)
	w.raw(`>`)
	w.text(t.Label)
	w.raw("</text>")
}

func (w *pageWriter) row(r row) {
	w.raw(`<g class="service-row" data-service="`)
	w.attr(r.Name)
	w.raw("\">\n<line class=\"rowline\"")
	w.nums("x1 x2 y1 y2", 0, 1000, r.Y, r.Y)
	w.raw("/>\n<text")
	w.nums("x y", 4, r.LabelY)
	w.raw(` class="mono"><title>`)
	w.text(r.Name)
	w.raw("</title>")
	w.text(r.Name)
	w.raw("</text>\n")
	if r.H > 40 {
		w.raw(`<text x="4" y="`)
		w.num(r.LabelY)
		w.raw(`" dy="14" class="scale">tasks 0 to `)
		w.integer(r.Max)
		w.raw("</text>")
	}
	w.raw("\n")
	if r.Verdict != "" {
		w.raw(`<circle class="v-`)
		w.attr(r.Verdict)
		w.raw(`" cx="196" cy="`)
		w.num(r.LabelY)
		w.raw(`" r="4"><title>`)
		w.text(r.Verdict)
		w.raw("</title></circle>")
	}
	w.raw("\n")
	w.series("s-desired", r.Desired, "desired count (max "+strconv.Itoa(r.Max)+")")
	w.series("s-other", r.Other, "other revision running")
	w.series("s-original", r.Original, "original revision running")
	w.series("s-pending", r.Pending, "chaos tasks pending")
	w.series("s-chaos", r.Chaos, "chaos tasks running")
	w.series("s-failed", r.Failed, "chaos deployment failed tasks")
	for _, m := range r.Marks {
		w.mark(m)
	}
	w.raw("\n</g>\n")
}

// circle writes a probe's point at x.
func (w *pageWriter) circle(x, y float64) {
	w.raw(`<circle`)
	w.nums("cx cy", x, y)
	w.raw(` r="5"/>`)
}

func (w *pageWriter) probeLane(p probeLane) {
	w.raw(`<g class="probe `)
	w.attr(verdictClass(p.Verdict))
	w.raw(`" data-probe="`)
	w.attr(p.Name)
	w.raw(`"`)
	w.nums("data-t data-t2 data-x", p.T, p.T2, p.X)
	w.raw(`><title>`)
	w.text(p.Title)
	w.raw(`</title><text x="4" y="`)
	w.num(p.LabelY)
	w.raw(`">`)
	w.text(p.Name)
	w.raw("</text>")
	switch {
	case p.Point:
		w.circle(p.X, p.LabelY)
	case p.Edge:
		w.circle(p.X, p.LabelY)
		w.circle(p.X2, p.LabelY)
	default:
		w.raw(`<rect`)
		w.nums("x y width", p.X, p.Y, p.W)
		w.raw(` height="12" rx="3"/>`)
	}
	w.raw("</g>\n")
}

func (w *pageWriter) probes(probes []probeView) {
	w.raw("<section id=\"probes\">\n<h2>Probes and expectations</h2>\n")
	if len(probes) == 0 {
		w.raw("<p>No probe or expectation was configured.</p>\n</section>\n\n")
		return
	}
	w.raw("<table>\n<thead><tr><th>Name</th><th>Type</th><th>Mode</th><th>Verdict</th><th>Description</th></tr></thead>\n<tbody>\n")
	for _, p := range probes {
		w.raw("<tr><td>")
		w.text(p.Name)
		w.raw("</td><td>")
		w.text(p.Type)
		w.raw("</td><td>")
		w.text(p.Mode)
		w.raw("</td><td>")
		w.badge(p.Verdict)
		w.raw("</td><td>")
		w.text(p.Description)
		w.raw("</td></tr>\n")
	}
	w.raw("</tbody>\n</table>\n</section>\n\n")
}

// list writes a titled list of a service's lines, each as code when code is set.
func (w *pageWriter) list(title string, items []string, code bool) {
	if len(items) > 0 {
		w.raw(title + `<ul class="plain">`)
		for _, it := range items {
			w.raw("<li>")
			if code {
				w.raw("<code>")
			}
			w.text(it)
			if code {
				w.raw("</code>")
			}
			w.raw("</li>")
		}
		w.raw("</ul>")
	}
	w.raw("\n")
}

func (w *pageWriter) details(services []serviceView) {
	w.raw("<section id=\"details\">\n<h2>Per service</h2>\n")
	for _, s := range services {
		w.raw(`<div class="service" data-service="`)
		w.attr(s.Name)
		w.raw("\">\n<h3 class=\"mono\">")
		w.text(s.Name)
		w.raw(" ")
		w.badge(s.Verdict)
		w.raw("</h3>\n<p>Effect: <strong>")
		w.text(s.Effect)
		w.raw("</strong>. Restore: ")
		w.text(s.Restore)
		w.raw(".")
		if s.Rollback != "" {
			w.raw(" ")
			w.text(s.Rollback)
			w.raw(".")
		}
		w.raw("</p>\n")
		w.para("note", s.NotEffective)
		w.raw("\n")
		w.para("errorbox", s.Error)
		w.raw("\n")
		w.list("<p><strong>Manual steps:</strong></p>", s.ManualSteps, true)
		w.list("<p>Why chaos tasks stopped:</p>", s.StoppedReasons, true)
		w.list("<p>ECS service events:</p>", s.Events, false)
		w.list("<p>Warnings:</p>", s.Warnings, false)
		w.raw("</div>\n")
	}
	w.raw("</section>\n\n")
}

func (w *pageWriter) config(config [][2]string) {
	if len(config) > 0 {
		w.raw("<section id=\"config\">\n<h2>Configuration</h2>\n<table><tbody>\n")
		for _, c := range config {
			w.raw("<tr><th>")
			w.text(c[0])
			w.raw(`</th><td class="mono">`)
			w.text(c[1])
			w.raw("</td></tr>\n")
		}
		w.raw("</tbody></table>\n</section>")
	}
	w.raw("\n")
}
