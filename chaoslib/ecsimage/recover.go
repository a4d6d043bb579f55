package ecsimage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// orphanScanLimit bounds how many of a family's newest ACTIVE revisions recover inspects for orphaned chaos
// revisions; a chaos revision is always among the newest, since it is registered on top of the original.
const orphanScanLimit = 20

// Recover restores, from AWS state alone, the services among opts.Services that a killed run left under chaos:
// any whose task definition or deployments carry a chaos marker. It trusts only the marker (labels plus the chaos
// image), so a revision that merely copied the labels is left alone. With ecs:ListTaskDefinitions granted it also
// deregisters chaos revisions that no service points at any more. Only Cluster, Services, Region, Clock, Logger,
// StatusCheckTimeout, StatusCheckDelay, AbortDeadline and JobUID of opts are used; with JobUID set, only chaos
// revisions whose marker names that Job count (a retried pod cleans up after its own predecessor only).
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

// recoverService restores one service from the chaos markers on the revisions it uses: back to the original
// revision a marker names when one is found, else only the cleanup a rolled-back run may have left.
func recoverService(ctx context.Context, clients Clients, opts Options, svc types.Service, sr ServiceReport) ServiceReport {
	log := opts.Logger.WithField("service", sr.Service)
	sr.ServiceARN = aws.ToString(svc.ServiceArn)
	marker, chaos, err := readMarkers(ctx, clients, opts, log, revisionsInUse(svc))
	if err != nil {
		sr.fail(err)
		return sr
	}
	if marker == nil {
		recoverUnmarked(ctx, clients, opts, svc, &sr)
		return sr
	}
	log.Warnf("chaos marker of run %s found on %v: recovering to %s", marker.RunID, chaos, marker.OriginalTaskDefinitionARN)
	// The chaos revision the service points at; otherwise one a deployment still runs, and whether ECS rolled
	// it back is judged from ECS's evidence.
	chaosARN := chaos[0]
	if current := aws.ToString(svc.TaskDefinition); slices.Contains(chaos, current) {
		chaosARN = current
	}
	plan, err := planFromMarker(ctx, clients.Restore, *marker, svc, chaosARN)
	if err != nil {
		sr.fail(err)
		return sr
	}
	sr.OriginalTaskDefinition = marker.OriginalTaskDefinitionARN
	sr.ChaosTaskDefinitions = chaos
	sr.Changed = true
	opts.RunID = marker.RunID
	r := newRestorer(clients, opts)
	t := &target{name: sr.Service, report: &sr, service: svc, restorePlan: plan}
	r.restore(ctx, t)
	r.deregisterChaos(ctx, t)
	if t.report.State == StateRestored {
		r.waitRestored(ctx, []*target{t})
	}
	for _, o := range orphans(ctx, clients, opts, marker.OriginalTaskDefinitionARN, sr.ChaosTaskDefinitions, &sr) {
		sr.ChaosTaskDefinitions = append(sr.ChaosTaskDefinitions, o.arn)
	}
	deregisterOrphans(ctx, clients, opts, &sr)
	return sr
}

// revisionsInUse lists every revision the service or its deployments use, the service's own first: a killed run
// may have left its chaos revision in a deployment only.
func revisionsInUse(svc types.Service) []string {
	revisions := []string{aws.ToString(svc.TaskDefinition)}
	for _, d := range svc.Deployments {
		if arn := aws.ToString(d.TaskDefinition); !slices.Contains(revisions, arn) {
			revisions = append(revisions, arn)
		}
	}
	return revisions
}

// readMarkers reads the revisions and returns the chaos ones recover may act on, with the marker of the first of
// them (nil when there is none). A revision that cannot be read, or whose marker is damaged, is an error: recover
// then changes nothing rather than guess.
func readMarkers(ctx context.Context, clients Clients, opts Options, log logrus.FieldLogger, revisions []string) (*taskdef.Marker, []string, error) {
	var marker *taskdef.Marker
	var chaos []string
	for _, arn := range revisions {
		out, err := clients.Restore.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			return nil, nil, fmt.Errorf("read task definition %s: %s", arn, explainAPIError(err, "ecs:DescribeTaskDefinition"))
		}
		m, ok, err := taskdef.ReadMarker(out.TaskDefinition)
		if err != nil {
			return nil, nil, fmt.Errorf("task definition %s carries a damaged chaos marker (%v): roll the service back by hand", arn, err)
		}
		if ok && !opts.ownsMarker(m) {
			log.Infof("chaos revision %s belongs to run %s of another Job: left alone", arn, m.RunID)
			continue
		}
		if ok {
			chaos = append(chaos, arn)
			if marker == nil {
				marker = &m
			}
		}
	}
	return marker, chaos, nil
}

