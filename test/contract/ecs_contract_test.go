package contract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/moto"
)

// Names used by the scenario; the family is the fault's unit of work.
const (
	clusterName = "contract"
	serviceName = "web"
	family      = "contract-web"
)

// target is one implementation of the ECS API under test.
type target struct {
	name string
	// start returns a client against a fresh, empty control plane, and the region and account it uses.
	start func(t *testing.T) (client *ecs.Client, region, account string)
	// knownDifferences lists where this target departs from AWS documentation; only moto has any.
	knownDifferences []knownDifference
}

// knownDifference is a named departure of moto from AWS documentation. The scenario asserts moto does
// exactly what motoDoes says (so a moto upgrade that changes it is noticed), and that the AWS behaviour
// check fails on moto (so a fixed difference is removed from the table rather than kept as folklore).
type knownDifference struct {
	behaviour string // the expectation it replaces, by name
	awsSays   string
	motoDoes  string
	check     func(o *observations) error // nil when moto behaves as motoDoes says
}

// observations is what the scenario saw, kept whole so that each expectation reads what it needs.
type observations struct {
	region, account string

	rev1, rev2, rev3     *types.TaskDefinition // RegisterTaskDefinition answers
	rev1Tags             []types.Tag           // RegisterTaskDefinition answer's tags
	created              *types.Service        // CreateService answer
	describedAfterCreate types.Service
	updated              *types.Service // UpdateService answer (to family:2, with a deploymentConfiguration)
	describedAfterUpdate types.Service

	byFamily        *ecs.DescribeTaskDefinitionOutput // family name only, include TAGS
	byARN           *ecs.DescribeTaskDefinitionOutput // rev1 ARN, include TAGS
	byARNWithoutTag *ecs.DescribeTaskDefinitionOutput // rev1 ARN, no include

	deregistered *types.TaskDefinition // DeregisterTaskDefinition answer for rev1
	inactive     *ecs.DescribeTaskDefinitionOutput

	listActive, listInactive, listDefault, listInactiveDesc []string

	byFamilyNewestInactive *types.TaskDefinition // family described after rev3 was registered and deregistered
	updateToInactiveErr    error                 // UpdateService back to INACTIVE rev1

	// The service deployment API, after the update to revision 2 (the fault's evidence and restore method).
	listDeployments       *ecs.ListServiceDeploymentsOutput
	listDeploymentsErr    error
	describeDeployment    *ecs.DescribeServiceDeploymentsOutput // the service's currentServiceDeployment
	describeDeploymentErr error
	describeRevision      *ecs.DescribeServiceRevisionsOutput // that deployment's target revision
	describeRevisionErr   error
	stopDeployment        *ecs.StopServiceDeploymentOutput // ROLLBACK of that deployment
	stopDeploymentErr     error
	afterStop             *ecs.DescribeServiceDeploymentsOutput
}

func (o *observations) taskDefinitionARN(revision int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", o.region, o.account, family, revision)
}

// expectation is one documented AWS behaviour the scenario checks.
type expectation struct {
	behaviour string
	awsSays   string
	check     func(o *observations) error // nil when the target behaves as AWS documents
}

var deploymentConfiguration = &types.DeploymentConfiguration{
	MaximumPercent:           aws.Int32(200),
	MinimumHealthyPercent:    aws.Int32(100),
	DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
}

var registeredTags = []types.Tag{
	{Key: aws.String("team"), Value: aws.String("chaos")},
	{Key: aws.String("app"), Value: aws.String("web")},
}

