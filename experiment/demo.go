package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// demoCommand runs the fault end to end against the built-in ECS simulator, served on loopback and driven through
// the real AWS SDK: a cluster with a 3-task service, the fault for 10 s, the restore, and the ChaosResult on
// stdout. It needs no AWS account and no Kubernetes cluster.
func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	flags.SetOutput(stderr)
	duration := flags.Int("duration", 10, "seconds of chaos")
	tasks := flags.Int("tasks", 3, "desired tasks of the demo service")
	if err := flags.Parse(args); err != nil {
		return int(ecsimage.OutcomeRefused)
	}
	if *duration < 3 || *tasks < 1 {
		fmt.Fprintln(stderr, "demo: --duration must be at least 3 (seconds) and --tasks at least 1")
		return int(ecsimage.OutcomeRefused)
	}
	log := newLogger(stderr, func(string) (string, bool) { return "", false })

	// Short data-plane timings so that image pulls fail within the demo's seconds (real ECS takes tens of seconds):
	// the first chaos task fails about 1.5 s after the inject, so even a 3 s demo shows the effect.
	sim := ecssim.New(ecssim.Options{Timing: ecssim.Timing{
		Provisioning: 500 * time.Millisecond, PendingToRunning: time.Second, PullFailure: time.Second, StopDuration: 500 * time.Millisecond, LaunchBackoff: 2 * time.Second,
	}})
	defer sim.Close()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Errorf("demo: cannot listen on loopback: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	server := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Errorf("demo simulator stopped: %v", err)
		}
	}()
	defer server.Close()
	endpoint := "http://" + listener.Addr().String()
	log.Infof("demo: ECS simulator listening on %s", endpoint)

	env := map[string]string{
		"CLUSTER_NAME": "demo", "SERVICE_NAME": "web", "REGION": "us-east-1",
		"TOTAL_CHAOS_DURATION": strconv.Itoa(*duration), "CHAOS_INTERVAL": strconv.Itoa(*duration),
		"STATUS_CHECK_DELAY": "1", "STATUS_CHECK_TIMEOUT": "60", "EXPERIMENT_NAME": faultName,
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := tunables.Load(lookup, tunables.OSFileSystem{})
	if err != nil {
		log.Errorf("demo: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	client := ecs.NewFromConfig(staticAWS(cfg.Region, endpoint))
	sim.AddImage("nginx:1.27", "sha256:"+fmt.Sprintf("%064x", 127))
	if _, err := sim.SeedService(ctx, client, ecssim.SeedSpec{
		Cluster: "demo", Service: "web", Family: "web", Image: "nginx:1.27", DesiredCount: int32(*tasks),
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)},
	}); err != nil {
		log.Errorf("demo: seeding the simulator: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	before := describeDemo(ctx, client)
	log.Infof("demo: service web runs %s with %d task(s); starting the fault", aws.ToString(before.TaskDefinition), before.RunningCount)

	s := &session{cfg: cfg, runID: newRunID(), log: log, clock: clock.Real{}, stdout: stdout, lookupEnv: lookup, outsideCluster: true,
		clients: ecsimage.Clients{Chaos: client, Restore: ecs.NewFromConfig(staticAWS(cfg.Region, endpoint))}}
	code := s.runFault(ctx)

	after := describeDemo(ctx, client)
	log.Infof("demo: service web runs %s again (original: %v)", aws.ToString(after.TaskDefinition), aws.ToString(after.TaskDefinition) == aws.ToString(before.TaskDefinition))
	if out, err := client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: types.TaskDefinitionStatusInactive}); err == nil {
		log.Infof("demo: INACTIVE revisions of family web: %v", out.TaskDefinitionArns)
	}
	return code
}

func describeDemo(ctx context.Context, c *ecs.Client) types.Service {
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("demo"), Services: []string{"web"}})
	if err != nil || len(out.Services) == 0 {
		return types.Service{}
	}
	return out.Services[0]
}
