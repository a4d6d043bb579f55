package simenv

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// OnInject returns a channel closed once the simulator has answered the fault's inject: its first successful
// UpdateService.
func OnInject(sim *ecssim.Simulator) <-chan struct{} { return OnHold(sim, 0) }

// OnHold returns a channel closed once the simulator has answered the inject and then polls DescribeServices calls:
// the run is in its hold. The simulator calls it from its handler goroutines, before each reply is written.
func OnHold(sim *ecssim.Simulator, polls int) <-chan struct{} {
	inHold := make(chan struct{})
	var mu sync.Mutex
	injected, seen, fired := false, 0, false
	sim.OnRequest(func(r ecssim.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Operation == "UpdateService" && r.Mutating && r.ErrorCode == "":
			injected = true
		case injected && r.Operation == "DescribeServices":
			seen++
		default:
			return
		}
		if seen >= polls && !fired {
			fired = true
			close(inHold)
		}
	})
	return inHold
}

// Succeeded counts the simulator's successful calls of operation, e.g. RegisterTaskDefinition: one per chaos
// revision the fault registered.
func Succeeded(sim *ecssim.Simulator, operation string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Operation == operation && r.ErrorCode == "" {
			n++
		}
	}
	return n
}

// Service describes the named service with client (the test's own), failing the test when ECS does not return
// exactly that one service within 10 s.
func Service(t testing.TB, client *ecs.Client, cluster, name string) types.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil {
		t.Fatalf("describe service %s in cluster %s: %v", name, cluster, err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("describe service %s in cluster %s: %d services, failures %v", name, cluster, len(out.Services), out.Failures)
	}
	return out.Services[0]
}
