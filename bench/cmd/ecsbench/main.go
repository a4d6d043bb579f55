// Command ecsbench measures the built experiment binary, run as a separate process the way the pod runs it,
// against the ECS simulator (pkg/ecssim) served in this process on 127.0.0.1 with a configurable injected round
// trip, and prints the figures as markdown tables next to the goals of issue 7. It also runs the manual way (the
// spec's aws CLI commands, bench/manual.sh) against the same simulator for comparison.
//
// It measures and reports; it asserts nothing about speed. It exits non-zero only when a run did not do what
// the scenario needs (wrong exit code, no inject, no restore), so a smoke run catches a broken harness or binary.
//
//	go run ./bench/cmd/ecsbench -services 1,10,100,500 -rtt 20ms -out /tmp/bench.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
)

// config is the command line.
type config struct {
	Binary         string // "" builds ./experiment into WorkDir
	ModuleRoot     string
	WorkDir        string
	Keep           bool
	RTT            time.Duration
	Duration       int
	Delay          int
	Repeat         int
	QuietServices  int
	Services       []int
	ManualServices []int
	RateLimits     bool
	Scenarios      []string
	CLI            string
	ManualScript   string
	Out            string
	// SlowAPIServices and SlowAPIDelay shape the slowapi scenario (slowapi.go).
	SlowAPIServices int
	SlowAPIDelay    time.Duration
}

var allScenarios = []string{"start", "stop", "quiet", "scale", "manual", "slowapi"}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("ecsbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var services, manual, scenarios string
	fs.StringVar(&c.Binary, "binary", "", "experiment binary to measure; empty builds ./experiment into the work directory as the image does (test/binary.Image)")
	fs.StringVar(&c.ModuleRoot, "module", ".", "module root (for building the binary and finding bench/manual.sh)")
	fs.StringVar(&c.WorkDir, "workdir", "", "directory for logs and results; empty makes a temporary one")
	fs.BoolVar(&c.Keep, "keep", false, "keep the work directory (logs of every run)")
	fs.DurationVar(&c.RTT, "rtt", 0, "round-trip time injected by the simulator on every ECS operation")
	fs.IntVar(&c.Duration, "duration", 4, "TOTAL_CHAOS_DURATION (= CHAOS_INTERVAL) in seconds")
	fs.IntVar(&c.Delay, "delay", 1, "STATUS_CHECK_DELAY in seconds")
	fs.IntVar(&c.Repeat, "repeat", 3, "runs of the start and stop scenarios (median and max are reported)")
	fs.IntVar(&c.QuietServices, "quiet-services", 10, "services of the quiet-poll scenario")
	fs.StringVar(&services, "services", "1,10,100,500", "service counts of the scale scenario, one parallel run each")
	fs.StringVar(&manual, "manual-services", "1,10", "service counts of the aws CLI comparison")
	fs.BoolVar(&c.RateLimits, "rate-limits", true, "enforce ECS's documented rates (ecssim.ECSRateLimits) in the scale scenario")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "scenarios to run: "+strings.Join(allScenarios, ","))
	fs.IntVar(&c.SlowAPIServices, "slowapi-services", 10, "services of the slowapi scenario (file writer vs a slow apiserver)")
	fs.DurationVar(&c.SlowAPIDelay, "slowapi-delay", 300*time.Millisecond, "how late the slowapi scenario's apiserver gets every request")
	fs.StringVar(&c.CLI, "aws-cli", "aws", "aws CLI for the manual comparison (looked up in PATH)")
	fs.StringVar(&c.ManualScript, "manual-script", "", "manual steps script; empty is <module>/bench/manual.sh")
	fs.StringVar(&c.Out, "out", "", "also write the markdown report to this file")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var err error
	if c.Services, err = parseCounts(services); err != nil {
		return config{}, fmt.Errorf("-services: %w", err)
	}
	if c.ManualServices, err = parseCounts(manual); err != nil {
		return config{}, fmt.Errorf("-manual-services: %w", err)
	}
	for _, s := range strings.Split(scenarios, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return config{}, fmt.Errorf("-scenarios: unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ","))
		}
		c.Scenarios = append(c.Scenarios, s)
	}
	switch {
	case c.Duration < 1 || c.Delay < 1:
		return config{}, errors.New("-duration and -delay are whole seconds, at least 1")
	case c.Repeat < 1:
		return config{}, errors.New("-repeat must be at least 1")
	case c.RTT < 0:
		return config{}, errors.New("-rtt must not be negative")
	case c.QuietServices < 1:
		return config{}, errors.New("-quiet-services must be at least 1")
	case c.SlowAPIServices < 1 || c.SlowAPIDelay < 0:
		return config{}, errors.New("-slowapi-services must be at least 1 and -slowapi-delay not negative")
	}
	if c.ManualScript == "" {
		c.ManualScript = filepath.Join(c.ModuleRoot, "bench", "manual.sh")
	}
	return c, nil
}