// expectations is the documented AWS behaviour of the calls the fault makes (ECS API Reference).
var expectations = []expectation{
	{
		behaviour: "RegisterTaskDefinition revisions",
		awsSays:   "revisions of a family count up from 1; the ARN is arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>",
		check: func(o *observations) error {
			for i, td := range []*types.TaskDefinition{o.rev1, o.rev2, o.rev3} {
				if td.Revision != int32(i+1) || aws.ToString(td.TaskDefinitionArn) != o.taskDefinitionARN(i+1) {
					return fmt.Errorf("revision %d: got %d %s", i+1, td.Revision, aws.ToString(td.TaskDefinitionArn))
				}
			}
			return nil
		},
	},
	{
		behaviour: "RegisterTaskDefinition answer tags",
		awsSays:   "the answer lists the tags associated with the task definition",
		check:     func(o *observations) error { return sameTags(o.rev1Tags, registeredTags) },
	},
	{
		behaviour: "DescribeTaskDefinition include=TAGS",
		awsSays:   "tags given to RegisterTaskDefinition are returned by DescribeTaskDefinition with include=TAGS",
		check:     func(o *observations) error { return sameTags(o.byARN.Tags, registeredTags) },
	},
	{
		behaviour: "DescribeTaskDefinition without include",
		awsSays:   "tags are only returned when include=TAGS is given",
		check: func(o *observations) error {
			if len(o.byARNWithoutTag.Tags) != 0 {
				return fmt.Errorf("tags returned without include: %v", tagMap(o.byARNWithoutTag.Tags))
			}
			return nil
		},
	},
	{
		behaviour: "TaskDefinition.registeredAt",
		awsSays:   "the Unix timestamp for the time when the task definition was registered",
		check: func(o *observations) error {
			if o.rev1.RegisteredAt == nil || o.byARN.TaskDefinition.RegisteredAt == nil {
				return errors.New("registeredAt missing")
			}
			return nil
		},
	},
	{
		behaviour: "CreateService deploymentConfiguration",
		awsSays:   "the deploymentConfiguration given to CreateService is kept and returned by DescribeServices",
		check: func(o *observations) error {
			return sameDeploymentConfiguration(o.describedAfterCreate.DeploymentConfiguration, deploymentConfiguration)
		},
	},
	{
		behaviour: "CreateService answer",
		awsSays:   "the service is ACTIVE on the given revision ARN with one PRIMARY deployment on it, and has createdAt",
		check: func(o *observations) error {
			for _, s := range []types.Service{*o.created, o.describedAfterCreate} {
				if aws.ToString(s.Status) != "ACTIVE" || aws.ToString(s.TaskDefinition) != o.taskDefinitionARN(1) {
					return fmt.Errorf("status %s task definition %s", aws.ToString(s.Status), aws.ToString(s.TaskDefinition))
				}
				if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].Status) != "PRIMARY" ||
					aws.ToString(s.Deployments[0].TaskDefinition) != o.taskDefinitionARN(1) {
					return fmt.Errorf("deployments %s", describeDeployments(s.Deployments))
				}
				if s.DeploymentController == nil || s.DeploymentController.Type != types.DeploymentControllerTypeEcs {
					return fmt.Errorf("deployment controller %v, want ECS by default", s.DeploymentController)
				}
			}
			if o.describedAfterCreate.CreatedAt == nil {
				return errors.New("createdAt missing")
			}
			return nil
		},
	},
	{
		behaviour: "UpdateService taskDefinition",
		awsSays:   "service.taskDefinition is the full ARN of the revision, whether family:revision or the ARN was given",
		check: func(o *observations) error {
			for _, s := range []types.Service{*o.updated, o.describedAfterUpdate} {
				if got := aws.ToString(s.TaskDefinition); got != o.taskDefinitionARN(2) {
					return fmt.Errorf("taskDefinition %q, want %q", got, o.taskDefinitionARN(2))
				}
			}
			return nil
		},
	},
	{
		behaviour: "UpdateService deployments",
		awsSays:   "a new task definition starts a new PRIMARY deployment on it (rolloutState IN_PROGRESS); the previous deployment is no longer PRIMARY",
		check: func(o *observations) error {
			primary := findDeployment(o.describedAfterUpdate.Deployments, "PRIMARY")
			if primary == nil || aws.ToString(primary.TaskDefinition) != o.taskDefinitionARN(2) ||
				primary.RolloutState != types.DeploymentRolloutStateInProgress {
				return fmt.Errorf("deployments %s", describeDeployments(o.describedAfterUpdate.Deployments))
			}
			if first := findDeployment(o.describedAfterCreate.Deployments, "PRIMARY"); first != nil && aws.ToString(primary.Id) == aws.ToString(first.Id) {
				return fmt.Errorf("PRIMARY deployment kept its id %s", aws.ToString(primary.Id))
			}
			return nil
		},
	},
	{
		behaviour: "UpdateService deploymentConfiguration",
		awsSays:   "the deploymentConfiguration given to UpdateService replaces the service's",
		check: func(o *observations) error {
			return sameDeploymentConfiguration(o.describedAfterUpdate.DeploymentConfiguration, deploymentConfiguration)
		},
	},
	{
		behaviour: "DescribeTaskDefinition by family and by ARN",
		awsSays:   "a family without revision means its latest ACTIVE revision; an ARN means that revision",
		check: func(o *observations) error {
			if got := aws.ToString(o.byFamily.TaskDefinition.TaskDefinitionArn); got != o.taskDefinitionARN(2) {
				return fmt.Errorf("by family: %s, want revision 2", got)
			}
			if got := aws.ToString(o.byARN.TaskDefinition.TaskDefinitionArn); got != o.taskDefinitionARN(1) {
				return fmt.Errorf("by ARN: %s, want revision 1", got)
			}
			images := []string{
				aws.ToString(o.byARN.TaskDefinition.ContainerDefinitions[0].Image),
				aws.ToString(o.byFamily.TaskDefinition.ContainerDefinitions[0].Image),
			}
			if !slices.Equal(images, []string{"nginx:1.27", "nginx:1.28"}) {
				return fmt.Errorf("images %v", images)
			}
			return nil
		},
	},
	{
		behaviour: "DeregisterTaskDefinition",
		awsSays:   "the revision becomes INACTIVE, stays describable by ARN, and deregisteredAt is set",
		check: func(o *observations) error {
			for _, td := range []*types.TaskDefinition{o.deregistered, o.inactive.TaskDefinition} {
				if td.Status != types.TaskDefinitionStatusInactive {
					return fmt.Errorf("status %s", td.Status)
				}
				if td.DeregisteredAt == nil {
					return errors.New("deregisteredAt missing")
				}
			}
			return nil
		},
	},
	{
		behaviour: "ListTaskDefinitions familyPrefix and status",
		awsSays:   "only the family's revisions with the given status (ACTIVE when not given), oldest first",
		check: func(o *observations) error {
			want := map[string][]string{
				"ACTIVE":   {o.taskDefinitionARN(2)},
				"INACTIVE": {o.taskDefinitionARN(1), o.taskDefinitionARN(3)},
				"default":  {o.taskDefinitionARN(2)},
			}
			got := map[string][]string{"ACTIVE": o.listActive, "INACTIVE": o.listInactive, "default": o.listDefault}
			for status, arns := range want {
				if !slices.Equal(got[status], arns) {
					return fmt.Errorf("%s: got %v, want %v", status, got[status], arns)
				}
			}
			return nil
		},
	},
	{
		behaviour: "ListTaskDefinitions sort DESC",
		awsSays:   "sort=DESC lists the newest revision first",
		check: func(o *observations) error {
			if want := []string{o.taskDefinitionARN(3), o.taskDefinitionARN(1)}; !slices.Equal(o.listInactiveDesc, want) {
				return fmt.Errorf("got %v, want %v", o.listInactiveDesc, want)
			}
			return nil
		},
	},
	{
		behaviour: "DescribeTaskDefinition by family after the newest revision is deregistered",
		awsSays:   "the latest ACTIVE revision, not the newest one (the chaos revision the fault deregistered)",
		check: func(o *observations) error {
			if got := aws.ToString(o.byFamilyNewestInactive.TaskDefinitionArn); got != o.taskDefinitionARN(2) {
				return fmt.Errorf("got %s (%s), want revision 2", got, o.byFamilyNewestInactive.Status)
			}
			return nil
		},
	},
	{
		behaviour: "UpdateService to an INACTIVE revision",
		awsSays:   "refused with a client error: an existing service cannot be updated to reference an INACTIVE task definition",
		check: func(o *observations) error {
			var apiErr smithy.APIError
			if !errors.As(o.updateToInactiveErr, &apiErr) {
				return fmt.Errorf("err = %v, want an API error", o.updateToInactiveErr)
			}
			if code := apiErr.ErrorCode(); code != "ClientException" && code != "InvalidParameterException" {
				return fmt.Errorf("error code %s, want ClientException or InvalidParameterException", code)
			}
			return nil
		},
	},
	{
		behaviour: "DescribeServices currentServiceDeployment",
		awsSays:   "the ARN of the service's current service deployment: the one UpdateService started (types.Service.CurrentServiceDeployment)",
		check: func(o *observations) error {
			if arn := aws.ToString(o.describedAfterUpdate.CurrentServiceDeployment); !strings.Contains(arn, ":service-deployment/") {
				return fmt.Errorf("currentServiceDeployment %q", arn)
			}
			return nil
		},
	},
	{
		behaviour: "ListServiceDeployments",
		awsSays:   "lists the service's deployments, the creation's and the update's, the current one among them (ListServiceDeployments, ECS API Reference)",
		check: func(o *observations) error {
			if o.listDeploymentsErr != nil {
				return o.listDeploymentsErr
			}
			current := aws.ToString(o.describedAfterUpdate.CurrentServiceDeployment)
			if len(o.listDeployments.ServiceDeployments) < 2 || !slices.ContainsFunc(o.listDeployments.ServiceDeployments,
				func(d types.ServiceDeploymentBrief) bool { return aws.ToString(d.ServiceDeploymentArn) == current }) {
				return fmt.Errorf("%d deployments, current %s among them: no", len(o.listDeployments.ServiceDeployments), current)
			}
			return nil
		},
	},
	{
		behaviour: "DescribeServiceDeployments",
		awsSays:   "describes the deployment by ARN: its service, its target service revision, an ongoing status (IN_PROGRESS or PENDING) right after the update",
		check: func(o *observations) error {
			if o.describeDeploymentErr != nil {
				return o.describeDeploymentErr
			}
			if len(o.describeDeployment.ServiceDeployments) != 1 {
				return fmt.Errorf("%d deployments, failures %v", len(o.describeDeployment.ServiceDeployments), o.describeDeployment.Failures)
			}
			d := o.describeDeployment.ServiceDeployments[0]
			if aws.ToString(d.ServiceArn) != aws.ToString(o.describedAfterUpdate.ServiceArn) || d.TargetServiceRevision == nil ||
				(d.Status != types.ServiceDeploymentStatusInProgress && d.Status != types.ServiceDeploymentStatusPending) {
				return fmt.Errorf("service %s target %v status %s", aws.ToString(d.ServiceArn), d.TargetServiceRevision, d.Status)
			}
			return nil
		},
	},
	{
		behaviour: "DescribeServiceRevisions",
		awsSays:   "describes the service revision by ARN: the task definition it deploys (revision 2)",
		check: func(o *observations) error {
			if o.describeRevisionErr != nil {
				return o.describeRevisionErr
			}
			if len(o.describeRevision.ServiceRevisions) != 1 || aws.ToString(o.describeRevision.ServiceRevisions[0].TaskDefinition) != o.taskDefinitionARN(2) {
				return fmt.Errorf("revisions %d, failures %v", len(o.describeRevision.ServiceRevisions), o.describeRevision.Failures)
			}
			return nil
		},
	},
	{
		behaviour: "StopServiceDeployment ROLLBACK",
		awsSays: "an ongoing deployment is rolled back to the previous service revision: the answer names it, and it is then ROLLBACK_REQUESTED, " +
			"ROLLBACK_IN_PROGRESS or ROLLBACK_SUCCESSFUL; or, in a state that does not allow it, ConflictException (StopServiceDeployment errors, " +
			"ECS API Reference; here the creation's deployment never completed, so there may be no previous revision to return to)",
		check: func(o *observations) error {
			var apiErr smithy.APIError
			if errors.As(o.stopDeploymentErr, &apiErr) && apiErr.ErrorCode() == "ConflictException" {
				return nil
			}
			if o.stopDeploymentErr != nil {
				return o.stopDeploymentErr
			}
			if got, want := aws.ToString(o.stopDeployment.ServiceDeploymentArn), aws.ToString(o.describedAfterUpdate.CurrentServiceDeployment); got != want {
				return fmt.Errorf("answer names %s, want %s", got, want)
			}
			if o.afterStop == nil || len(o.afterStop.ServiceDeployments) != 1 || !strings.HasPrefix(string(o.afterStop.ServiceDeployments[0].Status), "ROLLBACK_") {
				return fmt.Errorf("after the stop: %+v", o.afterStop)
			}
			return nil
		},
	},
}

