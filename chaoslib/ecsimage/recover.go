package ecsimage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// orphanScanLimit bounds how many of a family's newest ACTIVE revisions recover inspects for orphaned chaos
// revisions; a chaos revision is always among the newest, since it is registered on top of the original.
const orphanScanLimit = 20

// Recover restores, from AWS state alone, the services among opts.Services that a killed run left under chaos:
// any whose task definition or deployments carry a chaos marker. It trusts only the marker (labels plus the chaos
// image), so a revision that merely copied the labels is left alone. With ecs:ListTaskDefinitions granted it also
// deregisters chaos revisions that no service points at any more. Only Cluster, Services, Region, Clock, Logger,
// StatusCheckTimeout, StatusCheckDelay and AbortDeadline of opts are used.
func Recover(ctx context.Context, clients Clients, opts Options) *Report {
	opts = opts.withDefaults()
	report := &Report{RunID: "recover", StartedAt: opts.Clock.Now()}
	defer func() { report.EndedAt = opts.Clock.Now(); report.Stop = stopCause(ctx) }()
	log := opts.Logger.WithField("command", "recover")
	found, missing, err := describeServices(ctx, clients.Restore, opts.Cluster, opts.Services)
	if err != nil {
		report.Err = fmt.Errorf("recover: %s", explainAPIError(err, "ecs:DescribeServices"))
		return report
	}
	for _, name := range opts.Services {
		sr := ServiceReport{Service: name, Cluster: opts.Cluster, State: StateReady}
		if reason, gone := missing[name]; gone {
			sr.State = StateRefused
			sr.fail(fmt.Errorf("service %s not found in cluster %s (%s)", name, opts.Cluster, reason))
			report.Services = append(report.Services, sr)
			continue
		}
		report.Services = append(report.Services, recoverService(ctx, clients, opts, found[name], sr))
		if s := report.Services[len(report.Services)-1]; !s.Changed {
			log.WithField("service", name).Info("no chaos marker found: nothing to recover")
		}
	}
	return report
}

func recoverService(ctx context.Context, clients Clients, opts Options, svc types.Service, sr ServiceReport) ServiceReport {
	log := opts.Logger.WithField("service", sr.Service)
	sr.ServiceARN = aws.ToString(svc.ServiceArn)
	// Every revision the service or its deployments use, with the markers among them.
	revisions := []string{aws.ToString(svc.TaskDefinition)}
	for _, d := range svc.Deployments {
		if arn := aws.ToString(d.TaskDefinition); !slices.Contains(revisions, arn) {
			revisions = append(revisions, arn)
		}
	}
	var marker *taskdef.Marker
	var chaos []string
	for _, arn := range revisions {
		out, err := clients.Restore.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			sr.fail(fmt.Errorf("read task definition %s: %s", arn, explainAPIError(err, "ecs:DescribeTaskDefinition")))
			return sr
		}
		m, ok, err := taskdef.ReadMarker(out.TaskDefinition)
		if err != nil {
			sr.fail(fmt.Errorf("task definition %s carries a damaged chaos marker (%v): roll the service back by hand", arn, err))
			return sr
		}
		if ok {
			chaos = append(chaos, arn)
			if marker == nil {
				marker = &m
			}
		}
	}
	if marker == nil {
		sr.Restore.Action = RestoreNotNeeded
		sr.State = StateRestored
		sr.Restore.Completed = true
		sr.ChaosTaskDefinitions = orphans(ctx, clients, opts, aws.ToString(svc.TaskDefinition), nil, &sr)
		deregisterOrphans(ctx, clients, opts, &sr)
		return sr
	}
	log.Warnf("chaos marker of run %s found on %v: recovering to %s", marker.RunID, chaos, marker.OriginalTaskDefinitionARN)
	original, err := clients.Restore.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(marker.OriginalTaskDefinitionARN)})
	if err != nil {
		sr.fail(fmt.Errorf("read the original revision %s: %s", marker.OriginalTaskDefinitionARN, explainAPIError(err, "ecs:DescribeTaskDefinition")))
		return sr
	}
	originalDC, err := decodeDeploymentConfiguration(marker.DeploymentConfiguration)
	if err != nil {
		sr.fail(fmt.Errorf("the marker's deployment configuration does not decode (%v): roll the service back by hand to %s", err, marker.OriginalTaskDefinitionARN))
		return sr
	}
	sr.OriginalTaskDefinition = marker.OriginalTaskDefinitionARN
	sr.ChaosTaskDefinitions = chaos
	sr.Changed = true
	opts.RunID = marker.RunID
	r := &run{clients: pacedClients(clients, opts.Clock, opts.Rates), opts: opts, log: opts.Logger.WithField("run", marker.RunID)}
	t := &target{name: sr.Service, report: &sr, service: svc, original: original.TaskDefinition, originalDC: originalDC}
	// The marker does not hold the chaos percentages; what the fault sets differs from the original only in a lower
	// maximumPercent, so that shape (and nothing else) counts as the fault's.
	t.chaosDC = &types.DeploymentConfiguration{MaximumPercent: aws.Int32(-1)}
	if differsOnlyInMaximumPercent(originalDC, svc.DeploymentConfiguration) {
		t.chaosDC = cloneDeploymentConfiguration(svc.DeploymentConfiguration)
	}
	if current := aws.ToString(svc.TaskDefinition); slices.Contains(chaos, current) {
		t.chaosARN = current
	}
	r.restore(ctx, t)
	r.deregisterChaos(ctx, t)
	if t.report.State == StateRestored {
		r.waitRestored(ctx, []*target{t})
	}
	sr.ChaosTaskDefinitions = append(sr.ChaosTaskDefinitions, orphans(ctx, clients, opts, marker.OriginalTaskDefinitionARN, sr.ChaosTaskDefinitions, &sr)...)
	deregisterOrphans(ctx, clients, opts, &sr)
	return sr
}

