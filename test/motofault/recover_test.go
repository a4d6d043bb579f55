package motofault

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/test/moto"
)

const (
	clusterName = "chaos"
	serviceName = "web"
	// clockFactor runs the fault's clock this many times faster than the wall clock: a 30 s hold takes 0.3 s.
	clockFactor = 100
	// affectedPercent narrows the chaos deployment's maximumPercent from 200 to 150.
	affectedPercent = 50
)

// originalDeploymentConfiguration is the service's own, set with UpdateService because moto drops the one given
// to CreateService (test/contract: "CreateService deploymentConfiguration").
func originalDeploymentConfiguration() *types.DeploymentConfiguration {
	return &types.DeploymentConfiguration{
		MaximumPercent:           aws.Int32(200),
		MinimumHealthyPercent:    aws.Int32(50),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		Alarms:                   &types.DeploymentAlarms{AlarmNames: []string{"web-5xx", "web-latency"}, Enable: true, Rollback: true},
	}
}

// fixture is a cluster with one service on a rich original revision, in moto.
type fixture struct {
	client      *ecs.Client // the fault's main client
	restore     *ecs.Client // the fault's restore client, with its own retry budget
	originalARN string
	originalDC  *types.DeploymentConfiguration // as DescribeServices returns it, which is what preflight reads
}

// serviceShape is how the fixture's service gets its desired count. moto fixes a deployment's counts and
// rolloutState at CreateService (COMPLETED only when nothing needs to run), and only the service's own
// runningCount follows a desiredCount given to UpdateService (test/moto/README.md).
type serviceShape int

const (
	// idle: created with desiredCount 0; the deployment is COMPLETED and nothing runs.
	idle serviceShape = iota
	// created: created with desiredCount 2; moto reports 0 running and an IN_PROGRESS deployment forever.
	created
	// scaled: created with 0, then UpdateService desiredCount 2; the service reports 2 running, its deployment
	// stays COMPLETED with 0.
	scaled
)

// newFixture registers the rich original, creates the service on it and sets the deployment configuration with
// UpdateService.
func newFixture(ctx context.Context, t *testing.T, srv *moto.Server, shape serviceShape) *fixture {
	t.Helper()
	cfg := srv.AWSConfig(t)
	f := &fixture{
		client:  ecs.NewFromConfig(cfg, awsclient.ECSOptions(awsclient.PurposeMain)),
		restore: ecs.NewFromConfig(cfg, awsclient.ECSOptions(awsclient.PurposeRestore)),
	}
	_, err := f.client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(clusterName)})
	check(t, "CreateCluster", err)
	registered, err := f.client.RegisterTaskDefinition(ctx, richTaskDefinition())
	check(t, "RegisterTaskDefinition", err)
	f.originalARN = aws.ToString(registered.TaskDefinition.TaskDefinitionArn)
	desired := int32(0)
	if shape == created {
		desired = 2
	}
	_, err = f.client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(clusterName), ServiceName: aws.String(serviceName), TaskDefinition: aws.String(f.originalARN),
		DesiredCount: aws.Int32(desired), LaunchType: types.LaunchTypeFargate,
	})
	check(t, "CreateService", err)
	update := &ecs.UpdateServiceInput{
		Cluster: aws.String(clusterName), Service: aws.String(serviceName), DeploymentConfiguration: originalDeploymentConfiguration(),
	}
	if shape == scaled {
		update.DesiredCount = aws.Int32(2)
	}
	_, err = f.client.UpdateService(ctx, update)
	check(t, "UpdateService with the deployment configuration", err)
	f.originalDC = describeService(ctx, t, f.client, clusterName, serviceName).DeploymentConfiguration
	if diffs := diffsOf(f.originalDC, originalDeploymentConfiguration()); len(diffs) > 0 {
		t.Fatalf("moto did not store the deployment configuration whole; differing fields: %v", diffs)
	}
	return f
}

// injectLikeAKilledRun leaves the service as a run killed during its hold would: on a chaos revision built by
// taskdef.Chaos, with the maximumPercent narrowed. It returns the chaos revision's ARN.
func (f *fixture) injectLikeAKilledRun(ctx context.Context, t *testing.T, markerDC string) string {
	t.Helper()
	original, tags := describeTaskDefinition(ctx, t, f.client, f.originalARN)
	image, err := taskdef.ResolveChaosImage("nginx", runID)
	check(t, "ResolveChaosImage", err)
	in, _, err := taskdef.Chaos(original, tags, image, nil, taskdef.Marker{RunID: runID, DeploymentConfiguration: markerDC})
	check(t, "taskdef.Chaos", err)
	out, err := f.client.RegisterTaskDefinition(ctx, in)
	check(t, "RegisterTaskDefinition of the chaos revision", err)
	chaosARN := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	_, err = f.client.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(clusterName), Service: aws.String(serviceName), TaskDefinition: aws.String(chaosARN),
		DeploymentConfiguration: f.chaosDeploymentConfiguration(),
	})
	check(t, "UpdateService to the chaos revision", err)
	return chaosARN
}