// motoDifferences are moto 5.x's departures from the expectations above, read in moto/ecs/models.py and
// responses.py and confirmed by this test. README.md in test/moto repeats them for people writing tests.
var motoDifferences = []knownDifference{
	{
		behaviour: "RegisterTaskDefinition answer tags",
		awsSays:   "the answer carries the tags",
		motoDoes:  "stores the tags (DescribeTaskDefinition include=TAGS returns them) but leaves them out of the answer",
		check: func(o *observations) error {
			if len(o.rev1Tags) != 0 {
				return fmt.Errorf("tags %v in the answer", tagMap(o.rev1Tags))
			}
			return nil
		},
	},
	{
		behaviour: "TaskDefinition.registeredAt",
		awsSays:   "registeredAt is set",
		motoDoes:  "never sets registeredAt (nor registeredBy)",
		check: func(o *observations) error {
			return wantNil("registeredAt", o.rev1.RegisteredAt, o.byARN.TaskDefinition.RegisteredAt)
		},
	},
	{
		behaviour: "CreateService deploymentConfiguration",
		awsSays:   "kept and returned",
		motoDoes:  "drops it at CreateService (set it with UpdateService, which moto stores)",
		check: func(o *observations) error {
			if o.describedAfterCreate.DeploymentConfiguration != nil {
				return fmt.Errorf("deploymentConfiguration %+v", o.describedAfterCreate.DeploymentConfiguration)
			}
			return nil
		},
	},
	{
		behaviour: "CreateService answer",
		awsSays:   "createdAt is set",
		motoDoes:  "the service has no createdAt (everything else in this expectation holds)",
		check: func(o *observations) error {
			return wantNil("createdAt", o.describedAfterCreate.CreatedAt)
		},
	},
	{
		behaviour: "UpdateService taskDefinition",
		awsSays:   "always the full revision ARN",
		motoDoes:  "stores the string it was given: family:2 stays family:2",
		check: func(o *observations) error {
			for _, s := range []types.Service{*o.updated, o.describedAfterUpdate} {
				if got := aws.ToString(s.TaskDefinition); got != family+":2" {
					return fmt.Errorf("taskDefinition %q", got)
				}
			}
			return nil
		},
	},
	{
		behaviour: "UpdateService deployments",
		awsSays:   "a new PRIMARY deployment on the new revision",
		motoDoes:  "keeps the CreateService deployment untouched: same id, old revision, rolloutState frozen",
		check: func(o *observations) error {
			before, after := o.describedAfterCreate.Deployments, o.describedAfterUpdate.Deployments
			if len(before) != 1 || len(after) != 1 || aws.ToString(after[0].Id) != aws.ToString(before[0].Id) ||
				aws.ToString(after[0].TaskDefinition) != o.taskDefinitionARN(1) || after[0].RolloutState != before[0].RolloutState {
				return fmt.Errorf("deployments before %s after %s", describeDeployments(before), describeDeployments(after))
			}
			return nil
		},
	},
	{
		behaviour: "DeregisterTaskDefinition",
		awsSays:   "deregisteredAt is set",
		motoDoes:  "sets status INACTIVE but never deregisteredAt",
		check: func(o *observations) error {
			if o.deregistered.Status != types.TaskDefinitionStatusInactive || o.inactive.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
				return fmt.Errorf("status %s / %s", o.deregistered.Status, o.inactive.TaskDefinition.Status)
			}
			return wantNil("deregisteredAt", o.deregistered.DeregisteredAt, o.inactive.TaskDefinition.DeregisteredAt)
		},
	},
	{
		behaviour: "ListTaskDefinitions sort DESC",
		awsSays:   "newest first",
		motoDoes:  "ignores sort: oldest first",
		check: func(o *observations) error {
			if want := []string{o.taskDefinitionARN(1), o.taskDefinitionARN(3)}; !slices.Equal(o.listInactiveDesc, want) {
				return fmt.Errorf("got %v", o.listInactiveDesc)
			}
			return nil
		},
	},
	{
		behaviour: "DescribeTaskDefinition by family after the newest revision is deregistered",
		awsSays:   "the latest ACTIVE revision",
		motoDoes:  "the highest revision whatever its status: the INACTIVE revision 3",
		check: func(o *observations) error {
			td := o.byFamilyNewestInactive
			if aws.ToString(td.TaskDefinitionArn) != o.taskDefinitionARN(3) || td.Status != types.TaskDefinitionStatusInactive {
				return fmt.Errorf("got %s (%s)", aws.ToString(td.TaskDefinitionArn), td.Status)
			}
			return nil
		},
	},
	{
		behaviour: "UpdateService to an INACTIVE revision",
		awsSays:   "refused",
		motoDoes:  "accepts it",
		check: func(o *observations) error {
			if o.updateToInactiveErr != nil {
				return fmt.Errorf("refused: %w", o.updateToInactiveErr)
			}
			return nil
		},
	},
	{
		behaviour: "DescribeServices currentServiceDeployment",
		awsSays:   "set",
		motoDoes:  "never sets currentServiceDeployment",
		check: func(o *observations) error {
			if o.describedAfterUpdate.CurrentServiceDeployment != nil {
				return fmt.Errorf("currentServiceDeployment %s", aws.ToString(o.describedAfterUpdate.CurrentServiceDeployment))
			}
			return nil
		},
	},
	{
		behaviour: "ListServiceDeployments",
		awsSays:   "implemented",
		motoDoes:  "not implemented: HTTP 500 with an HTML page (NotImplementedError in moto_server's log), which the SDK retries and then reports as an error",
		check:     func(o *observations) error { return wantNotImplemented(o.listDeploymentsErr) },
	},
	{
		behaviour: "DescribeServiceDeployments",
		awsSays:   "implemented",
		motoDoes:  "not implemented: HTTP 500 with an HTML page (NotImplementedError in moto_server's log), which the SDK retries and then reports as an error",
		check:     func(o *observations) error { return wantNotImplemented(o.describeDeploymentErr) },
	},
	{
		behaviour: "DescribeServiceRevisions",
		awsSays:   "implemented",
		motoDoes:  "not implemented: HTTP 500 with an HTML page (NotImplementedError in moto_server's log), which the SDK retries and then reports as an error",
		check:     func(o *observations) error { return wantNotImplemented(o.describeRevisionErr) },
	},
	{
		behaviour: "StopServiceDeployment ROLLBACK",
		awsSays:   "implemented",
		motoDoes:  "not implemented: HTTP 500 with an HTML page (NotImplementedError in moto_server's log), which the SDK retries and then reports as an error",
		check:     func(o *observations) error { return wantNotImplemented(o.stopDeploymentErr) },
	},
}

