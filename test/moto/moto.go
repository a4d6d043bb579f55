// Package moto starts Python's moto_server on loopback for integration tests, one process per test package,
// and fronts it with a small rewriting proxy that repairs the few response shapes the Go SDK rejects.
//
// moto is an independent peer for API conformance (request validation, resource shapes, ARNs, tags,
// STS, IAM enforcement), never a model of ECS dynamics: see README.md for what it does not model.
package moto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ecschaos/ecs-invalid-container-image/test/freeport"
)

const (
	// DefaultRegion is the region AWSConfig signs for unless WithRegion says otherwise.
	DefaultRegion = "us-east-1"
	// AccountID is the account moto puts in every ARN it builds.
	AccountID = "123456789012"

	// Static test credentials. moto accepts any key while IAM enforcement is off; with enforcement on,
	// use the keys CreateIAMUser returns instead.
	testAccessKeyID     = "AKIAMOTOTESTKEY00000"
	testSecretAccessKey = "moto-test-secret"

	defaultStartTimeout = 30 * time.Second
	stopGrace           = 5 * time.Second
	startAttempts       = 3       // the free port we pick can be taken before moto binds it
	logTailBytes        = 1 << 16 // moto logs every request; keep failure output readable
)

// Option changes how Start runs moto_server.
type Option func(*options)

type options struct {
	region       string
	env          []string
	startTimeout time.Duration
	// noAuthCalls is moto's INITIAL_NO_AUTH_ACTION_COUNT; negative means IAM is never enforced.
	noAuthCalls int
}

// WithRegion sets the region AWSConfig uses (moto keeps separate state per region).
func WithRegion(region string) Option { return func(o *options) { o.region = region } }

// WithEnv adds "KEY=VALUE" entries to moto_server's environment, for example
// MOTO_ECS_SERVICE_RUNNING=2 so that new services report running tasks and a COMPLETED rollout.
func WithEnv(keyValues ...string) Option {
	return func(o *options) { o.env = append(o.env, keyValues...) }
}

// WithIAMEnforcement makes moto authenticate and authorize every call after the first
// unauthenticatedCalls calls (moto's INITIAL_NO_AUTH_ACTION_COUNT): those first calls are the test's
// setup, for example CreateIAMUser. Reset restores this setting.
func WithIAMEnforcement(unauthenticatedCalls int) Option {
	return func(o *options) { o.noAuthCalls = max(unauthenticatedCalls, 0) }
}

// WithStartTimeout bounds how long Start waits for moto_server to answer (default 30 s).
func WithStartTimeout(d time.Duration) Option { return func(o *options) { o.startTimeout = d } }

// Server is a running moto_server and its rewriting proxy.
type Server struct {
	// URL is the endpoint to give the SDK: the rewriting proxy in front of moto.
	URL string
	// RawURL is moto_server itself, for requests whose bytes must not be touched.
	RawURL string
	// Region is the region AWSConfig signs for.
	Region string

	noAuthCalls int
	logs        *lockedBuffer
}

