package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
)

// The slowapi scenario answers one question of issue 14: do the fault's hooks (inject, restore, polls) wait for the
// ChaosResult writes? The same parallel run goes once with the file writer and once with the Kubernetes writer
// against a real kube-apiserver that answers every request late (a proxy holds each byte from the fault for the
// delay). The recorder writes behind the fault, so the spread of the injects and restores and the hold accuracy
// must be the same; only the start moves, by the synchronous Running/Awaited write that Litmus's contract wants
// before any chaos.

// slowAPIResult is the pair of runs.
type slowAPIResult struct {
	Services int
	Delay    time.Duration
	File     writerRun
	Kube     writerRun
}

// writerRun is what one run of the pair measured, from the simulator's wire log.
type writerRun struct {
	FirstInject            time.Duration // process start → first inject on the wire
	InjectSpread           time.Duration // first → last inject
	RestoreSpread          time.Duration // first → last restore
	HoldError              durations
	Wall                   time.Duration
	Exit, Verdict, Details string
}

func (b *bench) scenarioSlowAPI(ctx context.Context) (*slowAPIResult, error) {
	n, delay := b.cfg.SlowAPIServices, b.cfg.SlowAPIDelay
	b.logf("slowapi: starting kube-apiserver and etcd")
	cluster, err := kube.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("the slowapi scenario needs a kube-apiserver (make prepare builds it): %w", err)
	}
	defer cluster.Stop()
	kubectl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(cluster.BinDir, "kubectl"), append([]string{"--kubeconfig", cluster.Kubeconfig}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := kubectl("apply", "--server-side", "-f", filepath.Join(b.cfg.ModuleRoot, "manifests", "crds", "chaos_crds.yaml")); err != nil {
		return nil, err
	}
	if err := kubectl("create", "namespace", benchCluster); err != nil {
		return nil, err
	}
	proxy, err := startDelayProxy(strings.TrimPrefix(cluster.URL, "https://"), delay)
	if err != nil {
		return nil, err
	}
	defer proxy.close()
	slowConfig, err := b.writeSlowKubeconfig(cluster, proxy.addr())
	if err != nil {
		return nil, err
	}

	out := &slowAPIResult{Services: n, Delay: delay}
	if out.File, err = b.writerRun(ctx, "slowapi-file", n, nil); err != nil {
		return nil, err
	}
	kubeEnv := []string{"KUBECONFIG=" + slowConfig, "CHAOS_NAMESPACE=" + benchCluster}
	if out.Kube, err = b.writerRun(ctx, "slowapi-kube", n, kubeEnv); err != nil {
		return nil, err
	}
	out.Kube.Verdict = readKubeVerdict(ctx, cluster)
	return out, nil
}

// writerRun runs the fault over n fresh services; kubeEnv, when set, replaces RESULT_FILE (the Kubernetes writer).
func (b *bench) writerRun(ctx context.Context, name string, n int, kubeEnv []string) (writerRun, error) {
	sim, names, err := b.newSim(ctx, ecssim.FastTiming(), "svc", n)
	if err != nil {
		return writerRun{}, err
	}
	defer sim.close()
	run := b.faultRun(sim, name, names, b.cfg.Duration, 120)
	run.KubeEnv = kubeEnv
	r, err := startFault(ctx, run)
	if err != nil {
		return writerRun{}, err
	}
	res, err := r.wait()
	if err != nil {
		return writerRun{}, err
	}
	calls := sim.wire.snapshot()
	b.saveWire(name, calls, res.Start)
	out := writerRun{Wall: res.wall(), Exit: fmt.Sprint(res.ExitCode), Verdict: res.Verdict, Details: res.Stderr}
	var injects, restores []time.Time
	for _, ts := range revisionUpdates(calls, "fault") {
		if len(ts) < 2 {
			return out, fmt.Errorf("%s: a service was not injected and restored; log: %s", name, res.Stderr)
		}
		injects, restores = append(injects, ts[0]), append(restores, ts[1])
		out.HoldError = append(out.HoldError, ts[1].Sub(ts[0])-time.Duration(b.cfg.Duration)*time.Second)
	}
	if len(injects) != n {
		return out, fmt.Errorf("%s: %d services injected, want %d; log: %s", name, len(injects), n, res.Stderr)
	}
	first, last := earliestLatest(injects)
	out.FirstInject, out.InjectSpread = first.Sub(res.Start), last.Sub(first)
	first, last = earliestLatest(restores)
	out.RestoreSpread = last.Sub(first)
	b.logf("%s: first inject %s after start, injects within %s, restores within %s, hold error max %s, exit %d",
		name, ms(out.FirstInject), ms(out.InjectSpread), ms(out.RestoreSpread), ms(out.HoldError.max()), res.ExitCode)
	return out, checkExit(res, 0)
}

