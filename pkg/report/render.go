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

func newChart(tl timeline.Timeline, fs faultStatus) *chart {
	span := tl.End.Sub(tl.Start).Seconds()
	if span <= 0 {
		span = 1
	}
	c := &chart{Span: span, Legend: true, PlotLeft: plotLeft, PlotWidth: plotWidth}
	x := func(t time.Time) float64 {
		s := math.Max(0, math.Min(span, t.Sub(tl.Start).Seconds()))
		return round(plotLeft + s/span*plotWidth)
	}
	sec := func(t time.Time) float64 { return round(t.Sub(tl.Start).Seconds()) }
	for _, s := range niceTicks(span) {
		c.Ticks = append(c.Ticks, tick{X: round(plotLeft + s/span*plotWidth), T: s, Label: duration(s)})
	}
	y := axisHeight
	// The run lane: chaos window, stop, alarms, probe phases.
	var start, end *time.Time
	for _, m := range tl.Marks {
		switch m.Kind {
		case timeline.KindChaosStart:
			start = &m.At
		case timeline.KindChaosEnd:
			end = &m.At
		}
		c.RunMarks = append(c.RunMarks, markView{X: x(m.At), T: sec(m.At), Y1: y + 2, Y2: y + laneHeight - 2, Kind: string(m.Kind),
			Title: duration(sec(m.At)) + " " + m.Text, Glyph: glyphs[m.Kind]})
	}
	y += laneHeight
	verdicts := map[string]string{}
	for _, s := range fs.Services {
		verdicts[s.Service] = s.verdict(fs.Stop)
	}
	rowHeight := 110.0
	switch n := len(tl.Services); {
	case n <= 3:
		rowHeight = 150
	case n > 30:
		rowHeight = 30
	case n > 8:
		rowHeight = 56
	}
	for _, s := range tl.Services {
		r := row{Name: s.Name, Verdict: verdicts[s.Name], Y: y, H: rowHeight, LabelY: y + 14, Merged: s.Merged}
		r.Max = 1
		for _, p := range s.Samples {
			r.Max = max(r.Max, p.Desired, p.Original.Running+p.Original.Pending, p.Chaos.Running+p.Chaos.Pending, p.Chaos.Failed, p.Other.Running+p.Other.Pending)
		}
		top, bottom := y+4, y+rowHeight-4
		yv := func(n int) float64 { return round(bottom - float64(n)/float64(r.Max)*(bottom-top)) }
		until := s.Until
		if n := len(s.Samples); n > 0 && until.Before(s.Samples[n-1].At) {
			until = s.Samples[n-1].At
		}
		// A series is drawn only where it changes, and not at all when it stays at zero: a hundred rows of six
		// series each must stay light enough to load at once.
		step := func(value func(timeline.Sample) int) string {
			if len(s.Samples) == 0 {
				return ""
			}
			var b strings.Builder
			last, nonzero := value(s.Samples[0]), false
			fmt.Fprintf(&b, "M%s %s", num(x(s.Samples[0].At)), num(yv(last)))
			for _, p := range s.Samples {
				v := value(p)
				nonzero = nonzero || v != 0
				if v != last {
					fmt.Fprintf(&b, "H%s V%s", num(x(p.At)), num(yv(v)))
					last = v
				}
			}
			if !nonzero {
				return ""
			}
			fmt.Fprintf(&b, "H%s", num(x(until)))
			return b.String()
		}
		r.Original = step(func(p timeline.Sample) int { return p.Original.Running })
		r.Chaos = step(func(p timeline.Sample) int { return p.Chaos.Running })
		r.Pending = step(func(p timeline.Sample) int { return p.Chaos.Pending })
		r.Failed = step(func(p timeline.Sample) int { return p.Chaos.Failed })
		r.Other = step(func(p timeline.Sample) int { return p.Other.Running })
		r.Desired = step(func(p timeline.Sample) int { return p.Desired })
		for _, m := range s.Marks {
			r.Marks = append(r.Marks, markView{X: x(m.At), T: sec(m.At), Y1: y + 1, Y2: y + rowHeight - 1, Kind: string(m.Kind),
				Title: duration(sec(m.At)) + " " + m.Text, Glyph: glyphs[m.Kind]})
		}
		c.Rows = append(c.Rows, r)
		y += rowHeight
	}
	if start != nil {
		stop := tl.End
		if end != nil {
			stop = *end
		}
		c.Window = &band{X: x(*start), W: math.Max(1, x(stop)-x(*start)), Y: axisHeight, H: y - axisHeight}
	}
	c.ProbesTop = y
	if len(tl.Probes) > 0 {
		y += 6
	}
	for _, p := range tl.Probes {
		l := probeLane{Name: p.Name, Verdict: p.Verdict, Y: y + 5, LabelY: y + 15, X: x(p.From), T: sec(p.From), T2: sec(p.To),
			Title: fmt.Sprintf("%s (%s, %s): %s, %s to %s", p.Name, p.Type, p.Mode, p.Verdict, duration(sec(p.From)), duration(sec(p.To)))}
		l.W = math.Max(2, x(p.To)-l.X)
		l.X2 = x(p.To)
		l.Point = p.Mode == "SOT" || p.Mode == "EOT" || p.From.Equal(p.To)
		l.Edge = p.Mode == "Edge"
		c.Probes = append(c.Probes, l)
		y += laneHeight
	}
	c.GridBottom = y
	c.Height = y + 4
	return c
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
