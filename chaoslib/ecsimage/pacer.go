package ecsimage

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// Rate is a token bucket: Burst calls at once, refilled at PerSecond.
type Rate struct {
	Burst     int
	PerSecond float64
}

// DefaultRates are ECS's documented per-account throttling rates for the calls the fault makes. Pacing the fault's
// own calls to them keeps a 500-service run from leaning on ThrottlingException retries (which would share the
// account's budget with deploy pipelines, could starve the restore, and at preflight's 1000 reads exhausted the
// SDK's retries: measured in bench/).
func DefaultRates() map[string]Rate {
	return map[string]Rate{
		"RegisterTaskDefinition":   {Burst: 20, PerSecond: 1},
		"DeregisterTaskDefinition": {Burst: 20, PerSecond: 1},
		"UpdateService":            {Burst: 50, PerSecond: 5},
		"DescribeServices":         {Burst: 100, PerSecond: 20},
		"DescribeTaskDefinition":   {Burst: 100, PerSecond: 20},
		"ListTasks":                {Burst: 100, PerSecond: 20},
		"DescribeTasks":            {Burst: 100, PerSecond: 20},
	}
}

// pacingMargin is the share of a documented refill rate the pacer uses.
const pacingMargin = 0.95

// bucket is one token bucket on the run's clock.
type bucket struct {
	mu     sync.Mutex
	rate   Rate
	tokens float64
	last   time.Time
}

// wait takes a token, waiting on c until one is there or ctx ends.
func (b *bucket) wait(ctx context.Context, c clock.Clock) error {
	for {
		b.mu.Lock()
		now := c.Now()
		b.tokens = min(float64(b.rate.Burst), b.tokens+now.Sub(b.last).Seconds()*b.rate.PerSecond)
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return nil
		}
		need := time.Duration((1 - b.tokens) / b.rate.PerSecond * float64(time.Second))
		b.mu.Unlock()
		if !clock.Sleep(c, need, ctx.Done()) {
			return ctx.Err()
		}
	}
}

// pacer paces the calls of both clients of a run with one set of buckets: ECS counts them against one account.
type pacer struct {
	clock   clock.Clock
	buckets map[string]*bucket
}

func newPacer(c clock.Clock, rates map[string]Rate) *pacer {
	p := &pacer{clock: c, buckets: map[string]*bucket{}}
	for op, r := range rates {
		if r.Burst > 0 && r.PerSecond > 0 {
			// Refill a little below the documented rate: at exactly the rate, a millisecond of jitter on the way
			// makes ECS throttle the call (measured in bench/: a third of the deregistrations at 500 services).
			r.PerSecond *= pacingMargin
			p.buckets[op] = &bucket{rate: r, tokens: float64(r.Burst), last: c.Now()}
		}
	}
	return p
}

func (p *pacer) take(ctx context.Context, op string) error {
	if b, ok := p.buckets[op]; ok {
		return b.wait(ctx, p.clock)
	}
	return nil
}

// paced wraps an ECS client so that paced operations wait for a token first.
type paced struct {
	ECS
	p *pacer
}

func (c paced) RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	if err := c.p.take(ctx, "RegisterTaskDefinition"); err != nil {
		return nil, err
	}
	return c.ECS.RegisterTaskDefinition(ctx, in, optFns...)
}

func (c paced) DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	if err := c.p.take(ctx, "DeregisterTaskDefinition"); err != nil {
		return nil, err
	}
	return c.ECS.DeregisterTaskDefinition(ctx, in, optFns...)
}

func (c paced) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	if err := c.p.take(ctx, "UpdateService"); err != nil {
		return nil, err
	}
	return c.ECS.UpdateService(ctx, in, optFns...)
}

func (c paced) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if err := c.p.take(ctx, "DescribeServices"); err != nil {
		return nil, err
	}
	return c.ECS.DescribeServices(ctx, in, optFns...)
}

func (c paced) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if err := c.p.take(ctx, "DescribeTaskDefinition"); err != nil {
		return nil, err
	}
	return c.ECS.DescribeTaskDefinition(ctx, in, optFns...)
}

func (c paced) ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	if err := c.p.take(ctx, "ListTasks"); err != nil {
		return nil, err
	}
	return c.ECS.ListTasks(ctx, in, optFns...)
}

func (c paced) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	if err := c.p.take(ctx, "DescribeTasks"); err != nil {
		return nil, err
	}
	return c.ECS.DescribeTasks(ctx, in, optFns...)
}

// ListTaskDefinitions keeps recover's optional lookup reachable through the wrapper.
func (c paced) ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	lister, ok := c.ECS.(TaskDefinitionLister)
	if !ok {
		return nil, errNoLister
	}
	return lister.ListTaskDefinitions(ctx, in, optFns...)
}

// pacedClients wraps both clients with one pacer; nil or empty rates turn pacing off.
func pacedClients(c Clients, clk clock.Clock, rates map[string]Rate) Clients {
	if len(rates) == 0 {
		return c
	}
	p := newPacer(clk, rates)
	return Clients{Chaos: paced{ECS: c.Chaos, p: p}, Restore: paced{ECS: c.Restore, p: p}}
}
