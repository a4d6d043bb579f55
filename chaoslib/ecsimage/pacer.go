package ecsimage

import (
	"context"
	"slices"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecsthrottle"
)

// Rate is a token bucket: Burst calls at once, refilled at PerSecond. Operations whose Rate names the same Bucket
// draw from one bucket, as ECS throttles some actions together; an empty Bucket is the operation's own.
type Rate struct {
	Burst     int
	PerSecond float64
	Bucket    string
}

// DefaultRates are ECS's documented per-account, per-Region throttling buckets (pkg/ecsthrottle: "Request
// throttling for the Amazon ECS API", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html),
// keyed on action. The actions of one category share its bucket, so the pacer paces them together:
// RegisterTaskDefinition with DeregisterTaskDefinition (20, then 1/s), ListTasks with DescribeTasks,
// DescribeTaskDefinition with ListTaskDefinitions. StopServiceDeployment is not in ECS's table and so is not paced.
// Pacing the fault's own calls to them keeps a 500-service run from leaning on ThrottlingException retries (which
// would share the account's budget with deploy pipelines, could starve the restore, and at preflight's 1000 reads
// exhausted the SDK's retries: measured in bench/).
func DefaultRates() map[string]Rate {
	rates := map[string]Rate{}
	for _, c := range ecsthrottle.Categories() {
		for _, action := range c.Actions {
			rates[action] = Rate{Burst: c.Burst, PerSecond: c.RefillPerSecond, Bucket: c.Name}
		}
	}
	return rates
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

// pacer paces the calls of both clients of a run with one set of buckets, keyed on the operation name: ECS counts
// them against one account.
type pacer struct {
	clock   clock.Clock
	buckets map[string]*bucket // operation -> its bucket; operations sharing a bucket share the pointer
}

func newPacer(c clock.Clock, rates map[string]Rate) *pacer {
	p := &pacer{clock: c, buckets: map[string]*bucket{}}
	shared := map[string]*bucket{}
	for op, r := range rates {
		if r.Burst <= 0 || r.PerSecond <= 0 {
			continue
		}
		if b := shared[r.Bucket]; r.Bucket != "" && b != nil {
			p.buckets[op] = b
			continue
		}
		// Refill a little below the documented rate: at exactly the rate, a millisecond of jitter on the way
		// makes ECS throttle the call (measured in bench/: a third of the deregistrations at 500 services).
		r.PerSecond *= pacingMargin
		b := &bucket{rate: r, tokens: float64(r.Burst), last: c.Now()}
		p.buckets[op] = b
		if r.Bucket != "" {
			shared[r.Bucket] = b
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

// pacerMiddlewareID names the pacer in the SDK's middleware stack.
const pacerMiddlewareID = "ecsimage.Pacer"

// addTo puts the pacer into an ECS client's middleware stack: one middleware for every operation, keyed on the
// operation's name. It sits in the finalize step right after the retry loop, so every attempt (a throttled
// call's retries too) waits for a token, and before signing, so a long wait cannot age a signature.
func (p *pacer) addTo(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc(pacerMiddlewareID,
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := p.take(ctx, awsmiddleware.GetOperationName(ctx)); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		}), "ResolveAuthScheme", middleware.Before)
}

// pace returns a copy of an SDK client with the pacer in its stack. Another implementation of ECS is used as
// given: whoever wrote it paces it.
func (p *pacer) pace(c ECS) ECS {
	client, ok := c.(*ecs.Client)
	if !ok {
		return c
	}
	return ecs.New(client.Options(), func(o *ecs.Options) { o.APIOptions = append(slices.Clip(o.APIOptions), p.addTo) })
}

// pacedClients paces both clients with one pacer; nil or empty rates turn pacing off.
func pacedClients(c Clients, clk clock.Clock, rates map[string]Rate) Clients {
	if len(rates) == 0 {
		return c
	}
	p := newPacer(clk, rates)
	return Clients{Chaos: p.pace(c.Chaos), Restore: p.pace(c.Restore)}
}
