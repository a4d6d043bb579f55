package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/timeline"
)

// Geometry of the chart, in SVG user units (the SVG scales to the page's width).
const (
	chartWidth = 1000.0
	labelWidth = 200.0
	plotLeft   = labelWidth + 10
	plotRight  = chartWidth - 20
	plotWidth  = plotRight - plotLeft
	axisHeight = 28.0
	laneHeight = 22.0
)

// Options change how a report is rendered.
type Options struct {
	// Generator names what wrote the report (the binary and its version), shown in the footer.
	Generator string
}

// Render writes the HTML report of r.
func Render(w io.Writer, r *result.ChaosResult, opts Options) error {
	if r == nil {
		return fmt.Errorf("report: no ChaosResult")
	}
	fs, tl, err := decode(r)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, page(build(r, fs, tl, opts)))
	return err
}

type view struct {
	Title, Name, Experiment, Engine, Phase, Verdict, ProbeSuccess string
	ErrorCode, ErrorReason                                        string
	RunID, Started, Duration, Outcome, StopReason                 string
	Services                                                      []serviceView
	Probes                                                        []probeView
	Config                                                        [][2]string
	Chart                                                         *chart
	Note                                                          string
	Generator                                                     string
}

type serviceView struct {
	Name, Verdict, Effect, Restore, FirstFailure, Rollback, Lowest string
	Error, NotEffective                                            string
	Warnings, Events, StoppedReasons, ManualSteps                  []string
}

type probeView struct {
	Name, Type, Mode, Verdict, Description string
}

func build(r *result.ChaosResult, fs faultStatus, tl *timeline.Timeline, opts Options) view {
	v := view{
		Name: r.Name, Experiment: r.Experiment, Engine: r.Engine, Phase: string(r.Phase), Verdict: string(r.Verdict),
		ProbeSuccess: r.ProbeSuccessPercentage, RunID: fs.RunID, Outcome: fs.Outcome, Generator: opts.Generator,
	}
	v.Title = "Chaos report: " + r.Name
	if r.ErrorOutput != nil {
		v.ErrorCode, v.ErrorReason = r.ErrorOutput.ErrorCode, r.ErrorOutput.Reason
	}
	if !fs.StartedAt.IsZero() {
		v.Started = fs.StartedAt.UTC().Format(time.RFC3339)
		v.Duration = duration(fs.EndedAt.Sub(fs.StartedAt).Seconds())
	}
	if fs.Stop != nil {
		v.StopReason = fs.Stop.Reason
	}
	for _, s := range fs.Services {
		sv := serviceView{Name: s.Service, Verdict: s.verdict(fs.Stop), Effect: s.effect(), Restore: s.restoreOutcome(),
			Error: s.Error, NotEffective: s.NotEffectiveReason, Warnings: s.Warnings, Events: s.Observations.ServiceEvents,
			StoppedReasons: s.Observations.StoppedReasons, ManualSteps: s.Restore.ManualSteps}
		if o := s.Observations; o.FirstFailureReason != "" {
			sv.FirstFailure = fmt.Sprintf("after %s: %s", duration(o.FirstFailureSeconds), o.FirstFailureReason)
		}
		if s.Observations.RolledBackByECS {
			sv.Rollback = "ECS rolled back after " + duration(s.Observations.RollbackSeconds)
		}
		if s.Changed {
			sv.Lowest = fmt.Sprintf("%d of %d", s.Observations.OriginalRunningLowest, s.Observations.OriginalRunningAtStart)
		}
		v.Services = append(v.Services, sv)
	}
	for _, p := range r.ProbeStatuses {
		v.Probes = append(v.Probes, probeView{Name: p.Name, Type: p.Type, Mode: p.Mode, Verdict: string(p.Status.Verdict), Description: p.Status.Description})
	}
	switch {
	case tl != nil:
		for _, c := range tl.Config {
			v.Config = append(v.Config, [2]string{c.Name, c.Value})
		}
		v.Chart = newChart(*tl, fs)
		if tl.OmittedServices > 0 {
			v.Note = fmt.Sprintf("%d services did not fit in the result's timeline and are not drawn.", tl.OmittedServices)
		}
	case r.FaultStatus != nil:
		v.Note = "This result holds no timeline (a run of a version that did not record one, or one that never started its hold)."
	}
	if fs.Compacted != "" {
		v.Note = strings.TrimSpace(v.Note + " Shortened: " + fs.Compacted + ".")
	}
	return v
}

// chart is the SVG: a run lane, one row per service, one lane per probe, all on one time axis.
type chart struct {
	Height     float64
	PlotLeft   float64
	PlotWidth  float64
	Span       float64 // seconds from the axis' start to its end
	Ticks      []tick
	Window     *band // the chaos window, shaded across every row
	RunMarks   []markView
	Rows       []row
	Probes     []probeLane
	ProbesTop  float64
	GridBottom float64
	Legend     bool
}

type tick struct {
	X     float64
	T     float64
	Label string
}

type band struct{ X, W, Y, H float64 }

