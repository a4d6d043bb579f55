package reliability

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

const (
	// defaultCrashRuns keeps CI fast; ECSCHAOS_CRASH_RUNS=50 is the full mode.
	defaultCrashRuns = 8
	// binaryTimeout bounds one process of the binary (a full run takes about 4 s).
	binaryTimeout = 60 * time.Second
)

// crashRuns is the number of seeded crash runs: ECSCHAOS_CRASH_RUNS, else defaultCrashRuns.
func crashRuns(t *testing.T) int {
	v := os.Getenv("ECSCHAOS_CRASH_RUNS")
	if v == "" {
		return defaultCrashRuns
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("ECSCHAOS_CRASH_RUNS=%q: want a positive number", v)
	}
	return n
}

type crashResult struct {
	seed      uint64
	killPoint string
	// leftBehind describes the state the SIGKILL left, before recover.
	leftBehind string
	recovered  bool
	recoverOut int
}

// TestCrashRecovery runs the built binary against the simulator, SIGKILLs it at a seeded random point (a random
// delay into the run, or right after the Nth request the simulator answered), then runs `experiment recover` with
// the same environment and checks that every service is back on its original revision and configuration with
// every chaos revision deregistered.
func TestCrashRecovery(t *testing.T) {
	services := []string{"web-1", "web-2"}
	fullRequests, fullDuration := fullBinaryRun(t, services)
	runs := crashRuns(t)
	var mu sync.Mutex
	var results []crashResult
	t.Run("seeds", func(t *testing.T) {
		for seed := uint64(1); seed <= uint64(runs); seed++ {
			t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
				t.Parallel()
				res := crashRun(t, seed, services, fullRequests, fullDuration)
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			})
		}
	})
	sort.Slice(results, func(i, j int) bool { return results[i].seed < results[j].seed })
	var rows [][]string
	recovered := 0
	states := map[string]int{}
	for _, r := range results {
		if r.recovered {
			recovered++
		}
		states[r.leftBehind]++
		rows = append(rows, []string{fmt.Sprint(r.seed), r.killPoint, r.leftBehind, fmt.Sprint(r.recoverOut), yesNo(r.recovered)})
	}
	var summary []string
	for s, n := range states {
		summary = append(summary, fmt.Sprintf("%d x %s", n, s))
	}
	sort.Strings(summary)
	t.Logf("crash recovery: %d runs (full run: %d requests, %s), %d recovered, %d lost; states left by the kill: %s\n%s",
		len(results), fullRequests, fullDuration.Round(100*time.Millisecond), recovered, len(results)-recovered, strings.Join(summary, "; "),
		table([]string{"seed", "SIGKILL", "left by the kill", "recover exit", "restored"}, rows))
}

// fullBinaryRun runs the binary once to its end: it must pass, and its request count and duration scale the kill
// points.
func fullBinaryRun(t *testing.T, services []string) (int, time.Duration) {
	t.Helper()
	e := newSimEnv(t, simenv.Options{RealClock: true, Timing: ecssim.ShortCycleTiming()})
	e.seedServices(t, len(services))
	before := e.snapshot(t, services)
	e.sim.ResetRequests()
	start := time.Now()
	run := runBinary(t, binaryEnv(t, t.TempDir(), e.url, services, nil))
	took := time.Since(start)
	if run.code != 0 {
		t.Fatalf("full run of the binary: exit %d, want 0\nstderr:\n%s", run.code, run.stderr)
	}
	for _, p := range e.leftovers(t, before) {
		t.Errorf("full run: %s", p)
	}
	n := len(e.sim.Requests())
	t.Logf("full run of the binary: exit 0, %d requests, %s", n, took.Round(10*time.Millisecond))
	return n, took
}

func crashRun(t *testing.T, seed uint64, services []string, fullRequests int, fullDuration time.Duration) crashResult {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	e := newSimEnv(t, simenv.Options{RealClock: true, Timing: ecssim.ShortCycleTiming()})
	e.seedServices(t, len(services))
	before := e.snapshot(t, services)
	e.sim.ResetRequests()
	dir := t.TempDir()
	env := binaryEnv(t, dir, e.url, services, nil)
	res := crashResult{seed: seed}

	var killed atomic.Bool
	// The simulator's handler goroutines learn of the process only through this pointer: the race detector sees no
	// ordering through the process's own requests.
	var proc atomic.Pointer[binary.Process]
	kill := func() {
		if p := proc.Load(); p != nil && killed.CompareAndSwap(false, true) {
			p.Kill() // SIGKILL: no handler, no restore, no result
		}
	}
	var afterN int
	var last atomic.Value // the operation of the Nth request
	var delay time.Duration
	if seed%2 == 0 {
		delay = time.Duration(rng.Int64N(int64(fullDuration)))
		res.killPoint = fmt.Sprintf("after %s", delay.Round(time.Millisecond))
	} else {
		afterN = 1 + rng.IntN(fullRequests)
		res.killPoint = fmt.Sprintf("after request %d", afterN)
		var count atomic.Int64
		e.sim.OnRequest(func(r ecssim.Request) {
			if count.Add(1) == int64(afterN) {
				last.Store(r.Operation)
				kill() // before the reply is written: the change took effect, the process never learns it
			}
		})
	}
	killedRun := binary.Start(t, experimentBinary, env, binaryTimeout)
	proc.Store(killedRun)
	if afterN == 0 {
		timer := time.AfterFunc(delay, kill)
		defer timer.Stop()
	}
	<-killedRun.Done()
	if op, ok := last.Load().(string); ok {
		res.killPoint += " (" + op + ")"
	}
	if !killed.Load() {
		res.killPoint += " (ended first)"
	}
	res.leftBehind = describeLeftBehind(t, e, before)

	rec := runBinary(t, env, "recover")
	res.recoverOut = rec.code
	if rec.code != 0 {
		t.Errorf("seed %d: recover exit %d, want 0\nstderr:\n%s", seed, rec.code, rec.stderr)
	}
	problems := e.leftovers(t, before)
	for _, p := range problems {
		t.Errorf("seed %d (killed %s, left %s): %s", seed, res.killPoint, res.leftBehind, p)
	}
	res.recovered = len(problems) == 0
	if t.Failed() {
		t.Logf("killed run stderr:\n%s\nrecover stderr:\n%s", killedRun.Stderr.String(), rec.stderr)
	}
	return res
}

// describeLeftBehind names the state the kill left, in the words of the matrix: "clean", or which services were on
// a chaos revision or a narrowed configuration and how many chaos revisions were ACTIVE.
func describeLeftBehind(t *testing.T, e *simEnv, before map[string]types.Service) string {
	t.Helper()
	var names []string
	for n := range before {
		names = append(names, n)
	}
	sort.Strings(names)
	now := e.snapshot(t, names)
	onChaos, narrowed, activeChaos := 0, 0, 0
	for _, n := range names {
		original := aws.ToString(before[n].TaskDefinition)
		if aws.ToString(now[n].TaskDefinition) != original {
			onChaos++
		}
		if jsonOf(now[n].DeploymentConfiguration) != jsonOf(before[n].DeploymentConfiguration) {
			narrowed++
		}
		activeChaos += len(e.activeRevisions(t, familyOf(original))) - 1
	}
	if onChaos == 0 && narrowed == 0 && activeChaos == 0 {
		return "clean"
	}
	return fmt.Sprintf("%d on chaos, %d narrowed config, %d ACTIVE chaos rev", onChaos, narrowed, activeChaos)
}