// chaosDeploymentConfiguration is the original with maximumPercent min(200, 100+affectedPercent), which the README
// (TASK_REPLICA_AFFECTED_PERC) says the fault sets for a rolling service.
func (f *fixture) chaosDeploymentConfiguration() *types.DeploymentConfiguration {
	dc := originalDeploymentConfiguration()
	dc.MaximumPercent = aws.Int32(100 + affectedPercent)
	return dc
}

func (f *fixture) clients() ecsimage.Clients {
	return ecsimage.Clients{Chaos: f.client, Restore: f.restore}
}

// checkRestored asserts the end state every restore must reach: the service on the original revision with the
// original deployment configuration, the chaos revisions INACTIVE and the original ACTIVE.
func (f *fixture) checkRestored(ctx context.Context, t *testing.T, chaosARNs ...string) {
	t.Helper()
	svc := describeService(ctx, t, f.client, clusterName, serviceName)
	if got := aws.ToString(svc.TaskDefinition); got != f.originalARN {
		t.Errorf("service task definition %s, want the original %s", got, f.originalARN)
	}
	if diffs := diffsOf(svc.DeploymentConfiguration, f.originalDC); len(diffs) > 0 {
		t.Errorf("service deployment configuration differs from the original in %v: %s", diffs, jsonOf(svc.DeploymentConfiguration))
	}
	for _, arn := range chaosARNs {
		if td, _ := describeTaskDefinition(ctx, t, f.client, arn); td.Status != types.TaskDefinitionStatusInactive {
			t.Errorf("chaos revision %s is %s, want INACTIVE", arn, td.Status)
		}
	}
	if td, _ := describeTaskDefinition(ctx, t, f.client, f.originalARN); td.Status != types.TaskDefinitionStatusActive {
		t.Errorf("original revision %s is %s, want ACTIVE", f.originalARN, td.Status)
	}
}

func faultOptions(srv *moto.Server) ecsimage.Options {
	return ecsimage.Options{
		Cluster: clusterName, Services: []string{serviceName}, Region: srv.Region,
		AffectedPercent: affectedPercent, Duration: 30 * time.Second, Interval: 30 * time.Second,
		StatusCheckTimeout: 20 * time.Second, StatusCheckDelay: 2 * time.Second,
		RunID: runID, Clock: clock.NewScaled(clockFactor),
	}
}

