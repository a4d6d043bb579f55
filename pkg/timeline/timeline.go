// Package timeline keeps a compact picture of one run over time: per service, the task counts of the original,
// chaos and other revisions at each poll, and the moments that matter (inject, first failure, rollout changes,
// rollback, restore, deregistration, ECS service events); for the run, when the chaos started and ended, alarms
// that fired and where each probe was judged. It is fed from what the fault already reports (no ECS call of its
// own) and goes into the ChaosResult's status.faultStatus, from where `experiment report` draws it.
//
// The picture is bounded: its JSON form never exceeds MaxBytes, whatever the run's length and number of services,
// so that it can never push the ChaosResult over the apiserver's object size limit (1.5 MiB by default). Counts
// are kept only when they change; when a service has more changes than fit, neighbouring points merge into one
// that keeps the bucket's worst (fewest original tasks running, most chaos tasks pending, running or failed), so a
// dip or a failure is never smoothed away; marks beyond the bound keep the first and the last ones and say how many
// were left out between them.
package timeline

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Version is the version of the JSON form; Decode rejects others.
const Version = 1

// MaxBytes bounds the JSON form of a Timeline, Snapshot's output.
const MaxBytes = 256 << 10

// Bounds of what is kept per service and per run before Snapshot's byte budget applies.
const (
	maxSamples = 512 // change points per service, in memory and in the snapshot
	// maxTotalSamples bounds the change points kept in memory over all services; each keeps at least
	// minMemorySamples.
	maxTotalSamples  = 32768
	minMemorySamples = 32
	minSamples       = 4  // the budget never thins a service below this
	maxMarks         = 96 // marks per service (and for the run): the first half and the last half are kept
	minMarks         = 8
	maxProbes        = 100
	maxSettings      = 40
	maxText          = 160 // characters of a mark's text, a setting's value
	minText          = 24
	resolution       = 0.1 // seconds: times in the JSON form are rounded to this
)

// Tasks counts the tasks of one role at a poll.
type Tasks struct {
	Running int `json:"running"`
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}

// Sample is what one poll saw of a service: from At on, these were its task counts.
type Sample struct {
	At      time.Time
	Desired int
	// Original counts the original revision's tasks; Chaos those of this run's chaos revisions (Failed is the
	// chaos deployment's failed task count); Other those of a revision someone else deployed.
	Original, Chaos, Other Tasks
}

func (s Sample) sameCounts(o Sample) bool {
	return s.Desired == o.Desired && s.Original == o.Original && s.Chaos == o.Chaos && s.Other == o.Other
}

// worst merges two neighbouring samples into one that keeps what matters of both: the earlier time, the fewest
// original tasks running and the most of everything else.
func worst(a, b Sample) Sample {
	return Sample{
		At:       a.At,
		Desired:  max(a.Desired, b.Desired),
		Original: Tasks{Running: min(a.Original.Running, b.Original.Running), Pending: max(a.Original.Pending, b.Original.Pending), Failed: max(a.Original.Failed, b.Original.Failed)},
		Chaos:    Tasks{Running: max(a.Chaos.Running, b.Chaos.Running), Pending: max(a.Chaos.Pending, b.Chaos.Pending), Failed: max(a.Chaos.Failed, b.Chaos.Failed)},
		Other:    Tasks{Running: max(a.Other.Running, b.Other.Running), Pending: max(a.Other.Pending, b.Other.Pending), Failed: max(a.Other.Failed, b.Other.Failed)},
	}
}

// Kind names what a mark shows.
type Kind string