type markView struct {
	X, T, Y1, Y2 float64
	Kind, Title  string
	Glyph        string
}

type row struct {
	Name, Verdict           string
	Y, H                    float64
	LabelY                  float64
	Max                     int
	Original, Chaos, Failed string // SVG path data
	Pending, Other, Desired string
	Marks                   []markView
	Merged                  bool
}

type probeLane struct {
	Name, Verdict, Title string
	Y, LabelY            float64
	X, W, T, T2          float64
	Point                bool
	Edge                 bool
	X2                   float64
}

var glyphs = map[timeline.Kind]string{
	timeline.KindInject: "I", timeline.KindFirstFailure: "F", timeline.KindRollout: "r", timeline.KindBreaker: "B",
	timeline.KindAlarm: "A", timeline.KindRollback: "R", timeline.KindThirdParty: "3", timeline.KindRestore: "S",
	timeline.KindRestored: "✓", timeline.KindRestoreFail: "✗", timeline.KindDeregister: "D", timeline.KindEvent: "e",
	timeline.KindChaosStart: "▶", timeline.KindChaosEnd: "■", timeline.KindStop: "⏹", timeline.KindPreChaos: "P",
	timeline.KindPostChaos: "P",
}

// newChart lays out the chart from the top down: the time axis, the run lane, one row per service, then one lane
// per probe, with the chaos window shaded behind the run lane and the rows.
func newChart(tl timeline.Timeline, fs faultStatus) *chart {
	span := tl.End.Sub(tl.Start).Seconds()
	if span <= 0 {
		span = 1
	}
	a := axis{start: tl.Start, span: span}
	c := &chart{Span: span, Legend: true, PlotLeft: plotLeft, PlotWidth: plotWidth}
	for _, s := range niceTicks(span) {
		c.Ticks = append(c.Ticks, tick{X: round(plotLeft + s/span*plotWidth), T: s, Label: duration(s)})
	}
	y := axisHeight
	// The run lane: chaos window, stop, alarms, probe phases.
	for _, m := range tl.Marks {
		c.RunMarks = append(c.RunMarks, a.mark(m, y+2, y+laneHeight-2))
	}
	y += laneHeight
	y = c.addRows(a, tl.Services, serviceVerdicts(fs), y)
	c.Window = chaosWindow(a, tl, y)
	c.ProbesTop = y
	y = c.addProbes(a, tl.Probes, y)
	c.GridBottom = y
	c.Height = y + 4
	return c
}

// axis places the run's times on the chart, so that every lane and row uses the same scale.
type axis struct {
	start time.Time
	span  float64 // seconds, more than 0
}

// x is where t falls on the plot; times outside the run are drawn at its edges.
func (a axis) x(t time.Time) float64 {
	s := math.Max(0, math.Min(a.span, t.Sub(a.start).Seconds()))
	return round(plotLeft + s/a.span*plotWidth)
}

// sec is t in seconds after the run's start, the time the page shows and puts in its data attributes.
func (a axis) sec(t time.Time) float64 { return round(t.Sub(a.start).Seconds()) }

// mark is the view of a mark drawn from y1 down to y2, its time and text as its tooltip.
func (a axis) mark(m timeline.Mark, y1, y2 float64) markView {
	return markView{X: a.x(m.At), T: a.sec(m.At), Y1: y1, Y2: y2, Kind: string(m.Kind),
		Title: duration(a.sec(m.At)) + " " + m.Text, Glyph: glyphs[m.Kind]}
}

// serviceVerdicts is each service's verdict by name, for the dot beside its row's label.
func serviceVerdicts(fs faultStatus) map[string]string {
	verdicts := map[string]string{}
	for _, s := range fs.Services {
		verdicts[s.Service] = s.verdict(fs.Stop)
	}
	return verdicts
}

// rowHeight shrinks the rows as services are added, so that a hundred of them still fit on a page.
func rowHeight(services int) float64 {
	switch {
	case services <= 3:
		return 150
	case services > 30:
		return 30
	case services > 8:
		return 56
	}
	return 110
}

// addRows draws one row per service from y down and returns the y below the last one.
func (c *chart) addRows(a axis, services []timeline.Service, verdicts map[string]string, y float64) float64 {
	h := rowHeight(len(services))
	for _, s := range services {
		c.Rows = append(c.Rows, serviceRow(a, s, verdicts[s.Name], y, h))
		y += h
	}
	return y
}