func earliestLatest(ts []time.Time) (first, last time.Time) {
	for i, t := range ts {
		if i == 0 || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return first, last
}

// writeSlowKubeconfig is the cluster's admin kubeconfig pointed at the proxy. The apiserver's certificate names
// 127.0.0.1, which the proxy's address keeps.
func (b *bench) writeSlowKubeconfig(cluster *kube.Cluster, proxyAddr string) (string, error) {
	raw, err := os.ReadFile(cluster.Kubeconfig)
	if err != nil {
		return "", fmt.Errorf("read the cluster's kubeconfig: %w", err)
	}
	if !strings.Contains(string(raw), cluster.URL) {
		return "", fmt.Errorf("the cluster's kubeconfig does not name %s", cluster.URL)
	}
	path := filepath.Join(b.cfg.WorkDir, "slowapi.kubeconfig")
	slow := strings.ReplaceAll(string(raw), cluster.URL, "https://"+proxyAddr)
	return path, os.WriteFile(path, []byte(slow), 0o600)
}

// readKubeVerdict reads the verdict of the one ChaosResult in the bench namespace, or "?".
func readKubeVerdict(ctx context.Context, cluster *kube.Cluster) string {
	cmd := exec.CommandContext(ctx, filepath.Join(cluster.BinDir, "kubectl"), "--kubeconfig", cluster.Kubeconfig, "get", "chaosresults",
		"-n", benchCluster, "-o", "jsonpath={.items[*].status.experimentStatus.verdict}")
	out, err := cmd.Output()
	if err != nil || len(out) == 0 {
		return "?"
	}
	return string(out)
}

// delayProxy forwards TCP connections to target, holding every chunk the client sends for delay: each request
// the fault makes to the apiserver (TLS handshake included) reaches it late, as over a slow or distant link.
type delayProxy struct {
	listener net.Listener
	target   string
	delay    time.Duration
	wg       sync.WaitGroup
}

func startDelayProxy(target string, delay time.Duration) (*delayProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("slow apiserver proxy: %w", err)
	}
	p := &delayProxy{listener: l, target: target, delay: delay}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *delayProxy) addr() string { return p.listener.Addr().String() }

func (p *delayProxy) close() {
	_ = p.listener.Close()
	p.wg.Wait()
}

func (p *delayProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return // closed
		}
		go p.pipe(client)
	}
}

func (p *delayProxy) pipe(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	go forwardLate(server, client, p.delay)
	_, _ = io.Copy(client, server)
	_ = client.Close()
	_ = server.Close()
}

// forwardLate copies src to dst, each chunk delay after it arrived, in order.
func forwardLate(dst, src net.Conn, delay time.Duration) {
	type chunk struct {
		due  time.Time
		data []byte
	}
	chunks := make(chan chunk, 256)
	go func() {
		defer dst.Close()
		for c := range chunks {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.data); err != nil {
				for range chunks { // drain so the reader is not blocked
				}
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunks <- chunk{due: time.Now().Add(delay), data: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			close(chunks)
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				_ = src.Close()
			}
			return
		}
	}
}

// compare judges the goal: the slow apiserver moves none of the fault's timings by more than 100 ms.
func (s *slowAPIResult) compare() (string, bool) {
	const tolerance = 100 * time.Millisecond
	dInject := s.Kube.InjectSpread - s.File.InjectSpread
	dRestore := s.Kube.RestoreSpread - s.File.RestoreSpread
	dHold := s.Kube.HoldError.max() - s.File.HoldError.max()
	return fmt.Sprintf("differences: inject spread %s, restore spread %s, max hold error %s", ms(dInject), ms(dRestore), ms(dHold)),
		dInject <= tolerance && dRestore <= tolerance && dHold <= tolerance
}

func (s *slowAPIResult) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("### Hooks behind a slow apiserver")
	p("")
	p("%d services in one parallel run, once with the file writer and once with the Kubernetes writer against a kube-apiserver that gets every request %s late. The start differs by the synchronous Running/Awaited write; everything after it must not.", s.Services, ms(s.Delay))
	p("")
	p("| writer | process start → first inject | first → last inject | first → last restore | hold error median / max | wall | exit, verdict |")
	p("|---|---|---|---|---|---|---|")
	for _, r := range []struct {
		name string
		run  writerRun
	}{{"file (RESULT_FILE)", s.File}, {fmt.Sprintf("Kubernetes, %s per request", ms(s.Delay)), s.Kube}} {
		p("| %s | %s | %s | %s | %s / %s | %s | %s %s |", r.name, ms(r.run.FirstInject), ms(r.run.InjectSpread), ms(r.run.RestoreSpread),
			ms(r.run.HoldError.median()), ms(r.run.HoldError.max()), secs(r.run.Wall), r.run.Exit, r.run.Verdict)
	}
	p("")
	return b.String()
}
