package probe

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// speed is how much faster than the wall clock the probes' timers run in these tests.
const speed = 20

// recorder is a real HTTP server that records when each path was hit and answers 503 while failing is set.
type recorder struct {
	*httptest.Server
	failing atomic.Bool
	mu      sync.Mutex
	hits    map[string][]time.Time
}

func newRecorder(t *testing.T, tls bool) *recorder {
	r := &recorder{hits: map[string][]time.Time{}}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits[req.URL.Path] = append(r.hits[req.URL.Path], time.Now())
		r.mu.Unlock()
		if r.failing.Load() {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ready")
	})
	r.Server = startServer(handler, tls)
	t.Cleanup(r.Close)
	return r
}

// startServer starts a loopback server; TLS handshake errors (expected when a probe distrusts the
// certificate) are not logged.
func startServer(handler http.Handler, tls bool) *httptest.Server {
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	return srv
}

func (r *recorder) times(path string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.hits[path]...)
}

// httpProbe returns a probe definition that GETs base+"/"+name and expects 200.
func httpProbe(t *testing.T, name, mode, base string, extra string) Definition {
	t.Helper()
	run := `"probeTimeout": "10s", "interval": "1s", "probePollingInterval": "1s"` + extra
	defs, err := Parse([]byte(fmt.Sprintf(`[{"name": %q, "type": "httpProbe", "mode": %q,
		"httpProbe/inputs": {"url": %q, "insecureSkipVerify": true, "method": {"get": {"criteria": "==", "responseCode": "200"}}},
		"runProperties": {%s}}]`, name, mode, base+"/"+name, run)))
	if err != nil {
		t.Fatal(err)
	}
	return defs[0]
}

// ramp separates the phases (500ms of real time), long enough for a loop that ignored a stop to be seen.
const ramp = 10 * time.Second

// phases drives a runner through one run: a ramp before and after a chaos window, recording when each
// phase began and ended.
type phases struct {
	preStart, preEnd, chaosStart, chaosEnd, postStart, postEnd time.Time
}

func runPhases(ctx context.Context, t *testing.T, r *Runner, c clock.Clock, window time.Duration, duringChaos func()) phases {
	t.Helper()
	var p phases
	p.preStart = time.Now()
	r.PreChaos(ctx)
	p.preEnd = time.Now()
	clock.Sleep(c, ramp, ctx.Done())
	p.chaosStart = time.Now()
	r.ChaosStarted(ctx)
	if duringChaos != nil {
		duringChaos()
	}
	clock.Sleep(c, window, ctx.Done())
	r.ChaosEnded(ctx)
	p.chaosEnd = time.Now()
	clock.Sleep(c, ramp, ctx.Done())
	p.postStart = time.Now()
	r.PostChaos(ctx)
	p.postEnd = time.Now()
	return p
}

func within(ts []time.Time, from, to time.Time) bool {
	for _, t := range ts {
		if t.Before(from) || t.After(to) {
			return false
		}
	}
	return true
}

func countBetween(ts []time.Time, from, to time.Time) int {
	n := 0
	for _, t := range ts {
		if !t.Before(from) && !t.After(to) {
			n++
		}
	}
	return n
}

func TestModesRunAtTheirMoments(t *testing.T) {
	ctx := t.Context()
	srv := newRecorder(t, false)
	c := clock.NewScaled(speed)
	defs := []Definition{
		httpProbe(t, "sot", ModeSOT, srv.URL, ""),
		httpProbe(t, "eot", ModeEOT, srv.URL, ""),
		httpProbe(t, "edge", ModeEdge, srv.URL, ""),
		httpProbe(t, "continuous", ModeContinuous, srv.URL, ""),
		httpProbe(t, "onchaos", ModeOnChaos, srv.URL, ""),
	}
	r := NewRunner(defs, Deps{Clock: c})
	p := runPhases(ctx, t, r, c, 10*time.Second, nil)

	// A request that started just before a phase boundary is recorded by the server a moment later, more
	// so on a loaded machine; the slack stays well below the ramp, in which a loop polls ten times.
	const slack = 150 * time.Millisecond
	sot, eot, edge := srv.times("/sot"), srv.times("/eot"), srv.times("/edge")
	if len(sot) != 1 || !within(sot, p.preStart, p.preEnd) {
		t.Errorf("SOT hits %v, want one during PreChaos %v..%v", sot, p.preStart, p.preEnd)
	}
	if len(eot) != 1 || !within(eot, p.postStart, p.postEnd) {
		t.Errorf("EOT hits %v, want one during PostChaos", eot)
	}
	if len(edge) != 2 || countBetween(edge, p.preStart, p.preEnd) != 1 || countBetween(edge, p.postStart, p.postEnd) != 1 {
		t.Errorf("Edge hits %v, want one in PreChaos and one in PostChaos", edge)
	}
	cont := srv.times("/continuous")
	if countBetween(cont, p.preStart, p.chaosStart) == 0 || countBetween(cont, p.chaosStart, p.chaosEnd) == 0 ||
		countBetween(cont, p.chaosEnd, p.postStart) == 0 || !within(cont, p.preStart, p.postStart.Add(slack)) {
		t.Errorf("Continuous hits %v: want hits before, during and after the chaos, none after PostChaos began", cont)
	}
	on := srv.times("/onchaos")
	if len(on) < 2 || !within(on, p.chaosStart, p.chaosEnd.Add(slack)) {
		t.Errorf("OnChaos hits %v: want several, only between ChaosStarted (%v) and ChaosEnded (%v)", on, p.chaosStart, p.chaosEnd)
	}
	for _, res := range r.Results() {
		if res.Verdict != Passed {
			t.Errorf("%s: %s (%s), want Passed", res.Name, res.Verdict, res.Description)
		}
	}
	if got := r.SuccessPercentage(); got != 100 {
		t.Errorf("SuccessPercentage = %d, want 100", got)
	}
}

