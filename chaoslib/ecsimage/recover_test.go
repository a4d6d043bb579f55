package ecsimage

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// v1MarkerFixture is a chaos revision as a version 1 binary left it (pkg/taskdef keeps one of each version).
const v1MarkerFixture = "../../pkg/taskdef/testdata/markers/v1.json"

// v1ChaosRevision registers, in the simulator, a chaos revision of original carrying a version 1 marker: the
// fixture's labels (no marker-version label, no Job uid, the configuration in Go field names), pointed at
// original.
func v1ChaosRevision(t *testing.T, original *types.TaskDefinition, _ *types.DeploymentConfiguration) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	data, err := os.ReadFile(v1MarkerFixture)
	if err != nil {
		t.Fatal(err)
	}
	var fixture types.TaskDefinition
	if err := json.Unmarshal(data, &fixture); err != nil {
		t.Fatalf("%s: %v", v1MarkerFixture, err)
	}
	labels := map[string]string{}
	for k, v := range fixture.ContainerDefinitions[0].DockerLabels {
		labels[k] = v
	}
	if _, versioned := labels[taskdef.LabelMarkerVersion]; versioned {
		t.Fatalf("%s carries %s: not a version 1 marker", v1MarkerFixture, taskdef.LabelMarkerVersion)
	}
	labels[taskdef.LabelOriginalTaskDefinition] = aws.ToString(original.TaskDefinitionArn)
	labels[taskdef.LabelOriginalRevision] = strconv.Itoa(int(original.Revision))
	in := taskdef.RegisterInput(original, nil)
	in.ContainerDefinitions[0].Image = aws.String(labels[taskdef.LabelChaosImage])
	in.ContainerDefinitions[0].DockerLabels = labels
	return in
}

// v2ChaosRevision is the chaos revision this binary registers, its marker naming the Job jobUID.
func v2ChaosRevision(jobUID string) func(*testing.T, *types.TaskDefinition, *types.DeploymentConfiguration) *ecs.RegisterTaskDefinitionInput {
	return func(t *testing.T, original *types.TaskDefinition, dc *types.DeploymentConfiguration) *ecs.RegisterTaskDefinitionInput {
		t.Helper()
		img := mustImage("nginx", "v2run")
		in, _, err := taskdef.Chaos(original, nil, img, nil, taskdef.Marker{
			RunID: "v2run", OriginalTaskDefinitionARN: aws.ToString(original.TaskDefinitionArn), OriginalRevision: original.Revision,
			DeploymentConfiguration: encodeDeploymentConfiguration(dc), ChaosImage: img.Reference, JobUID: jobUID,
		})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
}

// A newer binary recovers a service left under chaos by an older one, from AWS state alone: a killed run's chaos
// revision with a marker of each version, and the narrowed maximumPercent the fault set. With a Job uid, recover
// acts only on its own Job's revisions, so a version 1 marker (which names none) is left alone then.
func TestRecoverFromEveryMarkerVersion(t *testing.T) {
	cases := []struct {
		name     string
		version  int
		revision func(t *testing.T, original *types.TaskDefinition, dc *types.DeploymentConfiguration) *ecs.RegisterTaskDefinitionInput
		jobUID   string // Options.JobUID of the recover
		restores bool
	}{
		{"version 1", 1, v1ChaosRevision, "", true},
		{"version 1 with a Job uid", 1, v1ChaosRevision, "job-2", false},
		{"version 2 of this Job", 2, v2ChaosRevision("job-1"), "job-1", true},
		{"version 2 of another Job", 2, v2ChaosRevision("job-1"), "job-2", false},
		{"version 2 without a Job uid", 2, v2ChaosRevision("job-1"), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t)
			// The configuration the version 1 fixture's marker holds.
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
			before := e.describe(t, "web")
			original := e.taskDefinition(t, aws.ToString(before.TaskDefinition))
			reg, err := e.client.RegisterTaskDefinition(t.Context(), tc.revision(t, original, before.DeploymentConfiguration))
			if err != nil {
				t.Fatalf("register the chaos revision: %v", err)
			}
			chaosARN := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
			if m, ok, err := taskdef.ReadMarker(reg.TaskDefinition); err != nil || !ok {
				t.Fatalf("setup: the chaos revision's marker does not read: %v (found %v)", err, ok)
			} else if m.Version != tc.version {
				t.Fatalf("setup: marker version %d, want %d", m.Version, tc.version)
			}
			// What the killed run did: the chaos revision with maximumPercent narrowed to 150.
			chaosDC := rollingDC(100, 150, false)
			if _, err := e.client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				TaskDefinition: aws.String(chaosARN), DeploymentConfiguration: chaosDC}); err != nil {
				t.Fatalf("point the service at the chaos revision: %v", err)
			}
			e.sim.ResetRequests()

			opts := e.options("web")
			opts.JobUID = tc.jobUID
			rec := Recover(t.Context(), e.clients, opts)
			if rec.Err != nil || len(rec.Services) != 1 {
				t.Fatalf("recover: %v, %d service reports", rec.Err, len(rec.Services))
			}
			s := rec.Services[0]
			if !tc.restores {
				if s.Changed || len(e.mutatingCalls()) != 0 {
					t.Errorf("recover changed another Job's service: report %+v, calls %v", s, e.mutatingCalls())
				}
				if got := aws.ToString(e.describe(t, "web").TaskDefinition); got != chaosARN {
					t.Errorf("service runs %s, want the chaos revision %s left alone", got, chaosARN)
				}
				return
			}
			if rec.RecoverOutcome() != OutcomePass || s.Restore.Action != RestoreReverted || !s.Restore.Completed || !s.Restore.DeploymentConfigurationRestored {
				t.Fatalf("recover: outcome %v, %+v", rec.RecoverOutcome(), s)
			}
			if s.OriginalTaskDefinition != aws.ToString(before.TaskDefinition) {
				t.Errorf("recovered to %s, want %s", s.OriginalTaskDefinition, aws.ToString(before.TaskDefinition))
			}
			e.assertRestored(t, s, before)
		})
	}
}