// Kinds of marks. Service marks: the fault's own steps and what ECS did; run marks: the chaos window, a stop,
// alarms and the probe phases.
const (
	KindInject       Kind = "inject"        // the service points at a chaos revision
	KindFirstFailure Kind = "first-failure" // the first chaos task stopped (the pull error)
	KindRollout      Kind = "rollout"       // a deployment's rolloutState changed
	KindBreaker      Kind = "breaker"       // the deployment circuit breaker failed the chaos deployment
	KindAlarm        Kind = "alarm"         // a CloudWatch alarm: ECS's deployment alarms, or one of EXPECT_ALARMS in ALARM
	KindRollback     Kind = "rollback"      // ECS rolled the service back by itself
	KindThirdParty   Kind = "third-party"   // someone else deployed another revision
	KindRestore      Kind = "restore"       // the fault's restore acted
	KindRestored     Kind = "restored"      // the restore deployment completed: the service is whole again
	KindRestoreFail  Kind = "restore-failed"
	KindDeregister   Kind = "deregister" // the chaos revision is deregistered
	KindEvent        Kind = "event"      // a notable ECS service event
	KindChaosStart   Kind = "chaos-start"
	KindChaosEnd     Kind = "chaos-end"
	KindStop         Kind = "stop"
	KindPreChaos     Kind = "pre-chaos"  // the pre-chaos probes ran
	KindPostChaos    Kind = "post-chaos" // the post-chaos probes ran
)

// Mark is a moment of the run.
type Mark struct {
	At   time.Time
	Kind Kind
	Text string
}

// Probe is where a probe (or a built-in expectation) was judged on the run's time axis: a point for the
// start-of-test and end-of-test modes, a span for the others.
type Probe struct {
	Name, Type, Mode, Verdict string
	From, To                  time.Time
}

// Setting is one line of the run's configuration.
type Setting struct {
	Name, Value string
}

// Service is one service's part of the picture.
type Service struct {
	Name    string
	Samples []Sample
	// Until is the last poll: the last sample's counts held until then.
	Until time.Time
	Marks []Mark
	// OmittedMarks were left out between the first and the last ones kept.
	OmittedMarks int
	// Merged is true when neighbouring samples were merged to fit the bounds.
	Merged bool
}

// Timeline is the run's whole picture.
type Timeline struct {
	Start, End   time.Time
	Services     []Service
	Marks        []Mark
	OmittedMarks int
	// OmittedServices is how many services did not fit in MaxBytes at all.
	OmittedServices int
	Probes          []Probe
	Config          []Setting
}

// The JSON form: times are seconds after start, samples are arrays in the order of columns.
var columns = []string{"t", "desired", "originalRunning", "originalPending", "chaosRunning", "chaosPending", "chaosFailed", "otherRunning", "otherPending"}

type wire struct {
	Version  int           `json:"version"`
	Start    time.Time     `json:"start"`
	End      float64       `json:"end"`
	Columns  []string      `json:"columns"`
	Services []wireService `json:"services"`
	Marks    []wireMark    `json:"marks,omitempty"`
	Omitted  int           `json:"omittedMarks,omitempty"`
	// OmittedServices did not fit in MaxBytes at all (thousands of services).
	OmittedServices int         `json:"omittedServices,omitempty"`
	Probes          []wireProbe `json:"probes,omitempty"`
	Config          [][2]string `json:"config,omitempty"`
}

type wireService struct {
	Name    string      `json:"name"`
	Until   float64     `json:"until"`
	Samples [][]float64 `json:"samples"`
	Marks   []wireMark  `json:"marks,omitempty"`
	Omitted int         `json:"omittedMarks,omitempty"`
	Merged  bool        `json:"merged,omitempty"`
}

type wireMark struct {
	T    float64 `json:"t"`
	Kind Kind    `json:"k"`
	Text string  `json:"x,omitempty"`
}

type wireProbe struct {
	Name    string  `json:"name"`
	Type    string  `json:"type,omitempty"`
	Mode    string  `json:"mode,omitempty"`
	Verdict string  `json:"verdict"`
	From    float64 `json:"from"`
	To      float64 `json:"to"`
}

func offset(start, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return math.Round(t.Sub(start).Seconds()/resolution) * resolution
}

func at(start time.Time, s float64) time.Time {
	return start.Add(time.Duration(math.Round(s * float64(time.Second))))
}

