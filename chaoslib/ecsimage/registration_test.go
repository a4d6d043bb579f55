package ecsimage

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

func noBackoff(int) time.Duration { return 0 }

// chaosRevisionsOf lists the revisions of family, ACTIVE or not, that carry this run's marker, by service.
func (e *simEnv) chaosRevisionsOf(t *testing.T, family, runID string) map[string][]string {
	t.Helper()
	bySvc := map[string][]string{}
	for _, status := range []types.TaskDefinitionStatus{types.TaskDefinitionStatusActive, types.TaskDefinitionStatusInactive} {
		list, err := e.client.ListTaskDefinitions(t.Context(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status})
		if err != nil {
			t.Fatal(err)
		}
		for _, arn := range list.TaskDefinitionArns {
			m, ok, err := taskdef.ReadMarker(e.taskDefinition(t, arn))
			if err != nil || !ok || m.RunID != runID {
				continue
			}
			for _, svc := range m.Services {
				bySvc[svc] = append(bySvc[svc], arn)
			}
		}
	}
	return bySvc
}

// TestSharedFamilyAndPipelineRegisterAtOnce: four services sharing one task definition family are injected in
// parallel while a pipeline registers in that family. ECS refuses overlapping registrations with "Too many
// concurrent attempts to create a new revision of the specified family."; the fault retries them and each service
// gets exactly one chaos revision of its own.
func TestSharedFamilyAndPipelineRegisterAtOnce(t *testing.T) {
	e := newSimEnv(t)
	names := []string{"a", "b", "c", "d"}
	befores := map[string]types.Service{}
	for _, n := range names {
		e.seed(t, ecssim.SeedSpec{Service: n, Family: "shared", DesiredCount: 1, DeploymentConfiguration: rollingDC(100, 200, false)})
		befores[n] = e.describe(t, n)
	}
	e.sim.SetRegistrationWindow(2 * time.Second)
	e.sim.ResetRequests()

	pipeline := make(chan error, 1)
	opts := e.options(names...)
	opts.RetryBackoff = noBackoff
	opts.Hooks.PreflightPassed = func([]ServiceReport) {
		// The pipeline's registration is in flight when the fault registers.
		go func() {
			_, err := e.client.RegisterTaskDefinition(context.WithoutCancel(t.Context()), &ecs.RegisterTaskDefinitionInput{
				Family:               aws.String("shared"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:1.27")}},
			}, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
			pipeline <- err
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !e.sim.RegistrationInFlight("shared") && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}

	report := e.run(t, opts)

	if err := <-pipeline; err != nil {
		t.Errorf("the pipeline's registration, in flight first, failed: %v", err)
	}
	refused := 0
	for _, r := range e.sim.Requests() {
		if r.Operation == "RegisterTaskDefinition" && r.ErrorCode == "ClientException" {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no registration was refused: the test did not make registrations overlap")
	}
	if report.Outcome() != OutcomePass {
		t.Fatalf("outcome %v after %d refusals: %+v", report.Outcome(), refused, report.Services)
	}
	revisions := e.chaosRevisionsOf(t, "shared", "testrun")
	var all []string
	for _, s := range report.Services {
		if len(s.ChaosTaskDefinitions) != 1 {
			t.Errorf("%s: chaos revisions %v, want exactly one", s.Service, s.ChaosTaskDefinitions)
		}
		if got := revisions[s.ServiceARN]; len(got) != 1 {
			t.Errorf("%s: the family holds chaos revisions %v for it, want exactly one", s.Service, got)
		}
		all = append(all, s.ChaosTaskDefinitions...)
		e.assertRestored(t, s, befores[s.Service])
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != len(names) {
		t.Errorf("services share chaos revisions: %v", all)
	}
}

// TestLostRepliesInSharedFamilyFindOwnRevisions: with the replies of registrations lost (they took effect), each
// service of a shared family recognises its own chaos revision by the marker, never a sibling's, and registers
// nothing twice.
func TestLostRepliesInSharedFamilyFindOwnRevisions(t *testing.T) {
	e := newSimEnv(t)
	names := []string{"a", "b", "c"}
	befores := map[string]types.Service{}
	for _, n := range names {
		e.seed(t, ecssim.SeedSpec{Service: n, Family: "shared", DesiredCount: 1, DeploymentConfiguration: rollingDC(100, 200, false)})
		befores[n] = e.describe(t, n)
	}
	e.sim.ResetRequests()
	e.sim.SetFault("RegisterTaskDefinition", ecssim.Fault{Drop: 3})
	opts := e.options(names...)
	opts.RetryBackoff = noBackoff

	report := e.run(t, opts)

	if report.Outcome() != OutcomePass {
		t.Fatalf("outcome %v: %+v", report.Outcome(), report.Services)
	}
	if n := countOps(e.mutatingCalls(), "RegisterTaskDefinition"); n != len(names) {
		t.Errorf("%d registrations reached ECS, want %d (each dropped reply had registered)", n, len(names))
	}
	revisions := e.chaosRevisionsOf(t, "shared", "testrun")
	for _, s := range report.Services {
		if got := revisions[s.ServiceARN]; len(got) != 1 || !slices.Equal(got, s.ChaosTaskDefinitions) {
			t.Errorf("%s used %v; the family holds %v for it", s.Service, s.ChaosTaskDefinitions, got)
		}
		e.assertRestored(t, s, befores[s.Service])
	}
}
