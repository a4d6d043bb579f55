package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

const benchCluster = "bench"

// bench holds what every scenario needs.
type bench struct {
	cfg      config
	binary   string
	progress io.Writer
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, "%s ecsbench: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// saveWire keeps a run's calls next to its log; a failure to write is reported and otherwise ignored.
func (b *bench) saveWire(name string, calls []call, start time.Time) {
	if err := writeWire(filepath.Join(b.cfg.WorkDir, name+".wire.tsv"), calls, start); err != nil {
		b.logf("keeping the calls of %s: %v", name, err)
	}
}

// newSim starts a simulator, seeds n services and only then turns the injected round trip on, so seeding is fast.
func (b *bench) newSim(ctx context.Context, timing ecssim.Timing, prefix string, n int) (*simServer, []string, error) {
	sim, err := startSim(timing)
	if err != nil {
		return nil, nil, err
	}
	names, err := sim.seed(ctx, benchCluster, prefix, n)
	if err != nil {
		sim.close()
		return nil, nil, fmt.Errorf("seed %d services: %w", n, err)
	}
	if b.cfg.RTT > 0 {
		sim.sim.SetFault("*", ecssim.Fault{Latency: b.cfg.RTT})
	}
	return sim, names, nil
}

func (b *bench) faultRun(sim *simServer, name string, services []string, duration, timeout int) faultRun {
	return faultRun{
		Binary: b.binary, WorkDir: b.cfg.WorkDir, Name: name, Endpoint: sim.url, Cluster: benchCluster,
		Services: services, Duration: duration, Delay: b.cfg.Delay, Timeout: timeout,
	}
}

// checkExit turns an unexpected exit code into an error naming the log to read.
func checkExit(res procResult, want ...int) error {
	for _, w := range want {
		if res.ExitCode == w {
			return nil
		}
	}
	return fmt.Errorf("experiment exited %d (phase %s, verdict %s), want %v; log: %s", res.ExitCode, res.Phase, res.Verdict, want, res.Stderr)
}

// startResult: one service, run to completion, repeated.
type startResult struct {
	FirstRequest, Inject, HoldError, Wall durations
	Calls                                 map[string]int // of the first run: one whole cycle
	MaxRSSKB                              int64
	Exits                                 []string
}

func (b *bench) scenarioStart(ctx context.Context) (*startResult, error) {
	out := &startResult{}
	for i := range b.cfg.Repeat {
		sim, names, err := b.newSim(ctx, ecssim.FastTiming(), "svc", 1)
		if err != nil {
			return nil, err
		}
		r, err := startFault(ctx, b.faultRun(sim, fmt.Sprintf("start-%d", i+1), names, b.cfg.Duration, 60))
		if err != nil {
			sim.close()
			return nil, err
		}
		res, err := r.wait()
		calls := sim.wire.snapshot()
		sim.close()
		if err != nil {
			return nil, err
		}
		b.saveWire(fmt.Sprintf("start-%d", i+1), calls, res.Start)
		out.Exits = append(out.Exits, fmt.Sprintf("%d %s", res.ExitCode, res.Verdict))
		if err := checkExit(res, 0); err != nil {
			return nil, err
		}
		if len(calls) == 0 {
			return nil, errors.New("the experiment made no ECS call")
		}
		updates := revisionUpdates(calls, "fault")[names[0]]
		if len(updates) < 2 {
			return nil, fmt.Errorf("saw %d UpdateService calls with a task definition, want 2; log: %s", len(updates), res.Stderr)
		}
		out.FirstRequest = append(out.FirstRequest, calls[0].Sent.Sub(res.Start))
		out.Inject = append(out.Inject, updates[0].Sub(res.Start))
		out.HoldError = append(out.HoldError, updates[1].Sub(updates[0])-time.Duration(b.cfg.Duration)*time.Second)
		out.Wall = append(out.Wall, res.wall())
		out.MaxRSSKB = max(out.MaxRSSKB, res.MaxRSSKB)
		if i == 0 {
			out.Calls = countByOp(calls, func(c call) bool { return c.Client == "fault" })
		}
		b.logf("start %d/%d: first request %s, inject %s, hold error %s, exit %d", i+1, b.cfg.Repeat,
			ms(out.FirstRequest[i]), ms(out.Inject[i]), ms(out.HoldError[i]), res.ExitCode)
	}
	return out, nil
}

// stopResult: one service, SIGTERM during the hold, repeated.
type stopResult struct {
	Restore  durations
	Exits    []string
	Calls    map[string]int // of the first run, from SIGTERM on
	MaxRSSKB int64
}

// stopHold is long enough that only the signal ends the hold.
const stopHold = 60

func (b *bench) scenarioStop(ctx context.Context) (*stopResult, error) {
	out := &stopResult{}
	for i := range b.cfg.Repeat {
		sim, names, err := b.newSim(ctx, ecssim.FastTiming(), "svc", 1)
		if err != nil {
			return nil, err
		}
		injected := make(chan struct{}, 1)
		unwatch := sim.wire.watch(func(c call) {
			if c.Op == "UpdateService" && c.TaskDefinition != "" {
				select {
				case injected <- struct{}{}:
				default:
				}
			}
		})
		r, err := startFault(ctx, b.faultRun(sim, fmt.Sprintf("stop-%d", i+1), names, stopHold, 60))
		if err != nil {
			sim.close()
			return nil, err
		}
		var sigAt time.Time
		select {
		case <-injected:
			// Let the hold settle into its polling before the signal, as a stop from the platform would find it.
			time.Sleep(time.Second)
			sigAt = time.Now()
			err = r.signal(syscall.SIGTERM)
		case <-time.After(60 * time.Second):
			err = errors.New("no inject within 60 s")
		case <-ctx.Done():
			err = ctx.Err()
		}
		unwatch()
		if err != nil {
			_ = r.signal(syscall.SIGKILL)
			_, _ = r.wait()
			sim.close()
			return nil, fmt.Errorf("stop run %d: %w", i+1, err)
		}
		res, err := r.wait()
		calls := sim.wire.snapshot()
		sim.close()
		if err != nil {
			return nil, err
		}
		b.saveWire(fmt.Sprintf("stop-%d", i+1), calls, res.Start)
		out.Exits = append(out.Exits, fmt.Sprintf("%d %s", res.ExitCode, res.Verdict))
		if err := checkExit(res, 5); err != nil {
			return nil, err
		}
		var restoreAt time.Time
		for _, c := range calls {
			if c.Op == "UpdateService" && c.TaskDefinition != "" && c.Status == 200 && c.Sent.After(sigAt) {
				restoreAt = c.Sent
				break
			}
		}
		if restoreAt.IsZero() {
			return nil, fmt.Errorf("no restore UpdateService after SIGTERM; log: %s", res.Stderr)
		}
		out.Restore = append(out.Restore, restoreAt.Sub(sigAt))
		out.MaxRSSKB = max(out.MaxRSSKB, res.MaxRSSKB)
		if i == 0 {
			out.Calls = countByOp(calls, func(c call) bool { return c.Client == "fault" && !c.Sent.Before(sigAt) })
		}
		b.logf("stop %d/%d: SIGTERM to restore on the wire %s, exit %d", i+1, b.cfg.Repeat, ms(out.Restore[i]), res.ExitCode)
	}
	return out, nil
}

// quietResult: services whose chaos tasks stay PENDING, so nothing changes between polls.
type quietResult struct {
	Services      int
	Window        time.Duration
	Polls, Reads  int
	ReadsPerPoll  float64
	PerTenPerPoll float64
	Calls         map[string]int // reads in the window
}

func (b *bench) scenarioQuiet(ctx context.Context) (*quietResult, error) {
	n := b.cfg.QuietServices
	timing := ecssim.FastTiming()
	timing.PullFailure = time.Hour // chaos tasks stay PENDING: every poll sees the same service
	sim, names, err := b.newSim(ctx, timing, "svc", n)
	if err != nil {
		return nil, err
	}
	defer sim.close()
	hold := max(b.cfg.Duration, 8)
	r, err := startFault(ctx, b.faultRun(sim, "quiet", names, hold, 60))
	if err != nil {
		return nil, err
	}
	res, err := r.wait()
	if err != nil {
		return nil, err
	}
	// Not effective by construction (no chaos task fails), so the run ends in Completed/Error.
	if err := checkExit(res, 0, 3); err != nil {
		return nil, err
	}
	calls := sim.wire.snapshot()
	b.saveWire("quiet", calls, res.Start)
	updates := revisionUpdates(calls, "fault")
	var lastInject, firstRestore time.Time
	for _, ts := range updates {
		if len(ts) < 2 {
			return nil, fmt.Errorf("a service was not injected and restored; log: %s", res.Stderr)
		}
		if ts[0].After(lastInject) {
			lastInject = ts[0]
		}
		if firstRestore.IsZero() || ts[1].Before(firstRestore) {
			firstRestore = ts[1]
		}
	}
	// Skip the hold's start (the one-off digest read) and its end (the last poll and the restore's reads).
	from, to := lastInject.Add(2*time.Second), firstRestore.Add(-time.Second)
	delay := time.Duration(b.cfg.Delay) * time.Second
	polls, reads := pollStats(calls, from, to, delay/2)
	if polls == 0 {
		return nil, fmt.Errorf("no poll between %s and %s; log: %s", from.Format(time.StampMilli), to.Format(time.StampMilli), res.Stderr)
	}
	perPoll := float64(reads) / float64(polls)
	out := &quietResult{
		Services: n, Window: to.Sub(from), Polls: polls, Reads: reads, ReadsPerPoll: perPoll,
		PerTenPerPoll: perPoll / math.Ceil(float64(n)/10),
		Calls: countByOp(calls, func(c call) bool {
			return c.Client == "fault" && isRead(c.Op) && !c.Sent.Before(from) && c.Sent.Before(to)
		}),
	}
	b.logf("quiet: %d services, %d polls, %d reads in %s", n, polls, reads, secs(out.Window))
	return out, nil
}

// scaleResult: n services in one parallel run.
type scaleResult struct {
	Services       int
	RateLimited    bool
	Wall           time.Duration
	Bound          time.Duration // registrationBound from the smallest run; 0 without rate limits
	Calls          map[string]int
	Throttled      map[string]int
	FaultThrottles int // lines of the fault's log that mention throttling
	Injected       int
	Restored       int
	HoldError      durations
	MaxRSSKB       int64
	Exit           string
	Timeline       timeline
}

func (b *bench) scenarioScale(ctx context.Context, n int) (*scaleResult, error) {
	b.logf("scale %d: seeding", n)
	sim, names, err := b.newSim(ctx, ecssim.FastTiming(), "svc", n)
	if err != nil {
		return nil, err
	}
	defer sim.close()
	if b.cfg.RateLimits {
		for op, l := range ecssim.ECSRateLimits() {
			sim.sim.SetRateLimit(op, l)
		}
	}
	r, err := startFault(ctx, b.faultRun(sim, fmt.Sprintf("scale-%d", n), names, b.cfg.Duration, 900))
	if err != nil {
		return nil, err
	}
	stopProgress := b.progressTicker(sim, n)
	res, err := r.wait()
	stopProgress()
	if err != nil {
		return nil, err
	}
	calls := sim.wire.snapshot()
	b.saveWire(fmt.Sprintf("scale-%d", n), calls, res.Start)
	updates := revisionUpdates(calls, "fault")
	out := &scaleResult{
		Services: n, RateLimited: b.cfg.RateLimits, Wall: res.wall(),
		Calls:          countByOp(calls, func(c call) bool { return c.Client == "fault" }),
		Throttled:      countByOp(calls, func(c call) bool { return c.ErrorCode == "ThrottlingException" }),
		FaultThrottles: countLines(res.Stderr, "Throttling"),
		HoldError:      holdErrors(updates, time.Duration(b.cfg.Duration)*time.Second),
		MaxRSSKB:       res.MaxRSSKB,
		Exit:           fmt.Sprintf("%d %s", res.ExitCode, res.Verdict),
		Timeline:       phases(calls, res.Start),
	}
	for _, ts := range updates {
		if len(ts) >= 1 {
			out.Injected++
		}
		if len(ts) >= 2 {
			out.Restored++
		}
	}
	b.logf("scale %d: wall %s, %d calls, injected %d, restored %d, exit %s", n, secs(out.Wall), total(out.Calls), out.Injected, out.Restored, out.Exit)
	return out, nil
}

// progressTicker prints how far a long run is every 15 seconds until the returned function is called.
func (b *bench) progressTicker(sim *simServer, n int) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				calls := sim.wire.snapshot()
				injected, restored, throttled := 0, 0, 0
				for _, ts := range revisionUpdates(calls, "fault") {
					if len(ts) >= 1 {
						injected++
					}
					if len(ts) >= 2 {
						restored++
					}
				}
				for _, c := range calls {
					if c.ErrorCode == "ThrottlingException" {
						throttled++
					}
				}
				b.logf("scale %d: %s elapsed, %d calls, injected %d/%d, restored %d/%d, throttled replies %d",
					n, time.Since(start).Truncate(time.Second), len(calls), injected, n, restored, n, throttled)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// manualResult compares the binary with the spec's aws CLI commands, same services, same simulator.
type manualResult struct {
	Services                    int
	FaultWall, ManualWall       time.Duration
	FaultInject, ManualInject   time.Duration // process start to the last service's inject UpdateService
	FaultCalls, ManualCalls     map[string]int
	FaultHoldErr, ManualHoldErr durations
}

func (b *bench) scenarioManual(ctx context.Context, n int) (*manualResult, error) {
	sim, faultNames, err := b.newSim(ctx, ecssim.FastTiming(), "fault", n)
	if err != nil {
		return nil, err
	}
	defer sim.close()
	manualNames, err := sim.seed(ctx, benchCluster, "manual", n)
	if err != nil {
		return nil, err
	}
	hold := time.Duration(b.cfg.Duration) * time.Second
	out := &manualResult{Services: n}

	r, err := startFault(ctx, b.faultRun(sim, fmt.Sprintf("manual-fault-%d", n), faultNames, b.cfg.Duration, 60))
	if err != nil {
		return nil, err
	}
	res, err := r.wait()
	if err != nil {
		return nil, err
	}
	if err := checkExit(res, 0); err != nil {
		return nil, err
	}
	calls := sim.wire.snapshot()
	b.saveWire(fmt.Sprintf("manual-fault-%d", n), calls, res.Start)
	out.FaultWall = res.wall()
	out.FaultCalls = countByOp(calls, func(c call) bool { return c.Client == "fault" })
	upd := revisionUpdates(calls, "fault")
	out.FaultInject = lastInject(upd).Sub(res.Start)
	out.FaultHoldErr = holdErrors(upd, hold)

	mark := len(calls)
	start := time.Now()
	if err := b.runManual(ctx, sim, manualNames, n); err != nil {
		return nil, err
	}
	out.ManualWall = time.Since(start)
	calls = sim.wire.snapshot()[mark:]
	b.saveWire(fmt.Sprintf("manual-cli-%d", n), calls, start)
	out.ManualCalls = countByOp(calls, func(c call) bool { return c.Client == "cli" })
	upd = revisionUpdates(calls, "cli")
	if len(upd) != n {
		return nil, fmt.Errorf("the manual script updated %d of %d services", len(upd), n)
	}
	out.ManualInject = lastInject(upd).Sub(start)
	out.ManualHoldErr = holdErrors(upd, hold)
	b.logf("manual %d: fault %s (%d calls), aws CLI %s (%d calls)", n, secs(out.FaultWall), total(out.FaultCalls), secs(out.ManualWall), total(out.ManualCalls))
	return out, nil
}

func lastInject(updates map[string][]time.Time) time.Time {
	var last time.Time
	for _, ts := range updates {
		if len(ts) > 0 && ts[0].After(last) {
			last = ts[0]
		}
	}
	return last
}

// runManual runs bench/manual.sh, which does what a user following the spec would type.
func (b *bench) runManual(ctx context.Context, sim *simServer, services []string, n int) error {
	logPath := filepath.Join(b.cfg.WorkDir, fmt.Sprintf("manual-cli-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, "bash", b.cfg.ManualScript)
	cmd.Env = []string{
		"PATH=" + filepath.Dir(b.cfg.CLI) + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + b.cfg.WorkDir, // no ~/.aws of the machine's user
		"AWS_CLI=" + b.cfg.CLI,
		"AWS_ACCESS_KEY_ID=" + fakeAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + fakeSecretKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"ENDPOINT=" + sim.url,
		"CLUSTER=" + benchCluster,
		"SERVICES=" + strings.Join(services, ","),
		"REGION=us-east-1",
		"DURATION=" + strconv.Itoa(b.cfg.Duration),
		"IMAGE=nginx:chaos-invalid-manual",
		"WORKDIR=" + b.cfg.WorkDir,
	}
	if root, ok := os.LookupEnv("PYENV_ROOT"); ok {
		cmd.Env = append(cmd.Env, "PYENV_ROOT="+root) // a pyenv shim finds its Python through it
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("manual script: %w; log: %s", err, logPath)
	}
	return nil
}
