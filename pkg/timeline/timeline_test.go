package timeline

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func sample(at float64, desired, origRunning, chaosPending, chaosFailed int) Sample {
	return Sample{At: sec(at), Desired: desired, Original: Tasks{Running: origRunning}, Chaos: Tasks{Pending: chaosPending, Failed: chaosFailed}}
}

func roundTrip(t *testing.T, r *Recorder) (Timeline, int) {
	t.Helper()
	snap := r.Snapshot()
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}
	tl, found, err := Decode(generic)
	if err != nil || !found {
		t.Fatalf("Decode: found %v, %v", found, err)
	}
	return tl, len(data)
}

func TestSnapshotRoundTripsWhatWasRecorded(t *testing.T) {
	r := NewRecorder(t0)
	r.Service("idle")
	r.Observe("web", sample(1, 3, 3, 0, 0))
	r.Observe("web", sample(3, 3, 3, 0, 0)) // no change: extends the last counts only
	r.Observe("web", sample(5, 3, 3, 1, 0))
	r.Observe("web", sample(7.04, 3, 3, 1, 1))
	r.Mark("web", Mark{At: sec(2), Kind: KindInject, Text: "web:2"})
	r.Mark("web", Mark{At: sec(1.5), Kind: KindEvent, Text: strings.Repeat("x", 400)}) // out of order, long
	r.Mark("", Mark{At: sec(2), Kind: KindChaosStart})
	r.Probe(Probe{Name: "health", Type: "httpProbe", Mode: "Continuous", Verdict: "Passed", From: sec(0.5), To: sec(9)})
	r.Config("CLUSTER_NAME", "prod")
	r.End(sec(10))

	tl, _ := roundTrip(t, r)
	if !tl.Start.Equal(t0) || !tl.End.Equal(sec(10)) {
		t.Errorf("axis %v..%v, want %v..%v", tl.Start, tl.End, t0, sec(10))
	}
	if len(tl.Services) != 2 || tl.Services[0].Name != "idle" || tl.Services[1].Name != "web" {
		t.Fatalf("services = %+v, want idle then web", tl.Services)
	}
	web := tl.Services[1]
	want := []Sample{sample(1, 3, 3, 0, 0), sample(5, 3, 3, 1, 0), sample(7, 3, 3, 1, 1)}
	if len(web.Samples) != len(want) {
		t.Fatalf("samples = %+v, want %+v", web.Samples, want)
	}
	for i := range want {
		if !web.Samples[i].At.Equal(want[i].At) || !web.Samples[i].sameCounts(want[i]) {
			t.Errorf("sample %d = %+v, want %+v", i, web.Samples[i], want[i])
		}
	}
	if !web.Until.Equal(sec(7)) {
		t.Errorf("until = %v, want the last poll %v", web.Until, sec(7))
	}
	if len(web.Marks) != 2 || web.Marks[0].Kind != KindEvent || web.Marks[1].Kind != KindInject {
		t.Fatalf("marks = %+v, want the event then the inject (time order)", web.Marks)
	}
	if n := len([]rune(web.Marks[0].Text)); n != maxText {
		t.Errorf("long mark text kept %d characters, want %d", n, maxText)
	}
	if len(tl.Marks) != 1 || tl.Marks[0].Kind != KindChaosStart || len(tl.Probes) != 1 || !tl.Probes[0].To.Equal(sec(9)) {
		t.Errorf("run marks %+v, probes %+v", tl.Marks, tl.Probes)
	}
	if len(tl.Config) != 1 || tl.Config[0] != (Setting{"CLUSTER_NAME", "prod"}) {
		t.Errorf("config = %+v", tl.Config)
	}
}

func TestDecodeRejectsAnotherVersion(t *testing.T) {
	_, found, err := Decode(map[string]any{"version": 2.0})
	if !found || err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Decode of version 2: found %v, err %v; want an error naming the version", found, err)
	}
	if _, found, err := Decode(nil); found || err != nil {
		t.Fatalf("Decode(nil) = %v, %v; want not found", found, err)
	}
}