// What recover counts as the fault's configuration when the marker holds only the original: the shape the fault
// sets (lower maximumPercent for REPLICA, higher minimumHealthyPercent for DAEMON), and nothing else.
func TestChaosConfigurationOf(t *testing.T) {
	original := rollingDC(50, 200, true)
	with := func(f func(*types.DeploymentConfiguration)) *types.DeploymentConfiguration {
		dc := cloneDeploymentConfiguration(original)
		f(dc)
		return dc
	}
	daemonOriginal := &types.DeploymentConfiguration{MaximumPercent: aws.Int32(100)} // minimumHealthyPercent absent: 0
	cases := []struct {
		name     string
		strategy types.SchedulingStrategy
		original *types.DeploymentConfiguration
		current  *types.DeploymentConfiguration
		isChaos  bool
	}{
		{"replica, maximumPercent lowered", types.SchedulingStrategyReplica, original, with(func(dc *types.DeploymentConfiguration) { dc.MaximumPercent = aws.Int32(150) }), true},
		{"replica, unchanged", types.SchedulingStrategyReplica, original, with(func(*types.DeploymentConfiguration) {}), false},
		{"replica, maximumPercent raised", types.SchedulingStrategyReplica, original, with(func(dc *types.DeploymentConfiguration) { dc.MaximumPercent = aws.Int32(300) }), false},
		{"replica, lowered and breaker off", types.SchedulingStrategyReplica, original, with(func(dc *types.DeploymentConfiguration) {
			dc.MaximumPercent = aws.Int32(150)
			dc.DeploymentCircuitBreaker = nil
		}), false},
		{"replica, minimumHealthyPercent raised", types.SchedulingStrategyReplica, original, with(func(dc *types.DeploymentConfiguration) { dc.MinimumHealthyPercent = aws.Int32(80) }), false},
		{"daemon, minimumHealthyPercent raised from the default", types.SchedulingStrategyDaemon, daemonOriginal,
			&types.DeploymentConfiguration{MaximumPercent: aws.Int32(100), MinimumHealthyPercent: aws.Int32(50)}, true},
		{"daemon, minimumHealthyPercent 0 given", types.SchedulingStrategyDaemon, daemonOriginal,
			&types.DeploymentConfiguration{MaximumPercent: aws.Int32(100), MinimumHealthyPercent: aws.Int32(0)}, false},
		{"daemon, maximumPercent changed too", types.SchedulingStrategyDaemon, daemonOriginal,
			&types.DeploymentConfiguration{MaximumPercent: aws.Int32(90), MinimumHealthyPercent: aws.Int32(50)}, false},
		{"daemon, maximumPercent lowered only", types.SchedulingStrategyDaemon, original, with(func(dc *types.DeploymentConfiguration) { dc.MaximumPercent = aws.Int32(150) }), false},
		{"no configuration on the service", types.SchedulingStrategyReplica, original, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := chaosConfigurationOf(types.Service{SchedulingStrategy: tc.strategy, DeploymentConfiguration: tc.current}, tc.original)
			if (got != nil) != tc.isChaos {
				t.Fatalf("chaosConfigurationOf = %v, want the fault's: %v", got != nil, tc.isChaos)
			}
			if got != nil && !sameDeploymentConfiguration(got, tc.current) {
				t.Errorf("chaos configuration %s, want the service's %s", cliJSON(got), cliJSON(tc.current))
			}
		})
	}
}