// parseCounts reads "1,10,100" into positive integers.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive whole number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "ecsbench:", err)
		return 2
	}
	if cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "ecsbench-")
		if err != nil {
			fmt.Fprintln(stderr, "ecsbench:", err)
			return 1
		}
		cfg.WorkDir = dir
		if !cfg.Keep {
			defer os.RemoveAll(dir)
		}
	}
	if cfg.WorkDir, err = filepath.Abs(cfg.WorkDir); err != nil {
		fmt.Fprintln(stderr, "ecsbench:", err)
		return 1
	}
	if slices.Contains(cfg.Scenarios, "manual") {
		// A missing CLI fails the run rather than quietly dropping the comparison.
		if cfg.CLI, err = exec.LookPath(cfg.CLI); err != nil {
			fmt.Fprintln(stderr, "ecsbench: the manual comparison needs the aws CLI:", err)
			return 1
		}
	}
	b := &bench{cfg: cfg, binary: cfg.Binary, progress: stderr}
	if b.binary == "" {
		b.logf("building ./experiment")
		b.binary = filepath.Join(cfg.WorkDir, "experiment")
		if err = binary.Build(ctx, binary.Image, cfg.ModuleRoot, b.binary); err != nil {
			fmt.Fprintln(stderr, "ecsbench:", err)
			return 1
		}
	}
	rep, err := b.runAll(ctx)
	if rep != nil {
		md := rep.markdown()
		fmt.Fprint(stdout, md)
		if cfg.Out != "" {
			if werr := os.WriteFile(cfg.Out, []byte(md), 0o644); werr != nil {
				fmt.Fprintln(stderr, "ecsbench:", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "ecsbench:", err)
		if !cfg.Keep {
			fmt.Fprintln(stderr, "ecsbench: rerun with -keep -workdir DIR to keep the experiment's logs")
		}
		return 1
	}
	return 0
}

// runAll runs the chosen scenarios in order; the report holds whatever finished before an error.
func (b *bench) runAll(ctx context.Context) (*report, error) {
	rep := &report{cfg: b.cfg, machine: readMachine(), started: time.Now().UTC()}
	if st, err := os.Stat(b.binary); err == nil {
		rep.binarySize = st.Size()
	}
	want := func(s string) bool { return slices.Contains(b.cfg.Scenarios, s) }
	var err error
	if want("start") {
		rep.load = append(rep.load, newLoadNote("start", "before"))
		if rep.start, err = b.scenarioStart(ctx); err != nil {
			return rep, fmt.Errorf("start scenario: %w", err)
		}
	}
	if want("stop") {
		rep.load = append(rep.load, newLoadNote("stop", "before"))
		if rep.stop, err = b.scenarioStop(ctx); err != nil {
			return rep, fmt.Errorf("stop scenario: %w", err)
		}
	}
	if want("quiet") {
		rep.load = append(rep.load, newLoadNote("quiet", "before"))
		if rep.quiet, err = b.scenarioQuiet(ctx); err != nil {
			return rep, fmt.Errorf("quiet scenario: %w", err)
		}
	}
	if want("scale") {
		var base time.Duration
		for _, n := range b.cfg.Services {
			rep.load = append(rep.load, newLoadNote(fmt.Sprintf("scale %d", n), "before"))
			s, err := b.scenarioScale(ctx, n)
			if err != nil {
				return rep, fmt.Errorf("scale scenario, %d services: %w", n, err)
			}
			if base == 0 {
				base = s.Wall // the bound of larger runs starts from the first (smallest) run
			}
			if b.cfg.RateLimits {
				s.Bound = registrationBound(n, base, ecssim.ECSRateLimits()["RegisterTaskDefinition"])
			}
			rep.scale = append(rep.scale, s)
		}
	}
	if want("manual") {
		for _, n := range b.cfg.ManualServices {
			rep.load = append(rep.load, newLoadNote(fmt.Sprintf("manual %d", n), "before"))
			m, err := b.scenarioManual(ctx, n)
			if err != nil {
				return rep, fmt.Errorf("manual comparison, %d services: %w", n, err)
			}
			rep.manual = append(rep.manual, m)
		}
	}
	if want("slowapi") {
		rep.load = append(rep.load, newLoadNote("slowapi", "before"))
		if rep.slowAPI, err = b.scenarioSlowAPI(ctx); err != nil {
			return rep, fmt.Errorf("slowapi scenario: %w", err)
		}
	}
	rep.load = append(rep.load, newLoadNote("end", "after"))
	rep.ended = time.Now().UTC()
	return rep, nil
}
