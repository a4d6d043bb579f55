package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// accessDenied is ECS's refusal of an action, in AWS's wording (code and message), for the simulator.
func accessDenied(op string) *ecssim.APIError {
	return &ecssim.APIError{
		Code: "AccessDeniedException",
		Message: fmt.Sprintf("User: arn:aws:iam::123456789012:user/chaos is not authorized to perform: ecs:%s on resource: * because no identity-based policy allows the ecs:%s action",
			op, op),
	}
}

// killedRunState leaves web-1 as a run killed during its hold would, through the test's client: on a chaos
// revision built by taskdef.Chaos (its marker holding the original configuration) with maximumPercent narrowed;
// pointService false leaves only the ACTIVE chaos revision (a run killed between its restore and its deregister).
func (e *simEnv) killedRunState(t *testing.T, original types.Service, pointService bool) string {
	t.Helper()
	ctx := context.Background()
	out, err := e.client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: original.TaskDefinition, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	mustOK(t, "DescribeTaskDefinition", err)
	img, err := taskdef.ResolveChaosImage("nginx", "killed")
	mustOK(t, "ResolveChaosImage", err)
	in, _, err := taskdef.Chaos(out.TaskDefinition, out.Tags, img, nil, taskdef.Marker{RunID: "killed", DeploymentConfiguration: jsonOf(original.DeploymentConfiguration)})
	mustOK(t, "taskdef.Chaos", err)
	reg, err := e.client.RegisterTaskDefinition(ctx, in)
	mustOK(t, "RegisterTaskDefinition", err)
	chaos := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	if pointService {
		dc := *original.DeploymentConfiguration
		dc.MaximumPercent = aws.Int32(150)
		_, err = e.client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(clusterName), Service: original.ServiceName, TaskDefinition: aws.String(chaos), DeploymentConfiguration: &dc})
		mustOK(t, "UpdateService", err)
	}
	return chaos
}

// TestRecoverDeregistersChaosRevisionStillInUse: when recover cannot point a service back (ecs:UpdateService
// denied), it still deregisters the chaos revision the service runs, although the README says a chaos revision is
// deregistered only once the service no longer points at it (and Run's deregisterChaos skips it for that reason).
func TestRecoverDeregistersChaosRevisionStillInUse(t *testing.T) {
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	chaos := e.killedRunState(t, before["web-1"], true)
	e.sim.SetFault("UpdateService", ecssim.Fault{Error: accessDenied("UpdateService")})

	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	report := ecsimage.Recover(ctx, e.clients, e.faultOptions("recover", names...))

	if report.RecoverOutcome() != ecsimage.OutcomeRestoreFailed || !strings.Contains(reportText(report), chaos) {
		t.Errorf("recover outcome %s; want restore-failed with manual steps naming %s: %s", report.RecoverOutcome(), chaos, reportText(report))
	}
	now := e.snapshot(t, names)["web-1"]
	if aws.ToString(now.TaskDefinition) == chaos {
		if td := describeTaskDefinition(t, e, chaos); td.Status != types.TaskDefinitionStatusActive {
			t.Errorf("the service still runs %s, which recover deregistered (now %s); want it ACTIVE until the service points elsewhere (deregistered: %v)",
				chaos, td.Status, report.Services[0].Restore.Deregistered)
		}
	}
}

// TestRecoverPassesWhileChaosRevisionStaysActive: a chaos revision that recover cannot deregister
// (ecs:DeregisterTaskDefinition denied) stays ACTIVE, and every later preflight refuses with "run `recover`
// first"; recover must then not report success.
func TestRecoverPassesWhileChaosRevisionStaysActive(t *testing.T) {
	e := newSimEnv(t, simenv.Options{})
	names := e.seedServices(t, 1)
	before := e.snapshot(t, names)
	chaos := e.killedRunState(t, before["web-1"], false)
	e.sim.SetFault("DeregisterTaskDefinition", ecssim.Fault{Error: accessDenied("DeregisterTaskDefinition")})

	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	rec := ecsimage.Recover(ctx, e.clients, e.faultOptions("recover", names...))
	run := ecsimage.Run(ctx, e.clients, e.faultOptions("next", names...))

	refusedForLeftover := run.Outcome() == ecsimage.OutcomeRefused && strings.Contains(reportText(run), "run `recover` first")
	if td := describeTaskDefinition(t, e, chaos); td.Status == types.TaskDefinitionStatusActive && refusedForLeftover && rec.RecoverOutcome() == ecsimage.OutcomePass {
		t.Errorf("recover passed (exit 0) although chaos revision %s stays ACTIVE and the next run refuses: %q", chaos, reportText(run))
	}
	t.Logf("recover: outcome %s (%d), %s; next run: %s", rec.RecoverOutcome(), int(rec.RecoverOutcome()), reportText(rec), run.Outcome())
}

// TestDeniedHoldReadsOnSimulator covers what moto cannot reach: ecs:ListTasks and ecs:DescribeTasks are used
// during the hold to read the stopped chaos tasks, which moto never has. Without either, the run must still restore
// everything, and a warning or the report must name the permission.
func TestDeniedHoldReadsOnSimulator(t *testing.T) {
	var rows [][]string
	for _, op := range []string{"ListTasks", "DescribeTasks"} {
		t.Run(op, func(t *testing.T) {
			e := newSimEnv(t, simenv.Options{})
			names := e.seedServices(t, 1)
			before := e.snapshot(t, names)
			e.sim.ResetRequests()
			e.sim.SetFault(op, ecssim.Fault{Error: accessDenied(op)})
			ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
			defer cancel()
			report := ecsimage.Run(ctx, e.clients, e.faultOptions("denied", names...))
			called := opCounts(e.sim.Requests())[op] > 0
			inReport := strings.Contains(reportText(report), "ecs:"+op)
			inWarning := strings.Contains(warningLines(e.logs.String()), "ecs:"+op)
			problems := e.leftovers(t, before)
			for _, p := range problems {
				t.Error(p)
			}
			if called && !inReport && !inWarning {
				t.Errorf("%s was denied and nothing names ecs:%s", op, op)
			}
			s := report.Services[0]
			rows = append(rows, []string{"ecs:" + op, fmt.Sprint(called), fmt.Sprintf("%s (%d)", report.Outcome(), int(report.Outcome())),
				fmt.Sprint(inReport), fmt.Sprint(inWarning), fmt.Sprintf("%q", s.Observations.FirstFailureReason), yesNo(len(problems) == 0)})
		})
	}
	t.Logf("hold reads denied (simulator, AWS's AccessDeniedException wording)\n%s",
		table([]string{"denied", "called", "outcome", "named in report", "named in a warning", "first failure reason", "restored"}, rows))
}
