package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

const targetPrefix = "AmazonEC2ContainerServiceV20141113."

// call is one ECS request as it reached the simulator. Sent is its arrival at the server, which is what "on the
// wire" means in every figure: the simulator's injected latency delays replies, never arrivals.
type call struct {
	Sent           time.Time
	Op             string
	Service        string   // UpdateService: the service name (an ARN is cut to its name)
	Services       []string // DescribeServices: the names asked for
	TaskDefinition string   // UpdateService, Register/Describe/DeregisterTaskDefinition
	Client         string   // "cli" for the aws CLI, "fault" for everything else
	Status         int
	ErrorCode      string
}

// wireLog records every call in arrival order and tells watchers about each arrival as it happens.
type wireLog struct {
	mu       sync.Mutex
	calls    []call
	nextID   int
	watchers map[int]func(call)
}

// watch calls fn on every arrival until the returned function is called.
func (w *wireLog) watch(fn func(call)) (unwatch func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watchers == nil {
		w.watchers = map[int]func(call){}
	}
	id := w.nextID
	w.nextID++
	w.watchers[id] = fn
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.watchers, id)
	}
}

func (w *wireLog) snapshot() []call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]call(nil), w.calls...)
}

func (w *wireLog) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = nil
}

// statusRecorder keeps the status and error type the simulator answered with.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	errType string
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.errType = s.Header().Get("X-Amzn-ErrorType")
	s.ResponseWriter.WriteHeader(code)
}

// requestFields are the members of ECS requests that say which service or revision a call is about.
type requestFields struct {
	Service        string   `json:"service"`
	Services       []string `json:"services"`
	TaskDefinition string   `json:"taskDefinition"`
}

// middleware records each request before handing it, unchanged, to the simulator.
func (w *wireLog) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var f requestFields
		_ = json.Unmarshal(body, &f) // a body the simulator cannot read either is its to reject
		c := call{
			Sent:           arrived,
			Op:             strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix),
			Service:        lastSegment(f.Service),
			Services:       f.Services,
			TaskDefinition: f.TaskDefinition,
			Client:         clientOf(r.Header.Get("User-Agent")),
		}
		w.mu.Lock()
		watchers := make([]func(call), 0, len(w.watchers))
		for _, fn := range w.watchers {
			watchers = append(watchers, fn)
		}
		w.mu.Unlock()
		for _, fn := range watchers {
			fn(c)
		}
		rec := &statusRecorder{ResponseWriter: rw, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		c.Status, c.ErrorCode = rec.status, rec.errType
		w.mu.Lock()
		w.calls = append(w.calls, c)
		w.mu.Unlock()
	})
}

func clientOf(userAgent string) string {
	if strings.Contains(userAgent, "aws-cli") || strings.Contains(userAgent, "botocore") {
		return "cli"
	}
	return "fault"
}

func lastSegment(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// simServer is one simulator served on 127.0.0.1 with its wire log and a client for seeding.
type simServer struct {
	sim    *ecssim.Simulator
	wire   *wireLog
	url    string
	client *ecs.Client
	srv    *http.Server
	done   chan struct{}
}

func startSim(timing ecssim.Timing) (*simServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s := &simServer{
		sim:  ecssim.New(ecssim.Options{Timing: timing}),
		wire: &wireLog{},
		url:  "http://" + ln.Addr().String(),
		done: make(chan struct{}),
	}
	// The spec's IAM policy has no ecs:StopServiceDeployment: the restore measured is the UpdateService most users
	// get, comparable with the earlier figures.
	s.sim.Deny("StopServiceDeployment")
	s.srv = &http.Server{Handler: s.wire.middleware(s.sim.Handler()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed on close
	}()
	s.client = ecs.New(ecs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(fakeAccessKey, fakeSecretKey, ""),
		BaseEndpoint: aws.String(s.url),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = ratelimit.None
			o.MaxAttempts = 10
		}),
	})
	return s, nil
}

func (s *simServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
	s.sim.Close()
}

// seed creates n steady services of one task each, named <prefix>-0001 and up, in cluster; 16 are seeded at once.
func (s *simServer) seed(ctx context.Context, cluster, prefix string, n int) ([]string, error) {
	names := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		names[i] = fmt.Sprintf("%s-%04d", prefix, i+1)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, errs[i] = s.sim.SeedService(ctx, s.client, ecssim.SeedSpec{
				Cluster: cluster, Service: names[i], Family: names[i], Image: "nginx", DesiredCount: 1,
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	s.wire.reset()
	return names, nil
}