// recoverUnmarked handles a service whose revisions carry no marker recover may act on: there is nothing to put
// back, but a killed run that ECS rolled back may have left its chaos revision ACTIVE and the fault's deployment
// configuration on the service.
func recoverUnmarked(ctx context.Context, clients Clients, opts Options, svc types.Service, sr *ServiceReport) {
	sr.Restore.Action = RestoreNotNeeded
	sr.State = StateRestored
	sr.Restore.Completed = true
	found := orphans(ctx, clients, opts, aws.ToString(svc.TaskDefinition), nil, sr)
	for _, o := range found {
		sr.ChaosTaskDefinitions = append(sr.ChaosTaskDefinitions, o.arn)
	}
	restoreConfigurationAfterRollback(ctx, clients, opts, svc, found, sr)
	deregisterOrphans(ctx, clients, opts, sr)
}

// orphan is a chaos revision no service points at, with its marker.
type orphan struct {
	arn    string
	marker taskdef.Marker
}

// orphans finds chaos revisions of the family that the report does not know yet: the family's newest ACTIVE
// revision always (DescribeTaskDefinition by family needs no extra permission, and a chaos revision is registered
// on top of the original), and the newest twenty when ecs:ListTaskDefinitions is granted.
func orphans(ctx context.Context, clients Clients, opts Options, anyRevision string, known []string, sr *ServiceReport) []orphan {
	family := familyOf(anyRevision)
	var found []orphan
	consider := func(arn string) {
		if familyOf(arn) != family || arn == anyRevision || slices.Contains(known, arn) || slices.ContainsFunc(found, func(o orphan) bool { return o.arn == arn }) {
			return
		}
		td, err := clients.Restore.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil || td.TaskDefinition == nil || td.TaskDefinition.Status != types.TaskDefinitionStatusActive {
			return
		}
		if m, isChaos, err := taskdef.ReadMarker(td.TaskDefinition); err == nil && isChaos && opts.ownsMarker(m) {
			found = append(found, orphan{arn: arn, marker: m})
		}
	}
	if newest, err := clients.Restore.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family)}); err == nil && newest.TaskDefinition != nil {
		consider(aws.ToString(newest.TaskDefinition.TaskDefinitionArn))
	}
	lister, ok := clients.Restore.(TaskDefinitionLister)
	if !ok {
		return found
	}
	out, err := lister.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc, MaxResults: aws.Int32(orphanScanLimit),
	})
	if err != nil {
		if isAccessDenied(err) || errors.Is(err, errNoLister) {
			opts.Logger.WithField("service", sr.Service).Info(sr.warn("ecs:ListTaskDefinitions is not granted: only the newest revision of family %s was checked for orphaned chaos revisions", family))
		}
		return found
	}
	for _, arn := range out.TaskDefinitionArns {
		consider(arn)
	}
	return found
}

// restoreConfigurationAfterRollback handles a killed run whose service ECS already rolled back: the revision is
// the original again, but the deployment configuration may still be the fault's. The orphan's marker gives the
// restore plan, and its configuration half runs: the original goes back only over the fault's (compare-and-set).
func restoreConfigurationAfterRollback(ctx context.Context, clients Clients, opts Options, svc types.Service, found []orphan, sr *ServiceReport) {
	current := aws.ToString(svc.TaskDefinition)
	for _, o := range found {
		if o.marker.OriginalTaskDefinitionARN != current {
			continue
		}
		plan, err := planFromMarker(ctx, clients.Restore, o.marker, svc, o.arn)
		if err != nil {
			sr.warn("%v", err)
			continue
		}
		sr.OriginalTaskDefinition = current
		opts.RunID = o.marker.RunID
		r := newRestorer(clients, opts)
		t := &target{name: sr.Service, report: sr, service: svc, restorePlan: plan}
		t.chaosARN = o.arn
		// Who put the service back is read from ECS's own evidence, as during a run: a rollback record or the
		// chaos deployment FAILED with ECS's reason; anything else was someone else's revert.
		r.judgeRevert(ctx, t, svc, opts.Clock.Now())
		sr.Restore.Action = RestoreRevertedBySomeoneElse
		if sr.Observations.RolledBackByECS {
			sr.Restore.Action = RestoreRolledBackByECS
		}
		r.restoreConfiguration(ctx, t, svc)
		return
	}
}

