package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// The wire log is what every figure is computed from: it must see each call with its service, revision and
// outcome, through the real SDK and the simulator's HTTP handler.
func TestWireLogRecordsCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := startSim(ecssim.FastTiming())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.close)
	names, err := sim.seed(ctx, benchCluster, "svc", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sim.wire.snapshot()) != 0 {
		t.Fatalf("seeding calls stayed in the log: %v", sim.wire.snapshot())
	}
	var mu sync.Mutex
	var arrivals []string
	unwatch := sim.wire.watch(func(c call) {
		mu.Lock()
		defer mu.Unlock()
		arrivals = append(arrivals, c.Op)
	})

	out, err := sim.client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(benchCluster), Services: names})
	if err != nil {
		t.Fatal(err)
	}
	sim.sim.SetFault("UpdateService", ecssim.Fault{Throttle: 1})
	_, err = sim.client.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(benchCluster), Service: out.Services[0].ServiceArn, TaskDefinition: out.Services[0].TaskDefinition,
	})
	if err != nil {
		t.Fatal(err) // the client retries the throttled attempt
	}
	unwatch()
	if _, err := sim.client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(benchCluster), Services: names}); err != nil {
		t.Fatal(err)
	}

	calls := sim.wire.snapshot()
	if len(calls) != 4 {
		t.Fatalf("logged %d calls, want 4: %+v", len(calls), calls)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != 3 {
		t.Fatalf("watcher saw %v, want the 3 calls made before unwatch", arrivals)
	}
	if c := calls[0]; c.Op != "DescribeServices" || len(c.Services) != 2 || c.Status != 200 || c.Client != "fault" {
		t.Errorf("first call = %+v", c)
	}
	if c := calls[1]; c.Op != "UpdateService" || c.ErrorCode != "ThrottlingException" || c.Status != 400 {
		t.Errorf("throttled call = %+v", c)
	}
	if c := calls[2]; c.Service != names[0] || c.TaskDefinition != aws.ToString(out.Services[0].TaskDefinition) || c.Status != 200 {
		t.Errorf("update = %+v, want service %s (ARN cut to its name) and its task definition", c, names[0])
	}
	if !calls[1].Sent.Before(calls[2].Sent) {
		t.Errorf("calls out of arrival order: %v then %v", calls[1].Sent, calls[2].Sent)
	}
}

func TestClientOf(t *testing.T) {
	tests := map[string]string{
		"aws-cli/1.45.11 Python/3.11.7 Linux/6.1 botocore/1.43.11":    "cli",
		"aws-sdk-go-v2/1.48.0 ua/2.1 os/linux lang/go#1.26 api/ecs#1": "fault",
		"": "fault",
	}
	for ua, want := range tests {
		if got := clientOf(ua); got != want {
			t.Errorf("clientOf(%q) = %s, want %s", ua, got, want)
		}
	}
}
