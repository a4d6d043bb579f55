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

// TestDefaultRatesShareDocumentedBuckets: the pacer keeps one bucket per category of "Request throttling for the
// Amazon ECS API" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html), shared by
// the category's actions, and paces every call the fault makes except StopServiceDeployment, which ECS's table does
// not list.
func TestDefaultRatesShareDocumentedBuckets(t *testing.T) {
	p := newPacer(clock.Real{}, DefaultRates())
	tests := []struct {
		a, b   string
		shared bool
	}{
		{"RegisterTaskDefinition", "DeregisterTaskDefinition", true}, // task definition modify actions
		{"ListTasks", "DescribeTasks", true},                         // cluster resource read actions
		{"DescribeTaskDefinition", "ListTaskDefinitions", true},      // task definition read actions
		{"DescribeServices", "ListTasks", false},
		{"DescribeServices", "UpdateService", false},
		{"DescribeTaskDefinition", "RegisterTaskDefinition", false},
		{"DescribeServiceDeployments", "DescribeServices", false},
	}
	for _, tt := range tests {
		if got := p.buckets[tt.a] == p.buckets[tt.b]; got != tt.shared {
			t.Errorf("%s and %s share a bucket: %t, want %t", tt.a, tt.b, got, tt.shared)
		}
	}
	for _, op := range []string{"DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "DeregisterTaskDefinition",
		"UpdateService", "ListTasks", "DescribeTasks", "ListTaskDefinitions", "DescribeServiceDeployments"} {
		if p.buckets[op] == nil {
			t.Errorf("%s, which the fault calls, is not paced", op)
		}
	}
	if p.buckets["StopServiceDeployment"] != nil {
		t.Error("StopServiceDeployment is paced; ECS documents no rate for it")
	}
}

// TestPacerPacesRegistrationsAndDeregistrationsTogether: RegisterTaskDefinition and DeregisterTaskDefinition draw
// from ECS's one task definition modify bucket (burst 20, then 1/s), so 25 calls mixed between them take as long as
// 25 of either.
func TestPacerPacesRegistrationsAndDeregistrationsTogether(t *testing.T) {
	c := clock.NewScaled(100)
	p := newPacer(c, DefaultRates())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := c.Now()
	for i := range 25 {
		op := "RegisterTaskDefinition"
		if i%2 == 1 {
			op = "DeregisterTaskDefinition"
		}
		if err := p.take(ctx, op); err != nil {
			t.Fatalf("take %d (%s): %v", i, op, err)
		}
	}
	// 20 at once, then one a second (less the pacing margin): the 25th call goes after about 5.3 s.
	if took := c.Now().Sub(start); took < 5*time.Second || took > 7*time.Second {
		t.Errorf("25 registrations and deregistrations took %s of clock time, want about 5.3s", took)
	}
	start = c.Now()
	if err := p.take(ctx, "DescribeServices"); err != nil || c.Now().Sub(start) > time.Second {
		t.Errorf("DescribeServices, another bucket, waited %s (%v)", c.Now().Sub(start), err)
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