// planFromMarker is the restore plan a chaos revision's marker gives for svc: the original revision it names (read
// again, so that a revision that is gone is an error before anything changes) and the original configuration.
// The marker does not hold the chaos configuration: the service's own counts as the fault's when it has the
// shape the fault sets over the original (chaosConfigurationOf).
func planFromMarker(ctx context.Context, c ECS, m taskdef.Marker, svc types.Service, chaosARN string) (restorePlan, error) {
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(m.OriginalTaskDefinitionARN)})
	if err != nil {
		return restorePlan{}, fmt.Errorf("read the original revision %s: %s", m.OriginalTaskDefinitionARN, explainAPIError(err, "ecs:DescribeTaskDefinition"))
	}
	if out.TaskDefinition == nil {
		return restorePlan{}, fmt.Errorf("read the original revision %s: DescribeTaskDefinition returned no task definition", m.OriginalTaskDefinitionARN)
	}
	originalDC, err := decodeDeploymentConfiguration(m.DeploymentConfiguration)
	if err != nil {
		return restorePlan{}, fmt.Errorf("the marker of %s holds a deployment configuration that does not decode (%v): roll the service back by hand to %s", chaosARN, err, m.OriginalTaskDefinitionARN)
	}
	return restorePlan{
		original:   out.TaskDefinition,
		originalDC: originalDC,
		chaosDC:    chaosConfigurationOf(svc, originalDC),
		chaosARN:   chaosARN,
	}, nil
}

// chaosConfigurationOf returns the service's deployment configuration when it is what the fault sets over
// original, and nil otherwise: for a REPLICA service the original with a lower maximumPercent, for a DAEMON service
// the original with a higher minimumHealthyPercent (maximumPercent stays for DAEMON), nothing else changed.
func chaosConfigurationOf(svc types.Service, original *types.DeploymentConfiguration) *types.DeploymentConfiguration {
	current := svc.DeploymentConfiguration
	if svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		if raisesOnlyMinimumHealthyPercent(original, current) {
			return cloneDeploymentConfiguration(current)
		}
		return nil
	}
	if differsOnlyInMaximumPercent(original, current) {
		return cloneDeploymentConfiguration(current)
	}
	return nil
}

// raisesOnlyMinimumHealthyPercent reports whether current is original with a higher minimumHealthyPercent (absent
// meaning 0, the API's default for DAEMON services).
func raisesOnlyMinimumHealthyPercent(original, current *types.DeploymentConfiguration) bool {
	if original == nil || current == nil || current.MinimumHealthyPercent == nil {
		return false
	}
	probe := cloneDeploymentConfiguration(original)
	probe.MinimumHealthyPercent = current.MinimumHealthyPercent
	return sameDeploymentConfiguration(probe, current) && *current.MinimumHealthyPercent > aws.ToInt32(original.MinimumHealthyPercent)
}

// deregisterOrphans deregisters the report's chaos revisions, except while the service may still use one: after a
// failed restore the manual steps deregister it once the service is back.
func deregisterOrphans(ctx context.Context, clients Clients, opts Options, sr *ServiceReport) {
	if sr.State == StateRestoreFailed {
		return
	}
	for _, arn := range sr.ChaosTaskDefinitions {
		if slices.Contains(sr.Restore.Deregistered, arn) || slices.Contains(sr.Restore.DeregisterFailed, arn) {
			continue
		}
		if _, err := clients.Restore.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			sr.Restore.DeregisterFailed = append(sr.Restore.DeregisterFailed, arn)
			step := fmt.Sprintf("aws ecs deregister-task-definition --task-definition %s --region %s", arn, opts.Region)
			sr.Restore.ManualSteps = append(sr.Restore.ManualSteps, step)
			sr.fail(fmt.Errorf("chaos revision %s is still ACTIVE: %s; run: %s", arn, explainAPIError(err, "ecs:DeregisterTaskDefinition"), step))
			opts.Logger.WithField("service", sr.Service).Error(sr.Error)
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

// ownsMarker reports whether recover may act on a chaos revision with marker m: any, unless JobUID limits it to
// the revisions of one Job.
func (o Options) ownsMarker(m taskdef.Marker) bool {
	return o.JobUID == "" || m.JobUID == o.JobUID
}
