package ecsimage

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

func TestPacerHoldsToTheDocumentedRate(t *testing.T) {
	c := clock.NewScaled(100)
	p := newPacer(c, map[string]Rate{"RegisterTaskDefinition": {Burst: 20, PerSecond: 1}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := c.Now()
	for i := 0; i < 25; i++ {
		if err := p.take(ctx, "RegisterTaskDefinition"); err != nil {
			t.Fatalf("take %d: %v", i, err)
		}
	}
	// 20 at once, then one a second (less the pacing margin): the 25th call goes after about 5.3 s.
	if took := c.Now().Sub(start); took < 5*time.Second || took > 7*time.Second {
		t.Errorf("25 calls took %s of clock time, want about 5.3s", took)
	}
	if err := p.take(ctx, "DescribeServices"); err != nil {
		t.Errorf("an unpaced operation waited: %v", err)
	}
}

func TestPacerStopsWaitingWhenStopped(t *testing.T) {
	c := clock.Real{}
	p := newPacer(c, map[string]Rate{"UpdateService": {Burst: 1, PerSecond: 0.001}})
	ctx, cancel := context.WithCancel(t.Context())
	if err := p.take(ctx, "UpdateService"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.take(ctx, "UpdateService"); err == nil {
		t.Error("a stopped context still got a token after the bucket ran dry")
	}
}

func TestDefaultRatesShareDocumentedBuckets(t *testing.T) {
	p := newPacer(clock.Real{}, DefaultRates())
	if p.buckets["DescribeTasks"] != p.buckets["DescribeContainerInstances"] {
		t.Error("DescribeTasks and DescribeContainerInstances have separate buckets; ECS throttles them together")
	}
	if p.buckets["DescribeTasks"] == p.buckets["ListTasks"] || p.buckets["RegisterTaskDefinition"] == p.buckets["DeregisterTaskDefinition"] {
		t.Error("operations with their own ECS buckets share one")
	}
	for _, op := range []string{"DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "DeregisterTaskDefinition",
		"UpdateService", "ListTasks", "DescribeTasks", "ListTaskDefinitions"} {
		if p.buckets[op] == nil {
			t.Errorf("%s, which the fault calls, is not paced", op)
		}
	}
}

// TestPacerMiddlewarePacesEveryCallAndAttempt: the pacer is one middleware in the SDK client's stack, so every
// operation is paced by name (ListTaskDefinitions too, which recover calls) and so is every retry of a throttled
// call.
func TestPacerMiddlewarePacesEveryCallAndAttempt(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 1})
	rates := map[string]Rate{
		"ListTaskDefinitions": {Burst: 2, PerSecond: 1},
		"DescribeServices":    {Burst: 1, PerSecond: 1},
	}
	clients := pacedClients(e.clients, e.clock, rates)
	ctx := t.Context()

	start := e.clock.Now()
	lister := clients.Restore.(TaskDefinitionLister)
	for i := range 4 {
		if _, err := lister.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{}); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	// Two at once, then one a second (less the pacing margin): the fourth call goes after about 2.1 s.
	if took := e.clock.Now().Sub(start); took < 2*time.Second {
		t.Errorf("4 ListTaskDefinitions calls took %s of clock time, want about 2.1s: not paced", took)
	}

	// The first attempt takes the only token and is throttled; the SDK's retry waits for the next one.
	e.sim.SetFault("DescribeServices", ecssim.Fault{Throttle: 1})
	start = e.clock.Now()
	if _, err := clients.Chaos.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}}); err != nil {
		t.Fatalf("describe after one throttle: %v", err)
	}
	if took := e.clock.Now().Sub(start); took < time.Second {
		t.Errorf("a throttled call and its retry took %s of clock time, want about 1s: the retry was not paced", took)
	}
}