func TestLoopProbesCatchAnOutageThatSOTAndEOTMiss(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			ctx := t.Context()
			srv := newRecorder(t, tls)
			c := clock.NewScaled(speed)
			defs := []Definition{
				httpProbe(t, "sot", ModeSOT, srv.URL, ""),
				httpProbe(t, "eot", ModeEOT, srv.URL, ""),
				httpProbe(t, "edge", ModeEdge, srv.URL, ""),
				httpProbe(t, "continuous", ModeContinuous, srv.URL, ""),
				httpProbe(t, "onchaos", ModeOnChaos, srv.URL, ""),
			}
			r := NewRunner(defs, Deps{Clock: c})
			runPhases(ctx, t, r, c, 10*time.Second, func() {
				clock.Sleep(c, 3*time.Second, ctx.Done())
				srv.failing.Store(true)
				clock.Sleep(c, 4*time.Second, ctx.Done())
				srv.failing.Store(false)
			})
			want := map[string]Verdict{"sot": Passed, "eot": Passed, "edge": Passed, "continuous": Failed, "onchaos": Failed}
			for _, res := range r.Results() {
				if res.Verdict != want[res.Name] {
					t.Errorf("%s: %s (%s), want %s", res.Name, res.Verdict, res.Description, want[res.Name])
				}
				if res.Verdict == Failed && !strings.Contains(res.Description, "503") {
					t.Errorf("%s: description %q does not say what was seen", res.Name, res.Description)
				}
			}
			if got := r.SuccessPercentage(); got != 60 {
				t.Errorf("SuccessPercentage = %d, want 60", got)
			}
			select {
			case <-r.StopRequested():
				t.Error("stop requested although no probe has stopOnFailure")
			default:
			}
		})
	}
}

func TestStopOnFailureRequestsStop(t *testing.T) {
	ctx := t.Context()
	srv := newRecorder(t, false)
	c := clock.NewScaled(speed)
	defs := []Definition{
		httpProbe(t, "guard", ModeOnChaos, srv.URL, `, "stopOnFailure": true`),
		httpProbe(t, "eot", ModeEOT, srv.URL, ""),
	}
	r := NewRunner(defs, Deps{Clock: c})
	r.PreChaos(ctx)
	r.ChaosStarted(ctx)
	srv.failing.Store(true)
	started := time.Now()
	select {
	case <-r.StopRequested():
	case <-time.After(5 * time.Second):
		t.Fatal("StopRequested not closed after the stopOnFailure probe failed")
	}
	if waited := time.Since(started); waited > 2*time.Second {
		t.Errorf("stop took %v", waited)
	}
	// The caller restores, then finishes the run.
	srv.failing.Store(false)
	r.ChaosEnded(ctx)
	r.PostChaos(ctx)
	res := r.Results()
	if res[0].Verdict != Failed || !strings.Contains(res[0].Description, "503") {
		t.Fatalf("guard = %+v, want Failed with the 503", res[0])
	}
	if res[1].Verdict != Passed {
		t.Fatalf("eot = %+v, want Passed", res[1])
	}
	if got := r.SuccessPercentage(); got != 50 {
		t.Fatalf("SuccessPercentage = %d, want 50", got)
	}
}

func TestSOTStopOnFailureStopsBeforeChaos(t *testing.T) {
	ctx := t.Context()
	srv := newRecorder(t, false)
	srv.failing.Store(true)
	c := clock.NewScaled(speed)
	defs := []Definition{
		httpProbe(t, "first", ModeSOT, srv.URL, `, "stopOnFailure": true`),
		httpProbe(t, "second", ModeSOT, srv.URL, ""),
	}
	r := NewRunner(defs, Deps{Clock: c})
	r.PreChaos(ctx)
	select {
	case <-r.StopRequested():
	default:
		t.Fatal("StopRequested not closed after PreChaos")
	}
	if hits := srv.times("/second"); len(hits) != 0 {
		t.Fatalf("second SOT probe ran after the stop: %v", hits)
	}
	r.PostChaos(ctx)
	res := r.Results()
	if res[0].Verdict != Failed || res[1].Verdict != NA || res[1].Description != descNotEvaluated {
		t.Fatalf("results = %+v", res)
	}
}