func jsonOf(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// testRecover leaves the service as a killed run would and runs ecsimage.Recover with real SDK clients.
func testRecover(t *testing.T, srv *moto.Server) {
	cases := []struct {
		name string
		// markerDC encodes the original deployment configuration into the marker.
		markerDC func(*types.DeploymentConfiguration) string
	}{
		// What the fault's inject writes: the SDK struct marshalled by encoding/json (Go field names).
		{"marker as the fault writes it", func(dc *types.DeploymentConfiguration) string { return jsonOf(dc) }},
		// The API's own member names, as `aws ecs describe-services` prints them: a person repairing a marker by
		// hand would write this form.
		{"marker in the API's member names", func(*types.DeploymentConfiguration) string {
			return `{"maximumPercent":200,"minimumHealthyPercent":50,"deploymentCircuitBreaker":{"enable":true,"rollback":true},` +
				`"alarms":{"alarmNames":["web-5xx","web-latency"],"enable":true,"rollback":true}}`
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			srv.Reset(t)
			f := newFixture(ctx, t, srv, idle)
			chaosARN := f.injectLikeAKilledRun(ctx, t, tc.markerDC(f.originalDC))

			report := ecsimage.Recover(ctx, f.clients(), faultOptions(srv))

			if report.Err != nil || len(report.Services) != 1 {
				t.Fatalf("Recover: err %v, %d service reports", report.Err, len(report.Services))
			}
			s := report.Services[0]
			if s.Err() != nil || report.RecoverOutcome() != ecsimage.OutcomePass {
				t.Errorf("Recover outcome %s, error %v", report.RecoverOutcome(), s.Err())
			}
			if s.Restore.Action != ecsimage.RestoreReverted || !s.Restore.DeploymentConfigurationRestored || !s.Restore.Completed {
				t.Errorf("restore %+v, want reverted, configuration restored, completed", s.Restore)
			}
			if s.OriginalTaskDefinition != f.originalARN || !slices.Contains(s.Restore.Deregistered, chaosARN) {
				t.Errorf("report: original %s, deregistered %v; want %s and %s", s.OriginalTaskDefinition, s.Restore.Deregistered, f.originalARN, chaosARN)
			}
			f.checkRestored(ctx, t, chaosARN)

			// A second recover finds nothing: restore is safe to call twice.
			again := ecsimage.Recover(ctx, f.clients(), faultOptions(srv))
			if len(again.Services) != 1 || again.Services[0].Changed || again.Services[0].Restore.Action != ecsimage.RestoreNotNeeded {
				t.Errorf("second Recover: %+v, want nothing changed", again.Services)
			}
			f.checkRestored(ctx, t, chaosARN)
		})
	}

	// ECS rolled the service back (circuit breaker) before the run was killed: the service is on the original
	// revision again, but keeps the chaos deployment configuration, and the chaos revision is an ACTIVE orphan.
	t.Run("after a rollback by ECS", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		f := newFixture(ctx, t, srv, idle)
		chaosARN := f.injectLikeAKilledRun(ctx, t, jsonOf(f.originalDC))
		_, err := f.client.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(clusterName), Service: aws.String(serviceName), TaskDefinition: aws.String(f.originalARN),
		})
		check(t, "UpdateService back to the original, as ECS's rollback does", err)

		report := ecsimage.Recover(ctx, f.clients(), faultOptions(srv))

		if report.Err != nil || len(report.Services) != 1 {
			t.Fatalf("Recover: err %v, %d service reports", report.Err, len(report.Services))
		}
		s := report.Services[0]
		if !slices.Contains(s.Restore.Deregistered, chaosARN) {
			t.Errorf("deregistered %v, want the orphaned chaos revision %s", s.Restore.Deregistered, chaosARN)
		}
		if td, _ := describeTaskDefinition(ctx, t, f.client, chaosARN); td.Status != types.TaskDefinitionStatusInactive {
			t.Errorf("orphaned chaos revision is %s, want INACTIVE", td.Status)
		}
		svc := describeService(ctx, t, f.client, clusterName, serviceName)
		// The orphan's marker holds the original configuration, and the service's differs from it only by the
		// fault's lowered maximumPercent: Recover puts the original back (compare-and-set).
		if diffs := diffsOf(svc.DeploymentConfiguration, f.originalDC); len(diffs) > 0 {
			t.Errorf("deployment configuration after Recover differs from the original: %v: %s", diffs, jsonOf(svc.DeploymentConfiguration))
		}
		// moto keeps no deployment history and never fails a deployment, so nothing shows that ECS did it: the
		// revert is labelled someone else's, as recover labels any revert without ECS's evidence (issue 13,
		// finding 4; the labelling with ECS's evidence is tested against ecssim in chaoslib/ecsimage).
		if s.Restore.Action != ecsimage.RestoreRevertedBySomeoneElse || !s.Restore.DeploymentConfigurationRestored {
			t.Errorf("restore %+v, want reverted-by-someone-else with the configuration restored", s.Restore)
		}
	})
}

