package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// machine describes where the figures were taken.
type machine struct {
	CPUs   int
	Model  string
	MemMB  int64
	Go     string
	Kernel string
}

func readMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Model: "?"}
	m.Model = firstField("/proc/cpuinfo", "model name")
	if kb := firstField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int64
		if _, err := fmt.Sscanf(kb, "%d kB", &n); err == nil {
			m.MemMB = n / 1024
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(raw))
	}
	return m
}

// firstField returns the value of the first "key : value" line of a /proc file.
func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadNote is the load average when a scenario started: the machine is shared, so figures are read next to it.
type loadNote struct{ Scenario, When, Load string }

func newLoadNote(scenario, when string) loadNote {
	raw, err := os.ReadFile("/proc/loadavg")
	load := "?"
	if err == nil {
		if f := strings.Fields(string(raw)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return loadNote{Scenario: scenario, When: when, Load: load}
}

// report is everything one ecsbench run measured.
type report struct {
	cfg        config
	machine    machine
	started    time.Time
	ended      time.Time
	binarySize int64
	load       []loadNote
	start      *startResult
	stop       *stopResult
	quiet      *quietResult
	scale      []*scaleResult
	manual     []*manualResult
	slowAPI    *slowAPIResult
}

// goal is one target of issue 7 with what was measured against it.
type goal struct {
	Name, Target, Measured string
	Status                 string // met, missed, not measured
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func (r *report) goals() []goal {
	rtt := r.cfg.RTT
	var out []goal
	add := func(name, target string, measured func() (string, bool), present bool) {
		g := goal{Name: name, Target: target, Status: "not measured"}
		if present {
			m, ok := measured()
			g.Measured, g.Status = m, verdict(ok)
		}
		out = append(out, g)
	}
	injectBound := 4*rtt + 30*time.Millisecond
	add("inject on the wire after process start", "≤ 4 RTT + 30 ms = "+ms(injectBound), func() (string, bool) {
		return fmt.Sprintf("median %s, max %s", ms(r.start.Inject.median()), ms(r.start.Inject.max())), r.start.Inject.median() <= injectBound
	}, r.start != nil)
	restoreBound := 2*rtt + 20*time.Millisecond
	add("restore on the wire after SIGTERM", "≤ 2 RTT + 20 ms = "+ms(restoreBound), func() (string, bool) {
		return fmt.Sprintf("median %s, max %s", ms(r.stop.Restore.median()), ms(r.stop.Restore.max())), r.stop.Restore.median() <= restoreBound
	}, r.stop != nil)
	add("hold accuracy, one service", "within ±100 ms", func() (string, bool) {
		med := r.start.HoldError.median()
		return fmt.Sprintf("median %s, max %s", ms(med), ms(r.start.HoldError.max())), med.Abs() <= 100*time.Millisecond
	}, r.start != nil)
	add(fmt.Sprintf("read calls per poll while nothing changes (%d services)", r.cfg.QuietServices), "≤ 1 per ten services", func() (string, bool) {
		return fmt.Sprintf("%.2f per ten services (%.1f per poll)", r.quiet.PerTenPerPoll, r.quiet.ReadsPerPoll), r.quiet.PerTenPerPoll <= 1.0001
	}, r.quiet != nil)
	add("peak RSS, one service", "< 40 MB", func() (string, bool) {
		return mb(r.start.MaxRSSKB), r.start.MaxRSSKB < 40*1024
	}, r.start != nil)
	s500 := r.scaleOf(500)
	add("peak RSS, 500 services", "< 120 MB", func() (string, bool) {
		return mb(s500.MaxRSSKB), s500.MaxRSSKB < 120*1024
	}, s500 != nil)
	add("stripped binary size", "< 30 MB", func() (string, bool) {
		return mb(r.binarySize / 1024), r.binarySize < 30<<20
	}, r.binarySize > 0)
	add("500 services, wall time", "≤ 1.1 × rate bound", func() (string, bool) {
		ratio := s500.Wall.Seconds() / s500.Bound.Seconds()
		return fmt.Sprintf("%s vs bound %s (%.2f×)", secs(s500.Wall), secs(s500.Bound), ratio), ratio <= 1.1
	}, s500 != nil && s500.Bound > 0)
	add("500 services, throttling reaching the fault", "none", func() (string, bool) {
		return fmt.Sprintf("%d log lines of the fault name throttling; throttled replies on the wire: %s", s500.FaultThrottles, formatCounts(s500.Throttled)),
			s500.FaultThrottles == 0
	}, s500 != nil && s500.RateLimited)
	add("500 services, all injected and restored", "500 and 500", func() (string, bool) {
		return fmt.Sprintf("injected %d, restored %d", s500.Injected, s500.Restored), s500.Injected == 500 && s500.Restored == 500
	}, s500 != nil)
	add(fmt.Sprintf("fault timing with the Kubernetes writer behind a slow apiserver (%s per request, %d services)", ms(r.cfg.SlowAPIDelay), r.cfg.SlowAPIServices),
		"inject and restore spread and hold error within 100 ms of the file writer's", func() (string, bool) {
			return r.slowAPI.compare()
		}, r.slowAPI != nil)
	return out
}

func (r *report) scaleOf(n int) *scaleResult {
	for _, s := range r.scale {
		if s.Services == n {
			return s
		}
	}
	return nil
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	m := r.machine
	p("## ecsbench: %s – %s UTC", r.started.Format("2006-01-02 15:04:05"), r.ended.Format("15:04:05"))
	p("")
	p("- Machine: %d CPUs (%s), %d MB memory, Linux %s; harness built with %s.", m.CPUs, m.Model, m.MemMB, m.Kernel, m.Go)
	p("- Injected round trip (simulator latency on every operation): %s. TOTAL_CHAOS_DURATION = CHAOS_INTERVAL = %d s, STATUS_CHECK_DELAY = %d s; simulator tasks: provisioning 100 ms, pending→running 200 ms, pull failure 1 s.", ms(r.cfg.RTT), r.cfg.Duration, r.cfg.Delay)
	if r.binarySize > 0 {
		p("- Binary: %s stripped (%d bytes).", mb(r.binarySize/1024), r.binarySize)
	}
	var loads []string
	for _, l := range r.load {
		loads = append(loads, fmt.Sprintf("%s %s: %s", l.When, l.Scenario, l.Load))
	}
	p("- Load average (1/5/15 min): %s.", strings.Join(loads, "; "))
	p("")

	if s := r.start; s != nil || r.stop != nil {
		p("### One service (%d runs each)", r.cfg.Repeat)
		p("")
		p("| figure | median | max |")
		p("|---|---|---|")
		if s != nil {
			p("| process start → first ECS request on the wire | %s | %s |", ms(s.FirstRequest.median()), ms(s.FirstRequest.max()))
			p("| process start → inject UpdateService on the wire | %s | %s |", ms(s.Inject.median()), ms(s.Inject.max()))
			p("| hold accuracy: inject→restore UpdateService minus TOTAL_CHAOS_DURATION | %s | %s |", ms(s.HoldError.median()), ms(s.HoldError.max()))
			p("| wall time of the whole run (hold, restore wait, result) | %s | %s |", secs(s.Wall.median()), secs(s.Wall.max()))
			p("| peak RSS (wait4 ru_maxrss) | | %s |", mb(s.MaxRSSKB))
		}
		if t := r.stop; t != nil {
			p("| SIGTERM (1 s into the hold) → restore UpdateService on the wire | %s | %s |", ms(t.Restore.median()), ms(t.Restore.max()))
		}
		p("")
		if s != nil {
			p("Exit codes and verdicts: %s.", strings.Join(s.Exits, "; "))
			p("ECS calls of one whole cycle (preflight, inject, %d s hold, restore, restore wait): %s (total %d).", r.cfg.Duration, formatCounts(s.Calls), total(s.Calls))
		}
		if t := r.stop; t != nil {
			p("Stop runs: %s; ECS calls from SIGTERM on: %s.", strings.Join(t.Exits, "; "), formatCounts(t.Calls))
		}
		p("")
	}

	if q := r.quiet; q != nil {
		p("### Polling while nothing changes")
		p("")
		p("%d services whose chaos tasks stay PENDING; read calls counted over %s of the hold (its first 2 s and last 1 s left out).", q.Services, secs(q.Window))
		p("")
		p("| polls | read calls | per poll | per poll per ten services | calls |")
		p("|---|---|---|---|---|")
		p("| %d | %d | %.2f | %.2f | %s |", q.Polls, q.Reads, q.ReadsPerPoll, q.PerTenPerPoll, formatCounts(q.Calls))
		p("")
	}

	if len(r.scale) > 0 {
		limits := "off"
		if r.cfg.RateLimits {
			limits = "on (" + limitsNote() + ")"
		}
		tdModify := ecssim.ECSRateLimits()["RegisterTaskDefinition"]
		p("### Services in one parallel run")
		p("")
		p("ECS rate limits: %s. Bound = wall time of the first run + (2N − %d) task definition calls at %g/s: the N registrations and N deregistrations share one bucket.",
			limits, tdModify.Burst, tdModify.PerSecond)
		p("")
		p("| services | wall | bound | wall/bound | injected | restored | hold error min / median / max | inject / restore / deregister calls, from process start | ECS calls | throttled replies | fault log lines naming throttling | peak RSS | exit, verdict |")
		p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, s := range r.scale {
			bound, ratio := "–", "–"
			if s.Bound > 0 {
				bound, ratio = secs(s.Bound), fmt.Sprintf("%.2f", s.Wall.Seconds()/s.Bound.Seconds())
			}
			hold := "–"
			if len(s.HoldError) > 0 {
				hold = fmt.Sprintf("%s / %s / %s", ms(s.HoldError.min()), ms(s.HoldError.median()), ms(s.HoldError.max()))
			}
			p("| %d | %s | %s | %s | %d | %d | %s | %s / %s / %s | %d: %s | %s | %d | %s | %s |", s.Services, secs(s.Wall), bound, ratio, s.Injected, s.Restored,
				hold, s.Timeline.Inject, s.Timeline.Restore, s.Timeline.Deregister, total(s.Calls), formatCounts(s.Calls), formatCounts(s.Throttled), s.FaultThrottles, mb(s.MaxRSSKB), s.Exit)
		}
		p("")
	}

	if len(r.manual) > 0 {
		p("### The manual way: the spec's aws CLI commands (bench/manual.sh) against the same simulator")
		p("")
		p("| services | fault wall | aws CLI wall | CLI/fault | start → last inject, fault | start → last inject, aws CLI | CLI/fault | hold error, fault (max) | hold error, aws CLI (max) | ECS calls, fault | ECS calls, aws CLI |")
		p("|---|---|---|---|---|---|---|---|---|---|---|")
		for _, m := range r.manual {
			p("| %d | %s | %s | %.2f | %s | %s | %.1f | %s | %s | %d: %s | %d: %s |", m.Services, secs(m.FaultWall), secs(m.ManualWall),
				m.ManualWall.Seconds()/m.FaultWall.Seconds(), ms(m.FaultInject), ms(m.ManualInject), m.ManualInject.Seconds()/m.FaultInject.Seconds(),
				ms(m.FaultHoldErr.max()), ms(m.ManualHoldErr.max()), total(m.FaultCalls), formatCounts(m.FaultCalls), total(m.ManualCalls), formatCounts(m.ManualCalls))
		}
		p("")
		p("The fault's wall time includes what the script does not do: observing the hold and waiting for the restore deployment to complete.")
		p("")
	}

	if r.slowAPI != nil {
		b.WriteString(r.slowAPI.markdown())
	}

	goals := r.goals()
	p("### Goals (issues 7 and 14)")
	p("")
	p("| goal | target | measured | result |")
	p("|---|---|---|---|")
	for _, g := range goals {
		p("| %s | %s | %s | %s |", g.Name, g.Target, orDash(g.Measured), g.Status)
	}
	p("")
	p("Latency goals are judged on the median of the runs; the machine is shared (see the load average).")
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// limitsNote names the buckets of ecssim.ECSRateLimits the fault's operations draw from, operations sharing a
// bucket together: "RegisterTaskDefinition and DeregisterTaskDefinition 20 then 1/s; ...".
func limitsNote() string {
	limits := ecssim.ECSRateLimits()
	var parts []string
	seen := map[string]bool{}
	for _, op := range faultOperations() {
		l := limits[op]
		if seen[l.Bucket] {
			continue
		}
		seen[l.Bucket] = true
		var ops []string
		for _, other := range faultOperations() {
			if limits[other].Bucket == l.Bucket {
				ops = append(ops, other)
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d then %g/s", strings.Join(ops, " and "), l.Burst, l.PerSecond))
	}
	return "ecssim.ECSRateLimits, ECS's documented buckets: " + strings.Join(parts, "; ")
}