func TestAttemptsRetryWithInterval(t *testing.T) {
	ctx := t.Context()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	c := clock.NewScaled(speed)
	pass := httpProbe(t, "eventually", ModeSOT, srv.URL, `, "attempt": 3`)
	r := NewRunner([]Definition{pass}, Deps{Clock: c})
	started := time.Now()
	r.PreChaos(ctx)
	if res := r.Results()[0]; res.Verdict != Passed {
		t.Fatalf("result = %+v, want Passed on the third attempt", res)
	}
	// Two intervals of 1s on the scaled clock separate the three attempts.
	if elapsed := time.Since(started); elapsed < 2*time.Second/speed {
		t.Fatalf("attempts not spaced by interval: %v", elapsed)
	}

	calls.Store(-100)
	fail := httpProbe(t, "never", ModeSOT, srv.URL, `, "retry": 2`)
	r = NewRunner([]Definition{fail}, Deps{Clock: c})
	r.PreChaos(ctx)
	if res := r.Results()[0]; res.Verdict != Failed || !strings.Contains(res.Description, "attempt 2 of 2") {
		t.Fatalf("result = %+v, want Failed after 2 attempts", res)
	}
}

func TestProbeTimeoutBoundsAnAttempt(t *testing.T) {
	ctx := t.Context()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	c := clock.NewScaled(speed)
	defs, err := Parse([]byte(`[{"name": "slow", "type": "httpProbe", "mode": "SOT",
		"httpProbe/inputs": {"url": "` + srv.URL + `", "method": {"get": {"criteria": "==", "responseCode": "200"}}},
		"runProperties": {"probeTimeout": "4s", "interval": "1s"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(defs, Deps{Clock: c})
	started := time.Now()
	r.PreChaos(ctx)
	elapsed := time.Since(started)
	res := r.Results()[0]
	if res.Verdict != Failed || !strings.Contains(res.Description, "probeTimeout of 4s elapsed") {
		t.Fatalf("result = %+v", res)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("probeTimeout of 4s at x%d took %v", speed, elapsed)
	}
}

func TestLoopStoppedBeforeItsFirstEvaluationFails(t *testing.T) {
	ctx := t.Context()
	srv := newRecorder(t, false)
	c := clock.NewScaled(speed)
	late := httpProbe(t, "late", ModeOnChaos, srv.URL, `, "initialDelay": "1h"`)
	r := NewRunner([]Definition{late}, Deps{Clock: c})
	r.PreChaos(ctx)
	r.ChaosStarted(ctx)
	r.ChaosEnded(ctx)
	r.PostChaos(ctx)
	res := r.Results()[0]
	if res.Verdict != Failed || !strings.Contains(res.Description, "no evaluation completed") {
		t.Fatalf("result = %+v, want Failed: a probe that never ran never passes", res)
	}
}

func TestPostChaosInterruptedByContextEndsLoops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	}))
	t.Cleanup(srv.Close)
	c := clock.NewScaled(speed)
	defs, err := Parse([]byte(`[{"name": "hang", "type": "httpProbe", "mode": "Continuous",
		"httpProbe/inputs": {"url": "` + srv.URL + `", "method": {"get": {"criteria": "==", "responseCode": "200"}}},
		"runProperties": {"probeTimeout": "1h", "interval": "1s"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(defs, Deps{Clock: c})
	ctx, cancel := context.WithCancel(context.Background())
	r.PreChaos(ctx)
	r.ChaosStarted(ctx)
	done := make(chan struct{})
	go func() {
		r.PostChaos(ctx)
		close(done)
	}()
	time.Sleep(50 * time.Millisecond) // let PostChaos start waiting for the loop
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("PostChaos did not return after its context ended")
	}
	if res := r.Results()[0]; res.Verdict == Passed {
		t.Fatalf("an interrupted probe passed: %+v", res)
	}
}

func TestJudgedAndSuccessPercentage(t *testing.T) {
	results := []Result{
		Judged("rollback-within", "expectation", "EOT", true, "ECS rolled back after 42s"),
		Judged("tasks-failed", "expectation", "OnChaos", false, "no chaos task failed"),
		{Name: "p", Verdict: NA},
	}
	if results[0].Verdict != Passed || results[1].Verdict != Failed {
		t.Fatalf("Judged verdicts = %v, %v", results[0].Verdict, results[1].Verdict)
	}
	if got := SuccessPercentage(results); got != 33 {
		t.Fatalf("SuccessPercentage = %d, want 33 (rounded down, as Litmus)", got)
	}
	if got := SuccessPercentage(nil); got != 100 {
		t.Fatalf("SuccessPercentage(nil) = %d, want 100", got)
	}
}