// wantNotImplemented checks moto's answer to an operation it lacks: HTTP 500, a body that is not the JSON
// protocol's error (the SDK cannot read an error code from it).
func wantNotImplemented(err error) error {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
		return fmt.Errorf("err = %v, want HTTP 500", err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() != "UnknownError" {
		return fmt.Errorf("error code %q, want none the JSON protocol can read", apiErr.ErrorCode())
	}
	return nil
}

// TestECSContract runs one scenario against every target and holds each to the AWS documentation, with
// moto's known differences asserted as such.
func TestECSContract(t *testing.T) {
	motoServer := moto.Start(t)
	targets := []target{
		{
			name: "moto",
			start: func(t *testing.T) (*ecs.Client, string, string) {
				motoServer.Reset(t)
				return ecs.NewFromConfig(motoServer.AWSConfig(t)), motoServer.Region, moto.AccountID
			},
			knownDifferences: motoDifferences,
		},
		{
			// Another region and account than moto's, so that an ARN built from constants shows up.
			name: "ecssim",
			start: func(t *testing.T) (*ecs.Client, string, string) {
				const region, account = "eu-west-1", "210987654321"
				_, client, _ := ecssim.StartServer(t, ecssim.Options{Clock: clock.Real{}, Region: region, AccountID: account})
				return client, region, account
			},
		},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			client, region, account := tg.start(t)
			o := runScenario(ctx, t, client, region, account)
			checkExpectations(t, o, tg.knownDifferences)
		})
	}
}

