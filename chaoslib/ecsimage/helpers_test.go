package ecsimage

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// simEnv is the shared simulator environment (test/simenv) with the fault's clients as this package's Clients.
type simEnv struct {
	sim     *ecssim.Simulator
	client  *ecs.Client
	clients Clients
	clock   clock.Clock
	log     *logrus.Logger
	// shared holds the fault's clients as *ecs.Client, for a test that derives its own from them.
	shared *simenv.Env
}

// newSimEnv is a simulator with ecssim's default timing on a clock 50 times faster than the wall clock.
func newSimEnv(t *testing.T) *simEnv {
	t.Helper()
	return newSimEnvWith(t, simenv.Options{})
}

func newSimEnvWith(t *testing.T, o simenv.Options) *simEnv {
	t.Helper()
	s := simenv.New(t, o)
	return &simEnv{sim: s.Sim, client: s.Client, clients: Clients{Chaos: s.Chaos, Restore: s.Restore}, clock: s.Clock, log: s.Log.Logger, shared: s}
}

func (e *simEnv) seed(t *testing.T, spec ecssim.SeedSpec) {
	t.Helper()
	if spec.Cluster == "" {
		spec.Cluster = "prod"
	}
	if spec.Family == "" {
		spec.Family = spec.Service
	}
	if _, err := e.sim.SeedService(context.Background(), e.client, spec); err != nil {
		t.Fatalf("seed %s: %v", spec.Service, err)
	}
}

// options are the defaults of the tests: 60 s of chaos in one cycle, polls every 2 s, all on the scaled clock.
func (e *simEnv) options(services ...string) Options {
	return Options{
		Cluster:            "prod",
		Services:           services,
		Region:             "us-east-1",
		Image:              mustImage("nginx", "testrun"),
		AffectedPercent:    100,
		Duration:           60 * time.Second,
		Interval:           60 * time.Second,
		Sequence:           Parallel,
		StatusCheckTimeout: 180 * time.Second,
		StatusCheckDelay:   2 * time.Second,
		AbortDeadline:      20 * time.Second,
		RunID:              "testrun",
		Clock:              e.clock,
		Logger:             e.log,
	}
}

func mustImage(raw, runID string) taskdef.ChaosImage {
	img, err := taskdef.ResolveChaosImage(raw, runID)
	if err != nil {
		panic(err)
	}
	return img
}

// run runs the fault with a deadline, so that a hang fails the test instead of the suite.
func (e *simEnv) run(t *testing.T, opts Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return Run(ctx, e.clients, opts)
}

func (e *simEnv) describe(t *testing.T, service string) types.Service {
	t.Helper()
	return simenv.Service(t, e.client, "prod", service)
}

func (e *simEnv) taskDefinition(t *testing.T, arn string) *types.TaskDefinition {
	t.Helper()
	out, err := e.client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatalf("describe task definition %s: %v", arn, err)
	}
	return out.TaskDefinition
}

// assertRestored checks the promise users cannot forgive breaking: the service runs its original revision with its
// original deployment configuration, one COMPLETED deployment, and every chaos revision is INACTIVE.
func (e *simEnv) assertRestored(t *testing.T, s ServiceReport, before types.Service) {
	t.Helper()
	after := e.describe(t, s.Service)
	if got, want := aws.ToString(after.TaskDefinition), aws.ToString(before.TaskDefinition); got != want {
		t.Errorf("%s runs %s after the fault, want the original %s", s.Service, got, want)
	}
	if !sameDeploymentConfiguration(after.DeploymentConfiguration, before.DeploymentConfiguration) {
		t.Errorf("%s deployment configuration after the fault = %s, want the original %s", s.Service,
			cliJSON(after.DeploymentConfiguration), cliJSON(before.DeploymentConfiguration))
	}
	if len(after.Deployments) != 1 || after.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("%s has %d deployments after the restore wait, want one COMPLETED", s.Service, len(after.Deployments))
	}
	if len(s.ChaosTaskDefinitions) == 0 {
		t.Errorf("%s: report names no chaos revision", s.Service)
	}
	for _, arn := range s.ChaosTaskDefinitions {
		if td := e.taskDefinition(t, arn); td.Status != types.TaskDefinitionStatusInactive {
			t.Errorf("chaos revision %s is %s after the fault, want INACTIVE", arn, td.Status)
		}
	}
	if s.ChaosTaskDefinitions != nil && slices.Contains(s.ChaosTaskDefinitions, aws.ToString(before.TaskDefinition)) {
		t.Errorf("the original revision is listed as a chaos revision")
	}
	if td := e.taskDefinition(t, aws.ToString(before.TaskDefinition)); td.Status != types.TaskDefinitionStatusActive {
		t.Errorf("original revision is %s after the fault, want ACTIVE", td.Status)
	}
}

func (e *simEnv) mutatingCalls() []string {
	var ops []string
	for _, r := range e.sim.Requests() {
		if r.Mutating {
			ops = append(ops, r.Operation)
		}
	}
	return ops
}

func rollingDC(minPct, maxPct int32, breaker bool) *types.DeploymentConfiguration {
	return &types.DeploymentConfiguration{
		MinimumHealthyPercent:    aws.Int32(minPct),
		MaximumPercent:           aws.Int32(maxPct),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker},
	}
}
