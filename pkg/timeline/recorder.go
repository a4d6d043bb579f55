package timeline

import (
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// Recorder collects a Timeline while the run goes on. Its methods are safe for concurrent use; what it keeps in
// memory is bounded per service whatever the run's length.
type Recorder struct {
	mu       sync.Mutex
	start    time.Time
	end      time.Time
	services []*series
	byName   map[string]*series
	marks    markList
	probes   []Probe
	config   []Setting
}

type series struct {
	name    string
	samples []Sample
	until   time.Time
	merged  bool
	marks   markList
}

// markList keeps the first maxMarks/2 marks and the latest maxMarks/2, counting those dropped between them.
type markList struct {
	head, tail []Mark
	omitted    int
}

func (l *markList) add(m Mark) {
	if len(l.head) < maxMarks/2 {
		l.head = append(l.head, m)
		return
	}
	l.tail = append(l.tail, m)
	if len(l.tail) > maxMarks/2 {
		l.tail = slices.Delete(l.tail, 0, 1)
		l.omitted++
	}
}

// limited returns at most limit marks in time order: the first and the last ones, and how many were left out.
func (l *markList) limited(limit int) ([]Mark, int) {
	all := append(append([]Mark(nil), l.head...), l.tail...)
	slices.SortStableFunc(all, func(a, b Mark) int { return a.At.Compare(b.At) })
	omitted := l.omitted
	if len(all) > limit {
		keepHead := limit / 2
		omitted += len(all) - limit
		all = append(all[:keepHead:keepHead], all[len(all)-(limit-keepHead):]...)
	}
	return all, omitted
}

// NewRecorder starts a timeline whose axis begins at start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, byName: map[string]*series{}}
}

func (r *Recorder) series(name string) *series {
	s, ok := r.byName[name]
	if !ok {
		s = &series{name: name}
		r.byName[name] = s
		r.services = append(r.services, s)
	}
	return s
}

func (r *Recorder) saw(t time.Time) {
	if t.After(r.end) {
		r.end = t
	}
}

// Service adds a service to the picture even before anything was observed of it, so that every target has a row.
func (r *Recorder) Service(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.series(name)
}

// Observe records one poll of a service. Only changes are kept; a poll that changes nothing only extends the last
// counts to its time.
func (r *Recorder) Observe(service string, s Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saw(s.At)
	ser := r.series(service)
	if s.At.After(ser.until) {
		ser.until = s.At
	}
	if n := len(ser.samples); n > 0 && (ser.samples[n-1].sameCounts(s) || s.At.Before(ser.samples[n-1].At)) {
		return
	}
	ser.samples = append(ser.samples, s)
	if limit := r.sampleLimit(); len(ser.samples) > limit {
		ser.samples = thin(ser.samples, limit/2)
		ser.merged = true
	}
}

// sampleLimit is how many change points a service keeps in memory: maxSamples, shared out of a total of
// maxTotalSamples when there are many services (the snapshot keeps far fewer per service then anyway), so the
// recorder's memory stays flat with the number of services (500 services: 65 each, about 3 MB in all).
func (r *Recorder) sampleLimit() int {
	return max(minMemorySamples, min(maxSamples, maxTotalSamples/max(1, len(r.services))))
}

// thin merges neighbouring samples pairwise, keeping the worst of each pair, until at most limit remain.
func thin(samples []Sample, limit int) []Sample {
	for len(samples) > limit && limit > 0 {
		out := make([]Sample, 0, (len(samples)+1)/2)
		for i := 0; i < len(samples); i += 2 {
			if i+1 < len(samples) {
				out = append(out, worst(samples[i], samples[i+1]))
			} else {
				out = append(out, samples[i])
			}
		}
		samples = out
	}
	return samples
}

// Mark records a moment of a service, or of the whole run when service is empty.
func (r *Recorder) Mark(service string, m Mark) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saw(m.At)
	if service == "" {
		r.marks.add(m)
		return
	}
	r.series(service).marks.add(m)
}

// Probe records where a probe was judged.
func (r *Recorder) Probe(p Probe) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.probes) < maxProbes {
		r.probes = append(r.probes, p)
	}
	r.saw(p.To)
}

// Config records one line of the run's configuration. It must hold no secret.
func (r *Recorder) Config(name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.config) < maxSettings {
		r.config = append(r.config, Setting{Name: name, Value: value})
	}
}

// End sets the end of the axis; without it the axis ends at the latest time recorded.
func (r *Recorder) End(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saw(t)
}