// Start runs moto_server on a free 127.0.0.1 port, waits until it answers, and stops its whole process
// group when the test ends. It fails the test (never skips) when moto_server is missing or does not start.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{region: DefaultRegion, startTimeout: defaultStartTimeout, noAuthCalls: -1}
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto: moto_server not found on PATH (install Python's moto[server]): %v", err)
	}

	var lastErr error
	for range startAttempts {
		srv, err := launch(t, bin, o)
		if err == nil {
			return srv
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("moto: %v", lastErr)
	return nil
}

var errPortTaken = errors.New("port taken before moto_server bound it")

// launch starts one moto_server process; on failure it has already stopped it.
func launch(t testing.TB, bin string, o options) (*Server, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = motoEnv(os.Environ(), o)
	cmd.Stdout = logs
	cmd.Stderr = logs
	// Its own process group, so that stopping it also stops anything it forked (werkzeug may).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop := func() { stopGroup(cmd.Process.Pid, exited) }

	raw := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(t.Context(), o.startTimeout)
	defer cancel()
	if err := waitReady(ctx, raw, exited); err != nil {
		stop()
		out := logs.tail(logTailBytes)
		if strings.Contains(out, "Address already in use") {
			return nil, errPortTaken
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("moto_server exited before it was ready (%v); its output:\n%s", waitErr, out)
		default:
		}
		return nil, fmt.Errorf("moto_server not ready within %s: %w; its output:\n%s", o.startTimeout, err, out)
	}

	proxy, err := newRewritingProxy(raw)
	if err != nil {
		stop()
		return nil, err
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(func() {
		front.Close()
		stop()
		if t.Failed() {
			t.Logf("moto_server output (last %d bytes):\n%s", logTailBytes, logs.tail(logTailBytes))
		}
	})
	return &Server{URL: front.URL, RawURL: raw, Region: o.region, noAuthCalls: o.noAuthCalls, logs: logs}, nil
}

// motoEnv is the parent's environment without variables that would change moto's behaviour behind the
// test's back (or hand it real credentials), plus the options.
func motoEnv(parent []string, o options) []string {
	env := make([]string, 0, len(parent)+len(o.env)+2)
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "MOTO_") ||
			name == "INITIAL_NO_AUTH_ACTION_COUNT" || name == "TEST_SERVER_MODE" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PYTHONUNBUFFERED=1")
	if o.noAuthCalls >= 0 {
		env = append(env, "INITIAL_NO_AUTH_ACTION_COUNT="+strconv.Itoa(o.noAuthCalls))
	}
	return append(env, o.env...)
}

// waitReady polls moto's own API until it answers; moto needs a few seconds to import its backends.
func waitReady(ctx context.Context, raw string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw+"/moto-api/data.json", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("process exited")
		case <-tick.C:
		}
	}
}

// stopGroup asks the process group to stop, then kills it if it is still there after stopGrace.
func stopGroup(pid int, exited <-chan struct{}) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

// AWSConfig returns a configuration that sends every service (ECS, STS, CloudWatch, IAM) to the proxy with
// static test credentials. It never reads the host's environment or shared files.
func (s *Server) AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	return aws.Config{
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(testAccessKeyID, testSecretAccessKey, ""),
		BaseEndpoint: aws.String(s.URL),
	}
}

// Reset drops every resource moto holds (all services, all regions) and restores the IAM enforcement
// setting Start was given, so that subtests sharing one server start clean.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	s.post(t, "/moto-api/reset", "")
	s.setNoAuthCalls(t, s.noAuthCalls)
}

// EnforceIAM turns IAM enforcement on now, after unauthenticatedCalls more calls (0: from the next call).
func (s *Server) EnforceIAM(t testing.TB, unauthenticatedCalls int) {
	t.Helper()
	s.setNoAuthCalls(t, max(unauthenticatedCalls, 0))
}

// setNoAuthCalls uses moto's reset-auth endpoint, which also zeroes moto's call counter.
func (s *Server) setNoAuthCalls(t testing.TB, n int) {
	t.Helper()
	value := "inf"
	if n >= 0 {
		value = strconv.Itoa(n)
	}
	s.post(t, "/moto-api/reset-auth", value)
}

// Logs returns moto_server's output so far (it logs one line per request).
func (s *Server) Logs() string { return s.logs.tail(-1) }

func (s *Server) post(t testing.TB, path, body string) {
	t.Helper()
	// Not t.Context(): Reset is also called from t.Cleanup, after that context is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.RawURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("moto: %s: %v", path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto: POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto: POST %s: %s: %s", path, resp.Status, msg)
	}
}

// lockedBuffer collects the process output written by exec's copying goroutines while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n bytes (all of it when n < 0).
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.buf.Bytes()
	if n >= 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return string(out)
}