// serviceRow is one service's row at y, h tall: its task counts as step lines scaled to its own largest count,
// and its marks.
func serviceRow(a axis, s timeline.Service, verdict string, y, h float64) row {
	r := row{Name: s.Name, Verdict: verdict, Y: y, H: h, LabelY: y + 14, Merged: s.Merged, Max: largestCount(s.Samples)}
	plot := rowPlot{axis: a, samples: s.Samples, until: lastPoll(s), top: y + 4, bottom: y + h - 4, max: r.Max}
	r.Original = plot.step(func(p timeline.Sample) int { return p.Original.Running })
	r.Chaos = plot.step(func(p timeline.Sample) int { return p.Chaos.Running })
	r.Pending = plot.step(func(p timeline.Sample) int { return p.Chaos.Pending })
	r.Failed = plot.step(func(p timeline.Sample) int { return p.Chaos.Failed })
	r.Other = plot.step(func(p timeline.Sample) int { return p.Other.Running })
	r.Desired = plot.step(func(p timeline.Sample) int { return p.Desired })
	for _, m := range s.Marks {
		r.Marks = append(r.Marks, a.mark(m, y+1, y+h-1))
	}
	return r
}

// largestCount is the top of a row's scale: the largest count of any series, at least 1.
func largestCount(samples []timeline.Sample) int {
	n := 1
	for _, p := range samples {
		n = max(n, p.Desired, p.Original.Running+p.Original.Pending, p.Chaos.Running+p.Chaos.Pending, p.Chaos.Failed, p.Other.Running+p.Other.Pending)
	}
	return n
}

// lastPoll is how far a service's last counts are drawn: its last poll, or its last sample if that is later.
func lastPoll(s timeline.Service) time.Time {
	until := s.Until
	if n := len(s.Samples); n > 0 && until.Before(s.Samples[n-1].At) {
		until = s.Samples[n-1].At
	}
	return until
}

// rowPlot draws the series of one row between top and bottom, counts from 0 to max.
type rowPlot struct {
	axis        axis
	samples     []timeline.Sample
	until       time.Time
	top, bottom float64
	max         int
}

// y is where a count falls in the row.
func (p rowPlot) y(n int) float64 {
	return round(p.bottom - float64(n)/float64(p.max)*(p.bottom-p.top))
}

// step is the SVG path of one series. A series is drawn only where it changes, and not at all when it stays at
// zero: a hundred rows of six series each must stay light enough to load at once.
func (p rowPlot) step(value func(timeline.Sample) int) string {
	if len(p.samples) == 0 {
		return ""
	}
	var b strings.Builder
	last, nonzero := value(p.samples[0]), false
	fmt.Fprintf(&b, "M%s %s", num(p.axis.x(p.samples[0].At)), num(p.y(last)))
	for _, s := range p.samples {
		v := value(s)
		nonzero = nonzero || v != 0
		if v != last {
			fmt.Fprintf(&b, "H%s V%s", num(p.axis.x(s.At)), num(p.y(v)))
			last = v
		}
	}
	if !nonzero {
		return ""
	}
	fmt.Fprintf(&b, "H%s", num(p.axis.x(p.until)))
	return b.String()
}

// chaosWindow is the band shaded behind the run lane and the rows (bottom is the last row's) from the chaos'
// start to its end, or to the run's end when the chaos did not end; nil when the chaos never started.
func chaosWindow(a axis, tl timeline.Timeline, bottom float64) *band {
	var start, end *time.Time
	for _, m := range tl.Marks {
		switch m.Kind {
		case timeline.KindChaosStart:
			start = &m.At
		case timeline.KindChaosEnd:
			end = &m.At
		}
	}
	if start == nil {
		return nil
	}
	stop := tl.End
	if end != nil {
		stop = *end
	}
	return &band{X: a.x(*start), W: math.Max(1, a.x(stop)-a.x(*start)), Y: axisHeight, H: bottom - axisHeight}
}

// addProbes draws one lane per probe from y down, a little apart from the rows, and returns the y below them.
func (c *chart) addProbes(a axis, probes []timeline.Probe, y float64) float64 {
	if len(probes) > 0 {
		y += 6
	}
	for _, p := range probes {
		c.Probes = append(c.Probes, newProbeLane(a, p, y))
		y += laneHeight
	}
	return y
}

// newProbeLane is a probe's lane at y: a bar over the span it was judged on, a point for the modes judged once,
// a point at each end for Edge.
func newProbeLane(a axis, p timeline.Probe, y float64) probeLane {
	l := probeLane{Name: p.Name, Verdict: p.Verdict, Y: y + 5, LabelY: y + 15, X: a.x(p.From), T: a.sec(p.From), T2: a.sec(p.To),
		Title: fmt.Sprintf("%s (%s, %s): %s, %s to %s", p.Name, p.Type, p.Mode, p.Verdict, duration(a.sec(p.From)), duration(a.sec(p.To)))}
	l.W = math.Max(2, a.x(p.To)-l.X)
	l.X2 = a.x(p.To)
	l.Point = p.Mode == "SOT" || p.Mode == "EOT" || p.From.Equal(p.To)
	l.Edge = p.Mode == "Edge"
	return l
}

// niceTicks returns axis ticks at a round step giving about six to ten of them.
func niceTicks(span float64) []float64 {
	steps := []float64{0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 10 {
			step = s
			break
		}
	}
	var out []float64
	for t := 0.0; t <= span+1e-9; t += step {
		out = append(out, round(t))
	}
	return out
}

func round(f float64) float64 { return math.Round(f*100) / 100 }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
