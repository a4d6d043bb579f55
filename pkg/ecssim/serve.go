package ecssim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// noBackoff retries at once: tests drive time with the simulator's clock, not with retry sleeps.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// Server is a simulator served over HTTP on loopback, for the demo, benchmarks and tests alike. It needs neither
// the testing package nor net/http/httptest, so a binary that embeds it (the pod's demo) links neither.
type Server struct {
	Sim *Simulator
	URL string // http://127.0.0.1:port

	srv *http.Server
}

// Serve starts a new simulator on an ephemeral loopback port. Close stops both.
func Serve(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ecssim: listen on loopback: %w", err)
	}
	s := New(opts)
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // returns ErrServerClosed once Close runs
	return &Server{Sim: s, URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the HTTP server, drops open connections, and stops the simulator.
func (srv *Server) Close() {
	_ = srv.srv.Close()
	srv.Sim.Close()
}

// Client returns an SDK client pointed at the server (static credentials, the simulator's region, the standard
// retryer without back-off delay or retry quota); optFns adjust it.
func (srv *Server) Client(optFns ...func(*ecs.Options)) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       srv.Sim.region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDECSSIMULATOR", "ecssim-test-secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = noBackoff{}
			o.RateLimiter = ratelimit.None
		}),
	}, optFns...)
}

// TestingT is the part of testing.TB that StartServer uses; *testing.T and *testing.B satisfy it. Declaring it here
// keeps the testing package out of binaries that import the simulator.
type TestingT interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// StartServer is Serve for tests: it returns the simulator with an SDK client pointed at it (see Server.Client) and
// the URL, fails the test when the server cannot start, and stops both at t's cleanup. optFns adjust the client,
// e.g. `func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} }`.
func StartServer(t TestingT, opts Options, optFns ...func(*ecs.Options)) (*Simulator, *ecs.Client, string) {
	t.Helper()
	srv, err := Serve(opts)
	if err != nil {
		t.Fatalf("start the ECS simulator: %v", err)
		return nil, nil, ""
	}
	t.Cleanup(srv.Close)
	return srv.Sim, srv.Client(optFns...), srv.URL
}

// SeedSpec describes a service to create with SeedService.
type SeedSpec struct {
	Cluster string // created when missing; default "default"
	Service string
	Family  string
	// Image is the image of a single container named "app"; Containers, when set, replace it.
	Image      string
	Containers []types.ContainerDefinition
	// TaskDefinitionTags are given to RegisterTaskDefinition.
	TaskDefinitionTags      []types.Tag
	DesiredCount            int32
	DeploymentConfiguration *types.DeploymentConfiguration
	Controller              types.DeploymentControllerType // default ECS
	LaunchType              types.LaunchType               // default FARGATE
	SchedulingStrategy      types.SchedulingStrategy       // default REPLICA; DAEMON ignores DesiredCount
	// ContainerInstances registers this many instances of Instance in the cluster first (capacity.go).
	ContainerInstances  int
	Instance            InstanceSpec
	TaskCPU, TaskMemory string // task-level CPU units and MiB; default "256" and "512"
	// NetworkMode is the task definition's; default awsvpc (whose tasks also wait Timing.NetworkAttachment).
	NetworkMode types.NetworkMode
}