// testRun runs the whole fault against moto. moto has no task dynamics, so what it can check is which preflight
// refuses, and, where moto's counters let preflight pass, that inject and restore make calls moto accepts and
// leave the service as it was.
func testRun(t *testing.T, srv *moto.Server) {
	t.Run("service as CreateService leaves it is refused", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		// Known limitation: a service created with tasks to run reports runningCount 0 and an IN_PROGRESS
		// deployment forever in moto, so the fault's preflight (at least one RUNNING task, one COMPLETED
		// deployment) refuses every such service.
		f := newFixture(ctx, t, srv, created)
		opts := faultOptions(srv)
		var err error
		opts.Image, err = taskdef.ResolveChaosImage("nginx", runID)
		check(t, "ResolveChaosImage", err)

		report := ecsimage.Run(ctx, f.clients(), opts)

		if report.Outcome() != ecsimage.OutcomeRefused || len(report.Services) != 1 {
			t.Fatalf("outcome %s with %d service reports, want refused", report.Outcome(), len(report.Services))
		}
		s := report.Services[0]
		var refusal *ecsimage.PreflightError
		if !errors.As(s.Err(), &refusal) || s.Changed {
			t.Fatalf("service report: changed %v, error %v; want a PreflightError and nothing changed", s.Changed, s.Err())
		}
		for _, want := range []string{"no RUNNING task", "is IN_PROGRESS, want COMPLETED"} {
			if !slices.ContainsFunc(refusal.Reasons, func(r string) bool { return strings.Contains(r, want) }) {
				t.Errorf("preflight reasons %q do not say %q", refusal.Reasons, want)
			}
		}
		t.Logf("preflight against moto: %v", refusal)
		if arns := listRevisions(ctx, t, f.client, types.TaskDefinitionStatusActive); !slices.Equal(arns, []string{f.originalARN}) {
			t.Errorf("ACTIVE revisions after a refusal %v, want only the original", arns)
		}
		if got := aws.ToString(describeService(ctx, t, f.client, clusterName, serviceName).TaskDefinition); got != f.originalARN {
			t.Errorf("service on %s after a refusal, want the original %s", got, f.originalARN)
		}
	})

	t.Run("service scaled by UpdateService runs and restores", func(t *testing.T) {
		ctx := t.Context()
		srv.Reset(t)
		f := newFixture(ctx, t, srv, scaled)
		opts := faultOptions(srv)
		var err error
		opts.Image, err = taskdef.ResolveChaosImage("nginx", runID)
		check(t, "ResolveChaosImage", err)
		var (
			mu       sync.Mutex
			injected []*ecs.DescribeServicesOutput // the service right after each injection
			hookErrs []error
		)
		// Hooks run on the fault's goroutines: they record, the test goroutine checks.
		opts.Hooks.Injected = func(service, _ string) {
			out, err := f.client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: []string{service}})
			mu.Lock()
			defer mu.Unlock()
			injected, hookErrs = append(injected, out), append(hookErrs, err)
		}

		report := ecsimage.Run(ctx, f.clients(), opts)

		if report.Err != nil || len(report.Services) != 1 {
			t.Fatalf("Run: err %v, %d service reports", report.Err, len(report.Services))
		}
		s := report.Services[0]
		if len(s.ChaosTaskDefinitions) != 1 || len(injected) != 1 || hookErrs[0] != nil || len(injected[0].Services) != 1 {
			t.Fatalf("chaos revisions %v, injections seen %d (%v); want one of each (run error: %v)", s.ChaosTaskDefinitions, len(injected), hookErrs, s.Err())
		}
		chaosARN := s.ChaosTaskDefinitions[0]
		t.Run("inject", func(t *testing.T) {
			svc := injected[0].Services[0]
			if got := aws.ToString(svc.TaskDefinition); got != chaosARN {
				t.Errorf("service during the hold on %s, want the chaos revision %s", got, chaosARN)
			}
			if diffs := diffsOf(svc.DeploymentConfiguration, f.chaosDeploymentConfiguration()); len(diffs) > 0 {
				t.Errorf("chaos deployment configuration differs from the original with maximumPercent %d in %v: %s",
					100+affectedPercent, diffs, jsonOf(svc.DeploymentConfiguration))
			}
			td, _ := describeTaskDefinition(ctx, t, f.client, chaosARN)
			if m, ok, err := taskdef.ReadMarker(td); !ok || err != nil || m.RunID != runID || m.OriginalTaskDefinitionARN != f.originalARN {
				t.Errorf("chaos revision marker %+v (found %v, err %v), want run %s and original %s", m, ok, err, runID, f.originalARN)
			}
		})
		t.Run("restore", func(t *testing.T) {
			if s.Restore.Action != ecsimage.RestoreReverted || !s.Restore.DeploymentConfigurationRestored {
				t.Errorf("restore %+v, want reverted with the configuration restored", s.Restore)
			}
			f.checkRestored(ctx, t, chaosARN)
		})
		t.Run("known limitations", func(t *testing.T) {
			// No task ever fails in moto: the fault did not take effect, and says so.
			if s.Effective || s.NotEffectiveReason == "" {
				t.Errorf("effective %v, reason %q; moto starts no task, so the fault cannot have taken effect", s.Effective, s.NotEffectiveReason)
			}
			// moto's deployment keeps the counts of CreateService (0 running) while the service wants 2: the
			// restore wait ends at STATUS_CHECK_TIMEOUT.
			if s.Restore.Completed || !strings.Contains(s.Error, "STATUS_CHECK_TIMEOUT") {
				t.Errorf("restore completed %v, error %q; want the restore wait to time out against moto", s.Restore.Completed, s.Error)
			}
			if report.Outcome() != ecsimage.OutcomeError {
				t.Errorf("outcome %s, want error (fault not effective)", report.Outcome())
			}
			t.Logf("against moto: not effective (%s); %s", s.NotEffectiveReason, s.Error)
		})
	})
}

func listRevisions(ctx context.Context, t *testing.T, client *ecs.Client, status types.TaskDefinitionStatus) []string {
	t.Helper()
	out, err := client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(richFamily), Status: status})
	check(t, "ListTaskDefinitions", err)
	return out.TaskDefinitionArns
}
