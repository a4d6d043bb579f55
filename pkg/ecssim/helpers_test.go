package ecssim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// testScale runs simulated time this many times faster than the wall clock in tests on a scaled clock.
const testScale = 100

// manualClock only moves when a test advances it, so scenario tests observe every state deterministically
// however slow the machine is.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	clk *manualClock
	at  time.Time
	c   chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (m *manualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *manualClock) NewTimer(d time.Duration) clock.Timer {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &manualTimer{clk: m, at: m.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- m.now
		return t
	}
	m.timers = append(m.timers, t)
	return t
}

// Advance moves the clock and fires the timers that became due.
func (m *manualClock) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
	kept := m.timers[:0]
	for _, t := range m.timers {
		if t.at.After(m.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- m.now
	}
	m.timers = kept
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	for i, x := range t.clk.timers {
		if x == t {
			t.clk.timers = append(t.clk.timers[:i], t.clk.timers[i+1:]...)
			return true
		}
	}
	return false
}

// startScaled starts a simulator on opts.Clock, by default a manual clock that watch and clockSleep advance.
func startScaled(t *testing.T, opts Options, optFns ...func(*ecs.Options)) (*Simulator, *ecs.Client, context.Context) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = newManualClock()
	}
	opts.Logf = t.Logf
	s, c, _ := StartServer(t, opts, optFns...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return s, c, ctx
}

// clockSleep lets d of simulated time pass: at once on a manual clock, d/scale of real time on a scaled one.
func clockSleep(ctx context.Context, t *testing.T, s *Simulator, d time.Duration) {
	t.Helper()
	if m, ok := s.clk.(*manualClock); ok {
		m.Advance(d)
		return
	}
	if !clock.Sleep(s.clk, d, ctx.Done()) {
		t.Fatalf("test context ended: %v", ctx.Err())
	}
}

// errorCode is the ECS error code of err, or "" when err carries none.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func describeService(ctx context.Context, t *testing.T, c *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		t.Fatalf("DescribeServices: %v", err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices returned %d services, failures %v", len(out.Services), out.Failures)
	}
	return out.Services[0]
}

// watch polls the service every simulated second until done returns true or simTimeout of simulated time
// passes; check runs on every observation so invariants hold throughout, not just at the end.
func watch(ctx context.Context, t *testing.T, s *Simulator, c *ecs.Client, cluster, name string, simTimeout time.Duration,
	check func(types.Service), done func(types.Service) bool) types.Service {
	t.Helper()
	deadline := s.Now().Add(simTimeout)
	for {
		svc := describeService(ctx, t, c, cluster, name)
		if check != nil {
			check(svc)
		}
		if done(svc) {
			return svc
		}
		if s.Now().After(deadline) {
			t.Fatalf("not reached within %v of simulated time; service: %s", simTimeout, summarize(svc))
		}
		clockSleep(ctx, t, s, time.Second)
	}
}

func summarize(svc types.Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status=%s desired=%d running=%d pending=%d td=%s", aws.ToString(svc.Status), svc.DesiredCount,
		svc.RunningCount, svc.PendingCount, aws.ToString(svc.TaskDefinition))
	for _, d := range svc.Deployments {
		fmt.Fprintf(&b, "\n  %s %s %s td=%s desired=%d running=%d pending=%d failed=%d (%s)", aws.ToString(d.Id),
			aws.ToString(d.Status), d.RolloutState, aws.ToString(d.TaskDefinition), d.DesiredCount, d.RunningCount,
			d.PendingCount, d.FailedTasks, aws.ToString(d.RolloutStateReason))
	}
	for i := len(svc.Events) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "\n  event: %s", aws.ToString(svc.Events[i].Message))
	}
	return b.String()
}

func hasEvent(svc types.Service, substr string) bool {
	for _, e := range svc.Events {
		if strings.Contains(aws.ToString(e.Message), substr) {
			return true
		}
	}
	return false
}

func registerRevision(ctx context.Context, t *testing.T, c *ecs.Client, family, image string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true)}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", image, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func updateTaskDefinition(ctx context.Context, t *testing.T, c *ecs.Client, cluster, name, td string) {
	t.Helper()
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(name), TaskDefinition: aws.String(td)}); err != nil {
		t.Fatalf("UpdateService(%s): %v", td, err)
	}
}

func primary(svc types.Service) types.Deployment {
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return d
		}
	}
	return types.Deployment{}
}

func stoppedTasks(ctx context.Context, t *testing.T, c *ecs.Client, cluster, name string) []types.Task {
	t.Helper()
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(name), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	var out []types.Task
	for i := 0; i < len(list.TaskArns); i += 100 {
		desc, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns[i:min(i+100, len(list.TaskArns))]})
		if err != nil {
			t.Fatalf("DescribeTasks: %v", err)
		}
		out = append(out, desc.Tasks...)
	}
	return out
}

func errorAs(err error, target any) bool { return errors.As(err, target) }

func registerInput(image string) []types.ContainerDefinition {
	return []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image)}}
}