func TestThinningKeepsTheWorst(t *testing.T) {
	tests := []struct {
		name  string
		in    []Sample
		limit int
		want  []Sample
	}{
		{"fits", []Sample{sample(0, 3, 3, 0, 0), sample(1, 3, 2, 1, 0)}, 2, []Sample{sample(0, 3, 3, 0, 0), sample(1, 3, 2, 1, 0)}},
		{"pair keeps the dip and the failures", []Sample{sample(0, 3, 3, 0, 0), sample(1, 3, 1, 2, 4), sample(2, 3, 3, 0, 4)}, 2,
			[]Sample{sample(0, 3, 1, 2, 4), sample(2, 3, 3, 0, 4)}},
		{"twice", []Sample{sample(0, 3, 3, 0, 0), sample(1, 3, 2, 0, 0), sample(2, 3, 3, 1, 0), sample(3, 3, 0, 0, 1), sample(4, 3, 3, 0, 0)}, 2,
			[]Sample{sample(0, 3, 0, 1, 1), sample(4, 3, 3, 0, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := thin(tc.in, tc.limit)
			if len(got) != len(tc.want) {
				t.Fatalf("thin = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if !got[i].At.Equal(tc.want[i].At) || !got[i].sameCounts(tc.want[i]) {
					t.Errorf("sample %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestMarksBeyondTheBoundKeepFirstAndLast(t *testing.T) {
	r := NewRecorder(t0)
	for i := range 1000 {
		r.Mark("web", Mark{At: sec(float64(i)), Kind: KindInject, Text: fmt.Sprint(i)})
	}
	tl := r.Timeline()
	web := tl.Services[0]
	if len(web.Marks) != maxMarks || web.OmittedMarks != 1000-maxMarks {
		t.Fatalf("%d marks, %d omitted; want %d and %d", len(web.Marks), web.OmittedMarks, maxMarks, 1000-maxMarks)
	}
	if web.Marks[0].Text != "0" || web.Marks[maxMarks/2-1].Text != fmt.Sprint(maxMarks/2-1) || web.Marks[maxMarks-1].Text != "999" {
		t.Errorf("kept marks %s..%s..%s, want the first %d and the last %d", web.Marks[0].Text, web.Marks[maxMarks/2].Text, web.Marks[maxMarks-1].Text, maxMarks/2, maxMarks/2)
	}
}

// The bound this package promises: a 24-hour run of 500 services, polled every 2 minutes with counts that change at
// every poll and a cycle of marks every 20 minutes, stays within MaxBytes, and each service keeps a picture.
func TestTwentyFourHoursOfFiveHundredServicesStayWithinMaxBytes(t *testing.T) {
	const services, poll, day = 500, 120.0, 24 * 3600.0
	r := NewRecorder(t0)
	name := func(i int) string {
		return fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:service/production-cluster/checkout-api-%03d", i)
	}
	for at := 0.0; at < day; at += poll {
		cycle := int(at) / 600
		for i := range services {
			s := Sample{At: sec(at), Desired: 20, Original: Tasks{Running: 20 - int(at/poll)%3}, Chaos: Tasks{Pending: int(at/poll) % 5, Failed: cycle % 7}}
			if i == 7 && at == 12*3600 {
				s.Original.Running = 0 // one dip in the middle of the day: thinning must keep it
			}
			r.Observe(name(i), s)
			if int(at)%1200 == 0 {
				for _, k := range []Kind{KindInject, KindFirstFailure, KindEvent, KindRestore, KindRestored} {
					r.Mark(name(i), Mark{At: sec(at), Kind: k, Text: "(service checkout-api) has started 1 tasks: (task 0123456789abcdef)."})
				}
			}
		}
	}
	for i := range 20 {
		r.Probe(Probe{Name: fmt.Sprintf("probe-%d", i), Mode: "Continuous", Verdict: "Passed", From: t0, To: sec(day)})
		r.Config(fmt.Sprintf("SETTING_%d", i), strings.Repeat("v", 100))
	}
	r.End(sec(day))
	tl, size := roundTrip(t, r)
	t.Logf("24 h, %d services: %d bytes of JSON (bound %d, apiserver limit %d)", services, size, MaxBytes, 3<<19)
	if size > MaxBytes {
		t.Fatalf("snapshot is %d bytes, over MaxBytes %d", size, MaxBytes)
	}
	if len(tl.Services) != services || tl.OmittedServices != 0 {
		t.Fatalf("%d services kept, %d omitted; want all %d", len(tl.Services), tl.OmittedServices, services)
	}
	for _, s := range tl.Services {
		if len(s.Samples) < 2 || !s.Merged || len(s.Marks) < minMarks || s.OmittedMarks == 0 {
			t.Fatalf("service %s: %d samples (merged %v), %d marks (%d omitted); want a thinned but present picture",
				s.Name, len(s.Samples), s.Merged, len(s.Marks), s.OmittedMarks)
		}
	}
	lowest := 20
	for _, s := range tl.Services[7].Samples {
		lowest = min(lowest, s.Original.Running)
	}
	if lowest != 0 {
		t.Errorf("service 7's dip to 0 running was smoothed away (lowest %d)", lowest)
	}
}

// Far more services than any picture of each can hold: still within MaxBytes, and the result says how many
// services it left out.
func TestThousandsOfServicesStayWithinMaxBytes(t *testing.T) {
	r := NewRecorder(t0)
	for i := range 8000 {
		name := fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:service/cluster/%s-%d", strings.Repeat("s", 200), i)
		r.Observe(name, sample(1, 3, 3, 0, 0))
		r.Observe(name, sample(2, 3, 2, 1, 0))
		r.Mark(name, Mark{At: sec(1), Kind: KindInject})
	}
	tl, size := roundTrip(t, r)
	if size > MaxBytes || tl.OmittedServices == 0 || len(tl.Services)+tl.OmittedServices != 8000 {
		t.Fatalf("%d bytes, %d services kept, %d omitted; want at most %d bytes and every service kept or counted", size, len(tl.Services), tl.OmittedServices, MaxBytes)
	}
}