// SeedService creates the cluster, task definition and service of spec through c (so the request log and
// tags are as a real setup would leave them) and then brings every task to RUNNING at once, so the
// service starts with one COMPLETED deployment. It fails when an image is not pullable.
func (s *Simulator) SeedService(ctx context.Context, c *ecs.Client, spec SeedSpec) (string, error) {
	spec = spec.withDefaults()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(spec.Cluster)}); err != nil {
		return "", fmt.Errorf("seed cluster %s: %w", spec.Cluster, err)
	}
	if spec.ContainerInstances > 0 {
		if _, err := s.AddContainerInstances(spec.Cluster, spec.ContainerInstances, spec.Instance); err != nil {
			return "", fmt.Errorf("seed cluster %s: %w", spec.Cluster, err)
		}
	}
	reg, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(spec.Family), ContainerDefinitions: spec.containers(), Tags: spec.TaskDefinitionTags,
		RequiresCompatibilities: []types.Compatibility{types.Compatibility(spec.LaunchType)},
		NetworkMode:             spec.NetworkMode, Cpu: aws.String(spec.TaskCPU), Memory: aws.String(spec.TaskMemory),
	})
	if err != nil {
		return "", fmt.Errorf("seed task definition %s: %w", spec.Family, err)
	}
	created, err := c.CreateService(ctx, spec.createServiceInput(reg.TaskDefinition.TaskDefinitionArn))
	if err != nil {
		return "", fmt.Errorf("seed service %s: %w", spec.Service, err)
	}
	if err := s.settleNow(spec.Cluster, spec.Service); err != nil {
		return "", err
	}
	return aws.ToString(created.Service.ServiceArn), nil
}

// withDefaults fills in the defaults SeedSpec documents for the members left empty.
func (spec SeedSpec) withDefaults() SeedSpec {
	if spec.Cluster == "" {
		spec.Cluster = "default"
	}
	if spec.LaunchType == "" {
		spec.LaunchType = types.LaunchTypeFargate
	}
	if spec.TaskCPU == "" {
		spec.TaskCPU = "256"
	}
	if spec.TaskMemory == "" {
		spec.TaskMemory = "512"
	}
	if spec.NetworkMode == "" {
		spec.NetworkMode = types.NetworkModeAwsvpc
	}
	return spec
}

// containers is the container list to register: Containers, else one essential container "app" running Image
// (nginx when empty, which the simulator's registry always holds).
func (spec SeedSpec) containers() []types.ContainerDefinition {
	if len(spec.Containers) > 0 {
		return spec.Containers
	}
	image := spec.Image
	if image == "" {
		image = "nginx"
	}
	return []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true)}}
}

// createServiceInput is the CreateService call that seeds spec's service on taskDefinitionARN, in an awsvpc
// network as Fargate requires.
func (spec SeedSpec) createServiceInput(taskDefinitionARN *string) *ecs.CreateServiceInput {
	in := &ecs.CreateServiceInput{
		Cluster: aws.String(spec.Cluster), ServiceName: aws.String(spec.Service),
		TaskDefinition: taskDefinitionARN, DesiredCount: aws.Int32(spec.DesiredCount),
		LaunchType: spec.LaunchType, DeploymentConfiguration: spec.DeploymentConfiguration,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-0123456789abcdef0"}, AssignPublicIp: types.AssignPublicIpDisabled,
		}},
	}
	if spec.SchedulingStrategy == types.SchedulingStrategyDaemon {
		in.SchedulingStrategy = types.SchedulingStrategyDaemon
		in.DesiredCount = nil // one task per container instance
	}
	if spec.Controller != "" {
		in.DeploymentController = &types.DeploymentController{Type: spec.Controller}
	}
	return in
}

// settleNow brings every task of a service that is on its way up to RUNNING immediately.
func (s *Simulator) settleNow(clusterName, serviceName string) error {
	s.lockAndAdvance()
	defer s.mu.Unlock()
	svc, e := s.serviceLocked(clusterName, serviceName)
	if e != nil {
		return fmt.Errorf("seed service %s: %w", serviceName, e)
	}
	for _, t := range svc.tasks() {
		if !t.active() || t.healthy() {
			continue
		}
		pulled, failures := s.pullPlan(t)
		for _, msg := range failures {
			if msg != "" {
				return errors.New("seed service " + serviceName + ": " + msg)
			}
		}
		t.pulled, t.pullFailures = pulled, nil
		if t.pullStartedAt == nil {
			t.pullStartedAt = timePtr(s.now)
		}
		s.startContainers(t)
		t.graceOver = true // a seeded service has been steady for a while
	}
	s.reconcile(svc)
	return nil
}

// Now returns the simulator's clock reading, for tests that reason about simulated time.
func (s *Simulator) Now() time.Time { return s.clk.Now() }