// Timeline returns what was recorded, within the in-memory bounds but not yet within MaxBytes.
func (r *Recorder) Timeline() Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.timeline(maxSamples, maxMarks)
}

func (r *Recorder) timeline(sampleLimit, markLimit int) Timeline {
	tl := Timeline{Start: r.start, End: r.end, Probes: slices.Clone(r.probes), Config: slices.Clone(r.config)}
	if tl.End.Before(tl.Start) {
		tl.End = tl.Start
	}
	tl.Marks, tl.OmittedMarks = r.marks.limited(markLimit)
	for _, s := range r.services {
		svc := Service{Name: s.name, Until: s.until, Merged: s.merged, Samples: slices.Clone(s.samples)}
		if len(svc.Samples) > sampleLimit {
			svc.Samples, svc.Merged = thin(svc.Samples, sampleLimit), true
		}
		svc.Marks, svc.OmittedMarks = s.marks.limited(markLimit)
		tl.Services = append(tl.Services, svc)
	}
	return tl
}

// Snapshot returns the timeline as plain JSON values for the ChaosResult's faultStatus, never more than MaxBytes
// of JSON: when the full picture is larger, samples are merged, then marks thinned, then texts shortened, and as
// a last resort the services that do not fit keep only their names.
func (r *Recorder) Snapshot() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	data := r.encode()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return map[string]any{"error": err.Error()}
	}
	return m
}

// lowerBound is the fewest bytes the JSON form can take with these bounds: every sample at least
// "[0,0,0,0,0,0,0,0,0]," and every mark at least {"t":0,"k":"event"}, (thinning leaves at least half the limit).
func (r *Recorder) lowerBound(samples, marks int) int {
	n := 0
	for _, s := range r.services {
		n += len(s.name) + min(len(s.samples), samples/2)*20 + min(len(s.marks.head)+len(s.marks.tail), marks)*20
	}
	return n
}

// ladder is the sequence of bounds Snapshot tries until the JSON form fits in MaxBytes.
var ladder = []struct{ samples, marks, text int }{
	{maxSamples, maxMarks, maxText}, {maxSamples, maxMarks, 48}, {maxSamples / 2, 64, 32}, {128, 48, 24},
	{64, 32, 16}, {32, 24, 0}, {16, 16, 0}, {8, 12, 0}, {minSamples, minMarks, 0},
}

func (r *Recorder) encode() []byte {
	try := func(samples, marks, text int) []byte {
		data, err := json.Marshal(r.timeline(samples, marks).toWire(text))
		if err != nil || len(data) > MaxBytes {
			return nil
		}
		return data
	}
	// Texts go first (ECS's event texts are in the services' observations too), then marks, then samples: the
	// counts are what the picture is for.
	for _, l := range ladder {
		if r.lowerBound(l.samples, l.marks) > MaxBytes {
			continue // marshalling a picture that cannot fit is the costly part of a long run's snapshot
		}
		if data := try(l.samples, l.marks, l.text); data != nil {
			return data
		}
	}
	// Too many services for even the thinnest picture of each: the first ones keep theirs while it fits, the
	// rest keep their names, then names are cut, then services are counted instead of listed. Sizes are summed
	// per service: marshalling the whole picture again for each would be quadratic.
	w := r.timeline(minSamples, minMarks).toWire(0)
	w.Marks, w.Probes, w.Config = nil, nil, nil
	sizeOf := func(v any) int { data, _ := json.Marshal(v); return len(data) }
	sizes := make([]int, len(w.Services))
	total := sizeOf(wire{Version: w.Version, Start: w.Start, End: w.End, Columns: w.Columns}) + len(`,"omittedServices":`) + 20
	for i, s := range w.Services {
		sizes[i] = sizeOf(s) + 1
		total += sizes[i]
	}
	resize := func(i int) {
		total -= sizes[i]
		sizes[i] = sizeOf(w.Services[i]) + 1
		total += sizes[i]
	}
	for i := len(w.Services) - 1; i >= 0 && total > MaxBytes; i-- {
		w.Services[i].Samples, w.Services[i].Marks = [][]float64{}, nil
		resize(i)
	}
	for i := range w.Services {
		if total <= MaxBytes {
			break
		}
		w.Services[i].Name = clip(w.Services[i].Name, minText)
		resize(i)
	}
	for len(w.Services) > 0 && total > MaxBytes {
		last := len(w.Services) - 1
		total -= sizes[last]
		w.Services = w.Services[:last]
		w.OmittedServices++
	}
	data, _ := json.Marshal(w)
	return data
}