// orphans lists chaos revisions of the family that the report does not know yet, when ecs:ListTaskDefinitions is
// granted; without it recover says which permission would let it look.
func orphans(ctx context.Context, clients Clients, opts Options, anyRevision string, known []string, sr *ServiceReport) []string {
	lister, ok := clients.Restore.(TaskDefinitionLister)
	if !ok {
		return nil
	}
	family := familyOf(anyRevision)
	out, err := lister.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc, MaxResults: aws.Int32(orphanScanLimit),
	})
	if err != nil {
		if isAccessDenied(err) {
			opts.Logger.WithField("service", sr.Service).Info(sr.warn("ecs:ListTaskDefinitions is not granted: orphaned chaos revisions of family %s, if any, were not looked for", family))
		}
		return nil
	}
	var found []string
	for _, arn := range out.TaskDefinitionArns {
		if familyOf(arn) != family || slices.Contains(known, arn) || arn == anyRevision {
			continue
		}
		td, err := clients.Restore.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			continue
		}
		if _, isChaos, err := taskdef.ReadMarker(td.TaskDefinition); err == nil && isChaos {
			found = append(found, arn)
		}
	}
	return found
}

// deregisterOrphans deregisters the report's chaos revisions that no deployment of the service uses.
func deregisterOrphans(ctx context.Context, clients Clients, opts Options, sr *ServiceReport) {
	for _, arn := range sr.ChaosTaskDefinitions {
		if slices.Contains(sr.Restore.Deregistered, arn) || slices.Contains(sr.Restore.DeregisterFailed, arn) {
			continue
		}
		if _, err := clients.Restore.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			sr.Restore.DeregisterFailed = append(sr.Restore.DeregisterFailed, arn)
			opts.Logger.WithField("service", sr.Service).Warn(sr.warn("could not deregister chaos revision %s: %s", arn, explainAPIError(err, "ecs:DeregisterTaskDefinition")))
			continue
		}
		sr.Changed = true
		sr.Restore.Deregistered = append(sr.Restore.Deregistered, arn)
		opts.Logger.WithField("service", sr.Service).WithField("revision", arn).Info("deregistered orphaned chaos revision")
	}
}

// familyOf returns the family of a task definition ARN or family:revision.
func familyOf(arn string) string {
	s := arn
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}