func TestKnownDifferencesNameExpectations(t *testing.T) {
	for _, d := range motoDifferences {
		if !slices.ContainsFunc(expectations, func(e expectation) bool { return e.behaviour == d.behaviour }) {
			t.Errorf("known moto difference %q names no expectation", d.behaviour)
		}
	}
}

func checkExpectations(t *testing.T, o *observations, differences []knownDifference) {
	t.Helper()
	for _, e := range expectations {
		t.Run(e.behaviour, func(t *testing.T) {
			i := slices.IndexFunc(differences, func(d knownDifference) bool { return d.behaviour == e.behaviour })
			if i < 0 {
				if err := e.check(o); err != nil {
					t.Errorf("AWS: %s\ngot: %v", e.awsSays, err)
				}
				return
			}
			d := differences[i]
			if err := d.check(o); err != nil {
				t.Errorf("known difference no longer as listed (moto does: %s): %v", d.motoDoes, err)
			}
			if e.check(o) == nil {
				t.Errorf("now behaves as AWS documents (%s): remove this known difference", e.awsSays)
			}
		})
	}
}

// runScenario drives the fault's calls in the fault's order. Calls whose outcome is itself an expectation
// are recorded; any other failure ends the test.
func runScenario(ctx context.Context, t *testing.T, client *ecs.Client, region, account string) *observations {
	t.Helper()
	o := &observations{region: region, account: account}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// present ends the test on an answer without the object the later steps read.
	present := func(what string, object any) {
		t.Helper()
		if v := reflect.ValueOf(object); v.Kind() == reflect.Pointer && v.IsNil() {
			t.Fatalf("%s: answer without %T", what, object)
		}
	}

	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(clusterName)})
	must("CreateCluster", err)

	reg1, err := client.RegisterTaskDefinition(ctx, registerInput("nginx:1.27"))
	must("RegisterTaskDefinition 1", err)
	present("RegisterTaskDefinition 1", reg1.TaskDefinition)
	o.rev1, o.rev1Tags = reg1.TaskDefinition, reg1.Tags

	created, err := client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster:                 aws.String(clusterName),
		ServiceName:             aws.String(serviceName),
		TaskDefinition:          o.rev1.TaskDefinitionArn,
		DesiredCount:            aws.Int32(2),
		LaunchType:              types.LaunchTypeEc2,
		DeploymentConfiguration: deploymentConfiguration,
	})
	must("CreateService", err)
	present("CreateService", created.Service)
	o.created = created.Service
	o.describedAfterCreate = describeService(ctx, t, client)

	reg2, err := client.RegisterTaskDefinition(ctx, registerInput("nginx:1.28"))
	must("RegisterTaskDefinition 2", err)
	present("RegisterTaskDefinition 2", reg2.TaskDefinition)
	o.rev2 = reg2.TaskDefinition

	// family:revision rather than the ARN, to see what the service records.
	updated, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:                 aws.String(clusterName),
		Service:                 aws.String(serviceName),
		TaskDefinition:          aws.String(family + ":2"),
		DeploymentConfiguration: deploymentConfiguration,
	})
	must("UpdateService to revision 2", err)
	present("UpdateService to revision 2", updated.Service)
	o.updated = updated.Service
	o.describedAfterUpdate = describeService(ctx, t, client)

	// The service deployment API on the update to revision 2, while it is under way (the fault reads and stops the
	// chaos deployment at that point); the rollback takes the service back to revision 1.
	o.listDeployments, o.listDeploymentsErr = client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(clusterName), Service: aws.String(serviceName),
	})
	deployment := aws.ToString(o.describedAfterUpdate.CurrentServiceDeployment)
	if deployment == "" { // moto sets none: a well-formed ARN still shows how it answers
		deployment = fmt.Sprintf("arn:aws:ecs:%s:%s:service-deployment/%s/%s/0123456789abcdef", region, account, clusterName, serviceName)
	}
	o.describeDeployment, o.describeDeploymentErr = client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{deployment},
	})
	revision := fmt.Sprintf("arn:aws:ecs:%s:%s:service-revision/%s/%s/0123456789abcdef", region, account, clusterName, serviceName)
	if o.describeDeploymentErr == nil && len(o.describeDeployment.ServiceDeployments) == 1 && o.describeDeployment.ServiceDeployments[0].TargetServiceRevision != nil {
		revision = aws.ToString(o.describeDeployment.ServiceDeployments[0].TargetServiceRevision.Arn)
	}
	o.describeRevision, o.describeRevisionErr = client.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{
		ServiceRevisionArns: []string{revision},
	})
	o.stopDeployment, o.stopDeploymentErr = client.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(deployment), StopType: types.StopServiceDeploymentStopTypeRollback,
	})
	if o.stopDeploymentErr == nil {
		o.afterStop, _ = client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{deployment}})
	}

	o.byFamily = describeTaskDefinition(ctx, t, client, family, true)
	o.byARN = describeTaskDefinition(ctx, t, client, aws.ToString(o.rev1.TaskDefinitionArn), true)
	o.byARNWithoutTag = describeTaskDefinition(ctx, t, client, aws.ToString(o.rev1.TaskDefinitionArn), false)

	dereg, err := client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: o.rev1.TaskDefinitionArn})
	must("DeregisterTaskDefinition 1", err)
	present("DeregisterTaskDefinition 1", dereg.TaskDefinition)
	o.deregistered = dereg.TaskDefinition
	o.inactive = describeTaskDefinition(ctx, t, client, aws.ToString(o.rev1.TaskDefinitionArn), false)

	// A chaos-like revision registered and deregistered again: the newest revision is then INACTIVE.
	reg3, err := client.RegisterTaskDefinition(ctx, registerInput("nginx:chaos-invalid"))
	must("RegisterTaskDefinition 3", err)
	present("RegisterTaskDefinition 3", reg3.TaskDefinition)
	o.rev3 = reg3.TaskDefinition
	_, err = client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: o.rev3.TaskDefinitionArn})
	must("DeregisterTaskDefinition 3", err)
	o.byFamilyNewestInactive = describeTaskDefinition(ctx, t, client, family, false).TaskDefinition

	o.listActive = listTaskDefinitions(ctx, t, client, types.TaskDefinitionStatusActive, "")
	o.listInactive = listTaskDefinitions(ctx, t, client, types.TaskDefinitionStatusInactive, "")
	o.listDefault = listTaskDefinitions(ctx, t, client, "", "")
	o.listInactiveDesc = listTaskDefinitions(ctx, t, client, types.TaskDefinitionStatusInactive, types.SortOrderDesc)

	_, o.updateToInactiveErr = client.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(clusterName), Service: aws.String(serviceName), TaskDefinition: o.rev1.TaskDefinitionArn,
	})

	return o
}

