package ecsimage

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
)

// Every refusal must change nothing: the simulator's request log may show reads only.
func TestPreflightRefusals(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, e *simEnv) Options
		wantErr string
	}{
		{"missing cluster", func(t *testing.T, e *simEnv) Options {
			o := e.options("web")
			o.Cluster = "nope"
			return o
		}, "not found"},
		{"missing service", func(t *testing.T, e *simEnv) Options {
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 1})
			return e.options("ghost")
		}, "service not found"},
		{"no running task", func(t *testing.T, e *simEnv) Options {
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 0})
			return e.options("web")
		}, "no RUNNING task"},
		{"deployment in progress", func(t *testing.T, e *simEnv) Options {
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2})
			if _, err := e.client.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true}); err != nil {
				t.Fatal(err)
			}
			return e.options("web")
		}, "deployments in progress"},
		{"CODE_DEPLOY controller", func(t *testing.T, e *simEnv) Options {
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 1, Controller: types.DeploymentControllerTypeCodeDeploy})
			return e.options("web")
		}, "CODE_DEPLOY"},
		{"EXTERNAL controller", func(t *testing.T, e *simEnv) Options {
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 1, Controller: types.DeploymentControllerTypeExternal})
			return e.options("web")
		}, "EXTERNAL"},
		{"inactive original revision", func(t *testing.T, e *simEnv) Options {
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 1})
			arn := e.describe(t, "web").TaskDefinition
			if _, err := e.client.DeregisterTaskDefinition(context.Background(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: arn}); err != nil {
				t.Fatal(err)
			}
			return e.options("web")
		}, "INACTIVE"},
		{"one of two services refused changes neither", func(t *testing.T, e *simEnv) Options {
			e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 1})
			e.seed(t, ecssim.SeedSpec{Service: "idle", DesiredCount: 0})
			return e.options("web", "idle")
		}, "no RUNNING task"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSimEnv(t)
			opts := tc.setup(t, e)
			e.sim.ResetRequests()

			report := e.run(t, opts)

			if report.Outcome() != OutcomeRefused {
				t.Fatalf("outcome %v, want refused", report.Outcome())
			}
			var errs []string
			for _, s := range report.Services {
				errs = append(errs, s.Error)
			}
			if !strings.Contains(strings.Join(errs, "\n"), tc.wantErr) {
				t.Errorf("errors %q do not mention %q", errs, tc.wantErr)
			}
			if m := e.mutatingCalls(); len(m) != 0 {
				t.Errorf("a refused run made mutating calls %v", m)
			}
		})
	}
}

func TestAlreadyUnderChaosIsRefusedAndRecoverRestores(t *testing.T) {
	e := newSimEnv(t)
	e.seed(t, ecssim.SeedSpec{Service: "web", DesiredCount: 2, DeploymentConfiguration: rollingDC(100, 200, false)})
	before := e.describe(t, "web")
	// A first run is "killed" right after it pointed the service at its chaos revision: its context ends there
	// and its restore is made impossible, as for a pod that got SIGKILL.
	ctx, cancel := context.WithCancel(context.Background())
	opts := e.options("web")
	opts.AffectedPercent = 40
	opts.Hooks.Injected = func(string, string) {
		e.sim.SetFault("*", ecssim.Fault{Error: &ecssim.APIError{Code: "ServerException", Message: "killed", Status: 500}})
		cancel()
	}
	opts.AbortDeadline = 1
	Run(ctx, e.clients, opts)
	e.sim.ClearFaults()
	if got := aws.ToString(e.describe(t, "web").TaskDefinition); got == aws.ToString(before.TaskDefinition) {
		t.Fatal("setup: the killed run did not leave the service on its chaos revision")
	}

	e.sim.ResetRequests()
	second := e.run(t, e.options("web"))
	if second.Outcome() != OutcomeRefused || !strings.Contains(second.Services[0].Error, "already under chaos") {
		t.Fatalf("second run: outcome %v error %q, want a refusal naming the chaos", second.Outcome(), second.Services[0].Error)
	}
	if m := e.mutatingCalls(); len(m) != 0 {
		t.Errorf("the refused run made mutating calls %v", m)
	}

	rec := Recover(context.Background(), e.clients, e.options("web"))
	s := rec.Services[0]
	if rec.RecoverOutcome() != OutcomePass || s.Restore.Action != RestoreReverted || !s.Restore.Completed {
		t.Fatalf("recover: outcome %v, %+v", rec.RecoverOutcome(), s)
	}
	e.assertRestored(t, s, before)

	again := Recover(context.Background(), e.clients, e.options("web"))
	if again.RecoverOutcome() != OutcomePass || again.Services[0].Changed {
		t.Errorf("a second recover changed something: %+v", again.Services[0])
	}
}
