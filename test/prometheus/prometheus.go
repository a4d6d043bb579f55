// Package prometheus starts a real Prometheus server (Debian's package, /usr/bin/prometheus) on loopback for
// integration tests: a temporary storage directory, a fast scrape interval, the given scrape targets, and a
// helper that waits until a query returns a sample. A test whose server cannot start fails; it never skips.
// Install the binary with install.sh next to this file.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/test/freeport"
)

// Binary is where Debian's package installs the server.
const Binary = "/usr/bin/prometheus"

// ScrapeInterval is how often the server scrapes each target; short so that tests see a changed metric
// within a second or two.
const ScrapeInterval = 250 * time.Millisecond

const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
	startTries   = 3
)

// Server is a running Prometheus.
type Server struct {
	// URL is the server's base address, e.g. http://127.0.0.1:41234, as a promProbe endpoint takes it.
	URL string

	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

// Start runs Prometheus on a free 127.0.0.1 port scraping each target (host:port, or a URL whose path is
// the metrics path) and waits until it is ready. It stops the server in t.Cleanup.
func Start(t testing.TB, scrapeTargets ...string) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("prometheus: %s is missing (run test/prometheus/install.sh): %v", Binary, err)
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, "prometheus.yml")
	config, err := renderConfig(scrapeTargets)
	if err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatalf("prometheus: write config: %v", err)
	}

	// The free port is found by binding and releasing it, so another process may take it before
	// Prometheus binds; a server that exits during start-up is retried on a new port.
	var lastErr error
	for try := 1; try <= startTries; try++ {
		s, err := startOnce(t, dir, configPath, try)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("prometheus: could not start after %d tries: %v", startTries, lastErr)
	return nil
}

func startOnce(t testing.TB, dir, configPath string, try int) (*Server, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", try))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log file: %w", err)
	}
	defer logFile.Close()

	cmd := exec.Command(Binary,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", try)),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Its own process group, so that a test binary killed by a signal does not leave it behind mid-run
	// and so the stop below reaches every process it may have started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, s.logTail())
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", s.logTail())
		}
	})
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("prometheus exited before it was ready (%v)", s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready at %s: %w", s.URL, ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

func (s *Server) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	const max = 4000
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}

// WaitForSample polls the instant query until it returns at least one sample and returns the first
// sample's value. It ends with ctx.
func (s *Server) WaitForSample(ctx context.Context, query string) (float64, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		v, err := s.query(ctx, query)
		if err == nil {
			return v, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("no sample for %q: %w (last: %v)", query, ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

// WaitForValue polls the instant query until its first sample satisfies ok, and returns that value.
func (s *Server) WaitForValue(ctx context.Context, query string, ok func(float64) bool) (float64, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no sample yet"
	for {
		v, err := s.query(ctx, query)
		if err == nil && ok(v) {
			return v, nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = strconv.FormatFloat(v, 'g', -1, 64)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("query %q never gave the awaited value: %w (last: %s)", query, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

var errNoSample = errors.New("query returned no sample")

func (s *Server) query(ctx context.Context, query string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("decode query answer: %w", err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query failed: %s", body.Error)
	}
	if len(body.Data.Result) == 0 {
		return 0, errNoSample
	}
	text, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(text, 64)
}

// renderConfig writes one scrape job per target so that each can have its own metrics path.
func renderConfig(targets []string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: 1s\nscrape_configs:\n",
		ScrapeInterval, ScrapeInterval*4/5)
	for i, target := range targets {
		hostPort, path, err := splitTarget(target)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  - job_name: target%d\n    metrics_path: %q\n    static_configs:\n      - targets: [%q]\n", i, path, hostPort)
	}
	return b.String(), nil
}

func splitTarget(target string) (hostPort, path string, err error) {
	if !strings.Contains(target, "://") {
		return target, "/metrics", nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", "", fmt.Errorf("scrape target %q: %w", target, err)
	}
	if u.Scheme != "http" {
		return "", "", fmt.Errorf("scrape target %q: only http targets are supported", target)
	}
	path = u.Path
	if path == "" {
		path = "/metrics"
	}
	return u.Host, path, nil
}