func registerInput(image string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Cpu: 128, Memory: aws.Int32(256), Essential: aws.Bool(true),
		}},
		Tags: registeredTags,
	}
}

func describeService(ctx context.Context, t *testing.T, client *ecs.Client) types.Service {
	t.Helper()
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: []string{serviceName}})
	if err != nil {
		t.Fatalf("DescribeServices: %v", err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %d services, failures %v", len(out.Services), out.Failures)
	}
	return out.Services[0]
}

func describeTaskDefinition(ctx context.Context, t *testing.T, client *ecs.Client, ref string, withTags bool) *ecs.DescribeTaskDefinitionOutput {
	t.Helper()
	in := &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)}
	if withTags {
		in.Include = []types.TaskDefinitionField{types.TaskDefinitionFieldTags}
	}
	out, err := client.DescribeTaskDefinition(ctx, in)
	if err != nil {
		t.Fatalf("DescribeTaskDefinition %s: %v", ref, err)
	}
	if out.TaskDefinition == nil || len(out.TaskDefinition.ContainerDefinitions) == 0 {
		t.Fatalf("DescribeTaskDefinition %s: no task definition or no containers in %+v", ref, out)
	}
	return out
}

func listTaskDefinitions(ctx context.Context, t *testing.T, client *ecs.Client, status types.TaskDefinitionStatus, sort types.SortOrder) []string {
	t.Helper()
	var arns []string
	pages := ecs.NewListTaskDefinitionsPaginator(client, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), Status: status, Sort: sort,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListTaskDefinitions %s %s: %v", status, sort, err)
		}
		arns = append(arns, page.TaskDefinitionArns...)
	}
	return arns
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, tag := range tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return m
}