// ECS reports strategy ROLLING for a service that never named one, and a version 1 marker's configuration names
// none: the two are the same configuration.
func TestAbsentStrategyIsRolling(t *testing.T) {
	unnamed := rollingDC(100, 200, false)
	named := rollingDC(100, 200, false)
	named.Strategy = types.DeploymentStrategyRolling
	if !sameDeploymentConfiguration(unnamed, named) {
		t.Errorf("%s and %s differ", cliJSON(unnamed), cliJSON(named))
	}
	named.Strategy = types.DeploymentStrategyBlueGreen
	if sameDeploymentConfiguration(unnamed, named) {
		t.Errorf("BLUE_GREEN compares equal to no strategy")
	}
}

// Issue 13, finding 4, for recover: a killed run's service found back on its original revision is labelled
// "rolled back by ECS" only on ECS's evidence (here the circuit breaker's rollback record, read with
// DescribeServiceDeployments), and "reverted by someone else" when a person or a pipeline pointed it back.
func TestRecoverLabelsTheRevertFromECSEvidence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breaker bool
		want    RestoreAction
	}{
		{"circuit breaker rolled back", true, RestoreRolledBackByECS},
		{"someone pointed it back", false, RestoreRevertedBySomeoneElse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t)
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, tc.breaker)})
			before := e.describe(t, "web")
			original := e.taskDefinition(t, aws.ToString(before.TaskDefinition))
			reg, err := e.client.RegisterTaskDefinition(t.Context(), v2ChaosRevision("")(t, original, before.DeploymentConfiguration))
			if err != nil {
				t.Fatalf("register the chaos revision: %v", err)
			}
			chaosARN := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
			// The killed run: the service on the chaos revision, maximumPercent narrowed to 150.
			if _, err := e.client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
				TaskDefinition: aws.String(chaosARN), DeploymentConfiguration: rollingDC(100, 150, tc.breaker)}); err != nil {
				t.Fatalf("point the service at the chaos revision: %v", err)
			}
			if !tc.breaker {
				if _, err := e.client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
					TaskDefinition: before.TaskDefinition}); err != nil {
					t.Fatalf("point the service back by hand: %v", err)
				}
			}
			// Wait, on the scaled clock, until the service is back on its original revision.
			deadline := e.clock.Now().Add(10 * time.Minute)
			for aws.ToString(e.describe(t, "web").TaskDefinition) != aws.ToString(before.TaskDefinition) {
				if e.clock.Now().After(deadline) {
					t.Fatalf("the service never went back to %s", aws.ToString(before.TaskDefinition))
				}
				clock.Sleep(e.clock, 2*time.Second, t.Context().Done())
			}

			rec := Recover(t.Context(), e.clients, e.options("web"))
			if rec.Err != nil || len(rec.Services) != 1 {
				t.Fatalf("recover: %v, %d service reports", rec.Err, len(rec.Services))
			}
			s := rec.Services[0]
			if s.Restore.Action != tc.want {
				t.Errorf("restore action %s (evidence %q), want %s", s.Restore.Action, s.Observations.RollbackEvidence, tc.want)
			}
			if got := e.describe(t, "web").DeploymentConfiguration; aws.ToInt32(got.MaximumPercent) != 200 {
				t.Errorf("maximumPercent %d after recover, want the original 200", aws.ToInt32(got.MaximumPercent))
			}
		})
	}
}