func (tl Timeline) toWire(textLimit int) wire {
	w := wire{Version: Version, Start: tl.Start.UTC(), End: offset(tl.Start, tl.End), Columns: columns, Omitted: tl.OmittedMarks, OmittedServices: tl.OmittedServices}
	marks := func(ms []Mark) []wireMark {
		out := make([]wireMark, 0, len(ms))
		for _, m := range ms {
			out = append(out, wireMark{T: offset(tl.Start, m.At), Kind: m.Kind, Text: clip(m.Text, textLimit)})
		}
		return out
	}
	w.Services = make([]wireService, 0, len(tl.Services))
	for _, s := range tl.Services {
		ws := wireService{Name: s.Name, Until: offset(tl.Start, s.Until), Marks: marks(s.Marks), Omitted: s.OmittedMarks, Merged: s.Merged,
			Samples: make([][]float64, 0, len(s.Samples))}
		for _, p := range s.Samples {
			ws.Samples = append(ws.Samples, []float64{offset(tl.Start, p.At), float64(p.Desired),
				float64(p.Original.Running), float64(p.Original.Pending),
				float64(p.Chaos.Running), float64(p.Chaos.Pending), float64(p.Chaos.Failed),
				float64(p.Other.Running), float64(p.Other.Pending)})
		}
		w.Services = append(w.Services, ws)
	}
	w.Marks = marks(tl.Marks)
	for _, p := range tl.Probes {
		w.Probes = append(w.Probes, wireProbe{Name: clip(p.Name, textLimit), Type: p.Type, Mode: p.Mode, Verdict: p.Verdict,
			From: offset(tl.Start, p.From), To: offset(tl.Start, p.To)})
	}
	for _, c := range tl.Config {
		w.Config = append(w.Config, [2]string{c.Name, clip(c.Value, textLimit)})
	}
	return w
}

// MarshalJSON writes the compact JSON form.
func (tl Timeline) MarshalJSON() ([]byte, error) { return json.Marshal(tl.toWire(maxText)) }

// UnmarshalJSON reads the compact JSON form.
func (tl *Timeline) UnmarshalJSON(data []byte) error {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	if w.Version != Version {
		return fmt.Errorf("timeline: version %d, this build reads version %d", w.Version, Version)
	}
	index := map[string]int{}
	for i, c := range w.Columns {
		index[c] = i
	}
	col := func(row []float64, name string) int {
		if i, ok := index[name]; ok && i < len(row) {
			return int(row[i])
		}
		return 0
	}
	marks := func(ws []wireMark) []Mark {
		var out []Mark
		for _, m := range ws {
			out = append(out, Mark{At: at(w.Start, m.T), Kind: m.Kind, Text: m.Text})
		}
		return out
	}
	out := Timeline{Start: w.Start, End: at(w.Start, w.End), Marks: marks(w.Marks), OmittedMarks: w.Omitted, OmittedServices: w.OmittedServices}
	for _, ws := range w.Services {
		s := Service{Name: ws.Name, Until: at(w.Start, ws.Until), Marks: marks(ws.Marks), OmittedMarks: ws.Omitted, Merged: ws.Merged}
		for _, row := range ws.Samples {
			if len(row) == 0 {
				continue
			}
			s.Samples = append(s.Samples, Sample{
				At: at(w.Start, row[index["t"]]), Desired: col(row, "desired"),
				Original: Tasks{Running: col(row, "originalRunning"), Pending: col(row, "originalPending")},
				Chaos:    Tasks{Running: col(row, "chaosRunning"), Pending: col(row, "chaosPending"), Failed: col(row, "chaosFailed")},
				Other:    Tasks{Running: col(row, "otherRunning"), Pending: col(row, "otherPending")},
			})
		}
		out.Services = append(out.Services, s)
	}
	for _, p := range w.Probes {
		out.Probes = append(out.Probes, Probe{Name: p.Name, Type: p.Type, Mode: p.Mode, Verdict: p.Verdict, From: at(w.Start, p.From), To: at(w.Start, p.To)})
	}
	for _, c := range w.Config {
		out.Config = append(out.Config, Setting{Name: c[0], Value: c[1]})
	}
	*tl = out
	return nil
}

// Decode reads a timeline from its place in a ChaosResult's faultStatus (the value Snapshot returned, after a
// round trip through JSON or YAML). found is false when there is none.
func Decode(v any) (tl Timeline, found bool, err error) {
	if v == nil {
		return Timeline{}, false, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Timeline{}, true, fmt.Errorf("timeline: %w", err)
	}
	if err := json.Unmarshal(data, &tl); err != nil {
		return Timeline{}, true, err
	}
	return tl, true, nil
}

func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