func sameTags(got, want []types.Tag) error {
	g, w := tagMap(got), tagMap(want)
	if len(g) != len(w) {
		return fmt.Errorf("tags %v, want %v", g, w)
	}
	for k, v := range w {
		if g[k] != v {
			return fmt.Errorf("tags %v, want %v", g, w)
		}
	}
	return nil
}

func sameDeploymentConfiguration(got, want *types.DeploymentConfiguration) error {
	if got == nil {
		return errors.New("deploymentConfiguration missing")
	}
	if aws.ToInt32(got.MaximumPercent) != aws.ToInt32(want.MaximumPercent) ||
		aws.ToInt32(got.MinimumHealthyPercent) != aws.ToInt32(want.MinimumHealthyPercent) ||
		got.DeploymentCircuitBreaker == nil || *got.DeploymentCircuitBreaker != *want.DeploymentCircuitBreaker {
		return fmt.Errorf("deploymentConfiguration max %d min %d breaker %+v",
			aws.ToInt32(got.MaximumPercent), aws.ToInt32(got.MinimumHealthyPercent), got.DeploymentCircuitBreaker)
	}
	return nil
}

func findDeployment(deployments []types.Deployment, status string) *types.Deployment {
	for i := range deployments {
		if aws.ToString(deployments[i].Status) == status {
			return &deployments[i]
		}
	}
	return nil
}

func describeDeployments(deployments []types.Deployment) string {
	s := "["
	for i, d := range deployments {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s %s %s %s", aws.ToString(d.Id), aws.ToString(d.Status), aws.ToString(d.TaskDefinition), d.RolloutState)
	}
	return s + "]"
}

func wantNil(field string, values ...*time.Time) error {
	for _, v := range values {
		if v != nil {
			return fmt.Errorf("%s is set: %s", field, v)
		}
	}
	return nil
}
