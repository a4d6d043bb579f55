package ecssim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/distribution/reference"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// Options configures a Simulator. The zero value is usable.
type Options struct {
	Clock     clock.Clock // default clock.Real{}
	Region    string      // default "us-east-1"
	AccountID string      // default "123456789012"
	Timing    Timing      // zero value = realistic defaults
	Logf      func(format string, args ...any)
	// DenyRegisterTags makes RegisterTaskDefinition with tags fail with AccessDeniedException naming
	// ecs:TagResource, as ECS does since 2024 for callers whose policy lacks that action.
	DenyRegisterTags bool
	// Seed makes generated identifiers (task ids, deployment ids) reproducible; 0 picks 1.
	Seed uint64
}

// Timing sets how long the simulated data plane takes. Zero fields take the defaults below, chosen to be
// close to what Fargate tasks show in practice.
type Timing struct {
	Provisioning     time.Duration // PROVISIONING -> PENDING; default 3s
	PendingToRunning time.Duration // PENDING -> RUNNING when every image pulls; default 7s
	PullFailure      time.Duration // PENDING -> STOPPED when an image cannot be pulled (retries); default 20s
	StopDuration     time.Duration // STOPPING -> STOPPED; default 5s
	LaunchBackoff    time.Duration // first back-off after 3 consecutive launch failures, doubling; default 15s
	StoppedRetention time.Duration // how long STOPPED tasks stay visible; default 1h
	// NetworkAttachment is added to PROVISIONING for awsvpc tasks (the ENI); default 0.
	NetworkAttachment time.Duration
	// PullAttempts is how many times the agent tried the pull, as CannotPullContainerError says; default 5.
	PullAttempts int
	// HealthCheckGrace is how long a RUNNING task waits before it counts as healthy; default 0 (profiles.go).
	HealthCheckGrace time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Provisioning, 3*time.Second)
	def(&t.PendingToRunning, 7*time.Second)
	def(&t.PullFailure, 20*time.Second)
	def(&t.StopDuration, 5*time.Second)
	def(&t.LaunchBackoff, 15*time.Second)
	def(&t.StoppedRetention, time.Hour)
	if t.PullAttempts <= 0 {
		t.PullAttempts = 5
	}
	return t
}

// Simulator is an in-memory ECS control plane. All state sits behind one mutex and advances through a
// time-ordered event queue up to the clock's now, both on every request and from a background goroutine.
type Simulator struct {
	clk    clock.Clock
	region string
	acct   string
	timing Timing
	logf   func(string, ...any)
	codec  *codec

	mu       sync.Mutex
	now      time.Time
	queue    eventQueue
	seq      uint64
	rng      *rand.Rand
	clusters map[string]*cluster
	families map[string]*family
	reg      *registry
	tags     map[string][]types.Tag
	denyTags bool
	regs     registrations // RegisterTaskDefinition calls in flight per family

	hookOutcomes map[string]HookOutcome // lifecycle hook target ARN -> scripted answer (strategies.go)
	hookCalls    []HookInvocation

	reqMu    sync.Mutex
	requests []Request
	hooks    []func(Request)
	faults   map[string]*Fault
	limits   map[string]*bucket

	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New returns a running simulator; call Close to stop its background goroutine.
func New(opts Options) *Simulator {
	s := &Simulator{
		clk:      opts.Clock,
		region:   opts.Region,
		acct:     opts.AccountID,
		timing:   opts.Timing.withDefaults(),
		logf:     opts.Logf,
		codec:    newCodec(),
		clusters: map[string]*cluster{},
		families: map[string]*family{},
		reg:      newRegistry(),
		tags:     map[string][]types.Tag{},
		denyTags: opts.DenyRegisterTags,
		faults:   map[string]*Fault{},
		limits:   map[string]*bucket{},
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.acct == "" {
		s.acct = "123456789012"
	}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	seed := opts.Seed
	if seed == 0 {
		seed = 1
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.now = s.clk.Now()
	s.AddImage("nginx:latest", "sha256:"+strings.Repeat("6a", 32))
	s.wg.Add(1)
	go s.run()
	return s
}

// Close stops the background goroutine. The handler keeps answering (state then advances on requests only).
func (s *Simulator) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// SetRegisterTagsDenied switches the AccessDeniedException for RegisterTaskDefinition with tags on or off.
func (s *Simulator) SetRegisterTagsDenied(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyTags = deny
}

// normaliseImage spells a reference the way a container runtime resolves it: `nginx` is
// `docker.io/library/nginx:latest`. A reference that does not parse is kept as given (it never pulls).
func normaliseImage(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

func hashString(v string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(v); i++ {
		h ^= uint64(v[i])
		h *= 1099511628211
	}
	return h
}

// event is one scheduled state change; events at the same instant run in the order they were scheduled.
type event struct {
	at  time.Time
	seq uint64
	fn  func()
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// scheduleLocked runs fn at s.now+d (simulated). Caller holds s.mu.
func (s *Simulator) scheduleLocked(d time.Duration, fn func()) {
	s.seq++
	heap.Push(&s.queue, &event{at: s.now.Add(d), seq: s.seq, fn: fn})
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// advanceLocked runs every event due at or before to, each at its own instant, then sets now to to.
func (s *Simulator) advanceLocked(to time.Time) {
	for s.queue.Len() > 0 && !s.queue[0].at.After(to) {
		e := heap.Pop(&s.queue).(*event)
		if e.at.After(s.now) {
			s.now = e.at
		}
		e.fn()
	}
	if to.After(s.now) {
		s.now = to
	}
}

// lockAndAdvance takes the state lock with the state brought up to the clock's now.
func (s *Simulator) lockAndAdvance() {
	s.mu.Lock()
	s.advanceLocked(s.clk.Now())
}

func (s *Simulator) run() {
	defer s.wg.Done()
	for {
		s.lockAndAdvance()
		var next time.Time
		pending := s.queue.Len() > 0
		if pending {
			next = s.queue[0].at
		}
		s.mu.Unlock()

		var timer clock.Timer
		var fire <-chan time.Time
		if pending {
			timer = s.clk.NewTimer(max(next.Sub(s.clk.Now()), 0))
			fire = timer.C()
		}
		select {
		case <-fire:
		case <-s.wake:
		case <-s.done:
			if timer != nil {
				timer.Stop()
			}
			return
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func (s *Simulator) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", s.region, s.acct, resource)
}

func (s *Simulator) newTaskID() string {
	return fmt.Sprintf("%016x%016x", s.rng.Uint64(), s.rng.Uint64())
}

func (s *Simulator) newDeploymentID() string {
	return fmt.Sprintf("ecs-svc/%019d", s.rng.Uint64N(9e18)+1e18)
}

func (s *Simulator) newEventID() string {
	a, b := s.rng.Uint64(), s.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}
