package ecssim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

// Service deployments and service revisions, ECS's deployment history API.
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html: ECS creates a service
// deployment when a service is created, updated with forceNewDeployment, or updated in a property that needs
// a deployment. It records the source revisions (what ran), the target revision (what is deployed), the
// status, the circuit breaker's failed-task count, the alarms in alarm, start and finish, and "the details of
// a rollback if one occurred". States: PENDING; ongoing IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED,
// ROLLBACK_IN_PROGRESS; completed SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED. A rollback
// belongs to the deployment it rolls back (types.ServiceDeployment.Rollback: reason, the service revision
// deployed, when it started). "The service deployment stops when ... the rollback option is not in use for
// the failure detection mechanism (the circuit breaker or alarm-based) and the service fails"
// (types.ServiceDeployment.StoppedAt). When a service is deleted its service deployments go with it.
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-revision.html and
// types.ServiceRevision: a service revision holds the task definition, launch type, platform version,
// network configuration and the container images with the digests ECS resolved for them
// (types.ContainerImage).
//
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stop-service-deployment.html:
// StopServiceDeployment with ROLLBACK "rolls back the service deployment to the previous service revision",
// also without the rollback option configured; PENDING and IN_PROGRESS move to ROLLBACK_REQUESTED and the
// rollback starts; STOP_REQUESTED, ROLLBACK_REQUESTED and ROLLBACK_IN_PROGRESS carry on.
//
// Where the simulator decides what the documentation leaves open (each a guess, kept plain): a deployment
// superseded by a newer one while ongoing becomes STOPPED; ListServiceDeployments lists newest first;
// StopServiceDeployment of a completed deployment is a ConflictException; statusReason and rollback reason
// texts are the simulator's own; lifecycleStage is left out for ROLLING deployments (the stages the SDK
// documents describe blue/green traffic shifts).

// maxHistoryARNs is the most ARNs DescribeServiceDeployments and DescribeServiceRevisions take.
const maxHistoryARNs = 20

type serviceRevision struct {
	arn        string
	svc        *service
	taskDef    string
	images     []types.ContainerImage // one per container; ImageDigest set once established
	createdAt  time.Time
	launchType types.LaunchType
	platform   *string
	network    *types.NetworkConfiguration
	capacity   []types.CapacityProviderStrategyItem
}

// digest is the digest established for a container, or "".
func (r *serviceRevision) digest(container string) string {
	for _, img := range r.images {
		if aws.ToString(img.ContainerName) == container {
			return aws.ToString(img.ImageDigest)
		}
	}
	return ""
}

// establish records a container's digest the first time it is resolved; later tasks never change it.
func (r *serviceRevision) establish(container, digest string) {
	for i := range r.images {
		if aws.ToString(r.images[i].ContainerName) == container && r.images[i].ImageDigest == nil && digest != "" {
			r.images[i].ImageDigest = aws.String(digest)
		}
	}
}

// needsResolution reports whether any container of td has a tag ECS resolves.
func (r *serviceRevision) needsResolution(td *types.TaskDefinition) bool {
	for _, img := range r.images {
		if versionConsistent(td, aws.ToString(img.ContainerName), aws.ToString(img.Image)) {
			return true
		}
	}
	return false
}

// resolved reports whether every container that needs a digest has one.
func (r *serviceRevision) resolved() bool {
	for _, img := range r.images {
		if img.ImageDigest == nil {
			return false
		}
	}
	return true
}

type serviceDeployment struct {
	arn         string
	svc         *service
	target      *serviceRevision
	sources     []types.ServiceRevisionSummary
	dep         *deployment // the deployment it started
	rollbackDep *deployment // the deployment of its rollback, if any
	status      types.ServiceDeploymentStatus
	reason      string
	cfg         types.DeploymentConfiguration
	createdAt   time.Time
	updatedAt   time.Time
	finishedAt  *time.Time
	stoppedAt   *time.Time
	breakerHit  bool
	rollback    *types.Rollback
	final       *types.ServiceRevisionSummary // the target's counts when it finished
	// Stage is the lifecycle stage, for strategies that report one.
	stage types.ServiceDeploymentLifecycleStage
}

func (d *serviceDeployment) ongoing() bool {
	switch d.status {
	case types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress,
		types.ServiceDeploymentStatusStopRequested, types.ServiceDeploymentStatusRollbackRequested,
		types.ServiceDeploymentStatusRollbackInProgress:
		return true
	}
	return false
}

func (d *serviceDeployment) finish(status types.ServiceDeploymentStatus, at time.Time, reason string) {
	d.status = status
	d.updatedAt = at
	d.finishedAt = timePtr(at)
	if reason != "" {
		d.reason = reason
	}
	counts := d.svc.revisionCounts(d.target)
	d.final = &counts
}

func (s *Simulator) newRevision(svc *service, taskDef string) *serviceRevision {
	rev := &serviceRevision{
		arn: s.arn(fmt.Sprintf("service-revision/%s/%s/%d", svc.cluster.name, svc.name, s.rng.Uint64N(9e18)+1e18)),
		svc: svc, taskDef: taskDef, createdAt: s.now, launchType: svc.spec.LaunchType,
		platform: svc.spec.PlatformVersion, network: svc.spec.NetworkConfiguration, capacity: svc.spec.CapacityProviderStrategy,
	}
	if td := s.resolveTaskDefinition(taskDef); td != nil {
		for _, cd := range td.ContainerDefinitions {
			img := types.ContainerImage{ContainerName: cd.Name, Image: cd.Image}
			if _, _, digest, ok := splitImage(aws.ToString(cd.Image)); ok && digest != "" {
				img.ImageDigest = aws.String(digest) // a digested reference needs no resolution
			}
			rev.images = append(rev.images, img)
		}
	}
	svc.revisions = append(svc.revisions, rev)
	return rev
}

// recordDeployment gives a new deployment its service revision and service deployment. A service deployment
// still ongoing is superseded: STOPPED.
func (s *Simulator) recordDeployment(svc *service, dep *deployment) {
	var sources []types.ServiceRevisionSummary
	var seen []*serviceRevision
	for _, old := range svc.deployments {
		if old == dep || old.rev == nil || slices.Contains(seen, old.rev) {
			continue
		}
		seen = append(seen, old.rev)
		sources = append(sources, svc.revisionCounts(old.rev))
	}
	if cur := svc.currentSvd; cur != nil && cur.ongoing() {
		cur.stoppedAt = timePtr(s.now)
		cur.finish(types.ServiceDeploymentStatusStopped, s.now, "Service deployment stopped: a newer service deployment started.")
	}
	dep.rev = s.newRevision(svc, dep.taskDef)
	id := strings.ReplaceAll(s.newEventID(), "-", "")[:22]
	svd := &serviceDeployment{
		arn: s.arn(fmt.Sprintf("service-deployment/%s/%s/%s", svc.cluster.name, svc.name, id)),
		svc: svc, target: dep.rev, sources: sources, dep: dep, status: types.ServiceDeploymentStatusInProgress,
		cfg: svc.cfg, createdAt: s.now, updatedAt: s.now,
	}
	dep.svd = svd
	svc.history = append(svc.history, svd)
	svc.currentSvd = svd
}

// revisionCounts is a revision's summary with the tasks of the deployments that run it.
func (svc *service) revisionCounts(rev *serviceRevision) types.ServiceRevisionSummary {
	out := types.ServiceRevisionSummary{Arn: aws.String(rev.arn)}
	for _, d := range svc.deployments {
		if d.rev == rev && d.status == "PRIMARY" {
			out.RequestedTaskCount = d.desired
		}
	}
	for _, t := range svc.tasks() {
		if t.dep == nil || t.dep.rev != rev || t.desiredStatus != statusRunning {
			continue
		}
		switch t.lastStatus {
		case statusRunning:
			out.RunningTaskCount++
		case statusPending, statusProvisioning:
			out.PendingTaskCount++
		}
	}
	return out
}

// deploymentCompleted settles the service deployment of a deployment that reached COMPLETED: its own
// (SUCCESSFUL) or the rollback it ran (ROLLBACK_SUCCESSFUL).
func (s *Simulator) deploymentCompleted(dep *deployment) {
	svd := dep.svd
	if svd == nil || !svd.ongoing() {
		return
	}
	switch dep {
	case svd.rollbackDep:
		svd.finish(types.ServiceDeploymentStatusRollbackSuccessful, s.now, "")
	case svd.dep:
		svd.finish(types.ServiceDeploymentStatusSuccessful, s.now, "")
	}
}

// failDeployment fails the primary deployment as the circuit breaker does and, with its rollback option,
// deploys the last COMPLETED deployment's service revision again, recording the rollback in the service
// deployment; without it, the service deployment stops.
func (s *Simulator) failDeployment(svc *service, dep *deployment, reason, eventText string) {
	if dep.rollout != types.DeploymentRolloutStateInProgress {
		return
	}
	dep.rollout = types.DeploymentRolloutStateFailed
	dep.reason = reason
	dep.updatedAt = s.now
	s.addEvent(svc, "(deployment %s) deployment failed: %s.", dep.id, eventText)
	svd := dep.svd
	if svd != nil {
		svd.breakerHit = true
		svd.reason = reason
		svd.updatedAt = s.now
	}
	cb := svc.cfg.DeploymentCircuitBreaker
	if dep.staged != nil { // blue/green family: traffic goes back to blue, which kept running (strategies.go)
		if cb != nil && cb.Rollback {
			s.rollbackStaged(svc, dep, reason)
		}
		return
	}
	if cb == nil || !cb.Rollback || svc.lastCompleted == nil || svc.lastCompleted == dep {
		if svd != nil && svd.ongoing() {
			svd.stoppedAt = timePtr(s.now)
			svd.finish(types.ServiceDeploymentStatusStopped, s.now, "")
		}
		return
	}
	target := svc.lastCompleted
	s.addEvent(svc, "rolling back to deployment %s.", target.id)
	s.rollbackTo(svc, svd, target, fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", target.id),
		"Service deployment rolled back because the circuit breaker detected failed tasks.")
}

// rollbackTo deploys the service revision of an earlier deployment again (with its task definition and
// digests), as the rollback of svd.
func (s *Simulator) rollbackTo(svc *service, svd *serviceDeployment, earlier *deployment, depReason, rollbackReason string) {
	dep := s.newECSDeployment(svc, earlier.taskDef, depReason)
	dep.rev = earlier.rev
	if dep.rev == nil {
		dep.rev = s.newRevision(svc, earlier.taskDef)
	}
	dep.svd = svd
	if svd == nil {
		return
	}
	svd.rollbackDep = dep
	svd.status = types.ServiceDeploymentStatusRollbackInProgress
	svd.updatedAt = s.now
	svd.rollback = &types.Rollback{Reason: aws.String(rollbackReason), ServiceRevisionArn: aws.String(dep.rev.arn), StartedAt: timePtr(s.now)}
	svc.currentSvd = svd
}

// serviceOfARN finds the service a service-deployment or service-revision ARN belongs to
// (…:service-deployment/cluster/service/id).
func (s *Simulator) serviceOfARN(arn, kind string) *service {
	_, rest, ok := strings.Cut(arn, ":"+kind+"/")
	if !ok {
		return nil
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return nil
	}
	c := s.clusters[parts[0]]
	if c == nil {
		return nil
	}
	return c.services[parts[1]]
}

func (s *Simulator) findServiceDeployment(arn string) *serviceDeployment {
	svc := s.serviceOfARN(arn, "service-deployment")
	if svc == nil || svc.status == "INACTIVE" {
		return nil
	}
	for _, d := range svc.history {
		if d.arn == arn {
			return d
		}
	}
	return nil
}

func (s *Simulator) findServiceRevision(arn string) *serviceRevision {
	svc := s.serviceOfARN(arn, "service-revision")
	if svc == nil || svc.status == "INACTIVE" {
		return nil
	}
	for _, r := range svc.revisions {
		if r.arn == arn {
			return r
		}
	}
	return nil
}

type historyRequest struct {
	Cluster   string   `json:"cluster"`
	Service   string   `json:"service"`
	Status    []string `json:"status"`
	CreatedAt *struct {
		Before *float64 `json:"before"`
		After  *float64 `json:"after"`
	} `json:"createdAt"`
	MaxResults            *int     `json:"maxResults"`
	NextToken             string   `json:"nextToken"`
	ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
	ServiceRevisionArns   []string `json:"serviceRevisionArns"`
	ServiceDeploymentArn  string   `json:"serviceDeploymentArn"`
	StopType              string   `json:"stopType"`
}

func epoch(f float64) time.Time {
	return time.Unix(0, int64(f*float64(time.Second)))
}

func (s *Simulator) listServiceDeployments(body []byte) (smithy.Serializable, string, *APIError) {
	var in historyRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if in.Service == "" {
		return nil, "", invalidParam("service is required.")
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	svc, e := s.serviceLocked(in.Cluster, in.Service)
	if e != nil {
		return nil, "", e
	}
	if svc.status == "INACTIVE" {
		return nil, "", errServiceNotFound()
	}
	var arns []string
	byARN := map[string]*serviceDeployment{}
	for i := len(svc.history) - 1; i >= 0; i-- {
		d := svc.history[i]
		if len(in.Status) > 0 && !slices.Contains(in.Status, string(d.status)) {
			continue
		}
		if in.CreatedAt != nil && ((in.CreatedAt.Before != nil && !d.createdAt.Before(epoch(*in.CreatedAt.Before))) ||
			(in.CreatedAt.After != nil && !d.createdAt.After(epoch(*in.CreatedAt.After)))) {
			continue
		}
		arns = append(arns, d.arn)
		byARN[d.arn] = d
	}
	got, next, e := page(arns, in.NextToken, in.MaxResults, 20)
	if e != nil {
		return nil, "", e
	}
	out := &ecs.ListServiceDeploymentsOutput{NextToken: next, ServiceDeployments: []types.ServiceDeploymentBrief{}}
	for _, arn := range got {
		d := byARN[arn]
		out.ServiceDeployments = append(out.ServiceDeployments, types.ServiceDeploymentBrief{
			ClusterArn: aws.String(svc.cluster.arn), ServiceArn: aws.String(svc.arn), ServiceDeploymentArn: aws.String(d.arn),
			CreatedAt: timePtr(d.createdAt), StartedAt: timePtr(d.createdAt), FinishedAt: d.finishedAt,
			Status: d.status, StatusReason: optString(d.reason), TargetServiceRevisionArn: aws.String(d.target.arn),
		})
	}
	return out, "", nil
}

func optString(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

func (s *Simulator) describeServiceDeployments(body []byte) (smithy.Serializable, string, *APIError) {
	var in historyRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if len(in.ServiceDeploymentArns) == 0 || len(in.ServiceDeploymentArns) > maxHistoryARNs {
		return nil, "", invalidParam("serviceDeploymentArns must contain between 1 and %d items.", maxHistoryARNs)
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	out := &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeployment{}}
	for _, arn := range in.ServiceDeploymentArns {
		d := s.findServiceDeployment(arn)
		if d == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, s.renderServiceDeployment(d))
	}
	return out, "", nil
}

// monitorStatus is the status of a failure detection mechanism (types.ServiceDeploymentRollbackMonitorsStatus).
func monitorStatus(enabled, triggered, ongoing bool) types.ServiceDeploymentRollbackMonitorsStatus {
	switch {
	case !enabled:
		return types.ServiceDeploymentRollbackMonitorsStatusDisabled
	case triggered:
		return types.ServiceDeploymentRollbackMonitorsStatusTriggered
	case ongoing:
		return types.ServiceDeploymentRollbackMonitorsStatusMonitoring
	default:
		return types.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
	}
}

func (s *Simulator) renderServiceDeployment(d *serviceDeployment) types.ServiceDeployment {
	svc := d.svc
	cfg := d.cfg
	target := svc.revisionCounts(d.target)
	if d.final != nil {
		target = *d.final
	}
	out := types.ServiceDeployment{
		ClusterArn: aws.String(svc.cluster.arn), ServiceArn: aws.String(svc.arn), ServiceDeploymentArn: aws.String(d.arn),
		CreatedAt: timePtr(d.createdAt), StartedAt: timePtr(d.createdAt), UpdatedAt: timePtr(d.updatedAt),
		FinishedAt: d.finishedAt, StoppedAt: d.stoppedAt, Status: d.status, StatusReason: optString(d.reason),
		DeploymentConfiguration: &cfg, TargetServiceRevision: &target,
		SourceServiceRevisions: append([]types.ServiceRevisionSummary{}, d.sources...),
		LifecycleStage:         d.stage,
	}
	cb := cfg.DeploymentCircuitBreaker
	breaker := &types.ServiceDeploymentCircuitBreaker{
		Status: monitorStatus(cb != nil && cb.Enable, d.breakerHit, d.ongoing()),
	}
	if cb != nil && cb.Enable && d.dep != nil {
		breaker.FailureCount = d.dep.breakerFailures
		breaker.Threshold = thresholdFor(cb.ThresholdConfiguration, d.dep.desired)
	}
	out.DeploymentCircuitBreaker = breaker
	if a := cfg.Alarms; a != nil {
		// Alarms are not evaluated here (no CloudWatch): they are listed, and never TRIGGERED.
		out.Alarms = &types.ServiceDeploymentAlarms{
			AlarmNames: append([]string{}, a.AlarmNames...), Status: monitorStatus(a.Enable, false, d.ongoing()),
		}
	}
	if d.rollback != nil {
		rb := *d.rollback
		out.Rollback = &rb
	}
	return out
}

func (s *Simulator) describeServiceRevisions(body []byte) (smithy.Serializable, string, *APIError) {
	var in historyRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if len(in.ServiceRevisionArns) == 0 || len(in.ServiceRevisionArns) > maxHistoryARNs {
		return nil, "", invalidParam("serviceRevisionArns must contain between 1 and %d items.", maxHistoryARNs)
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	out := &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []types.ServiceRevision{}}
	for _, arn := range in.ServiceRevisionArns {
		r := s.findServiceRevision(arn)
		if r == nil {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.ServiceRevisions = append(out.ServiceRevisions, types.ServiceRevision{
			ServiceRevisionArn: aws.String(r.arn), ServiceArn: aws.String(r.svc.arn), ClusterArn: aws.String(r.svc.cluster.arn),
			TaskDefinition: aws.String(r.taskDef), CreatedAt: timePtr(r.createdAt), LaunchType: r.launchType,
			PlatformVersion: r.platform, NetworkConfiguration: r.network, CapacityProviderStrategy: r.capacity,
			ContainerImages: append([]types.ContainerImage{}, r.images...),
		})
	}
	return out, "", nil
}

func (s *Simulator) stopServiceDeployment(body []byte) (smithy.Serializable, string, *APIError) {
	var in historyRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if in.ServiceDeploymentArn == "" {
		return nil, "", invalidParam("serviceDeploymentArn is required.")
	}
	if in.StopType != "" && in.StopType != string(types.StopServiceDeploymentStopTypeRollback) {
		return nil, "", invalidParam("stopType %q is not supported for this service deployment. The valid values are ROLLBACK.", in.StopType)
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	d := s.findServiceDeployment(in.ServiceDeploymentArn)
	if d == nil {
		return nil, "", &APIError{Code: "ServiceDeploymentNotFoundException", Message: "The service deployment does not exist."}
	}
	out := &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: aws.String(d.arn)}
	switch d.status {
	case types.ServiceDeploymentStatusStopRequested, types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress:
		return out, d.arn + " already stopping", nil // "continues the rollback operation"
	case types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress:
	default:
		return nil, "", &APIError{Code: "ConflictException", Message: fmt.Sprintf("The service deployment is %s and cannot be stopped.", d.status)}
	}
	svc := d.svc
	// "the previous service revision": the one the last completed deployment ran, when it is a source.
	var earlier *deployment
	if lc := svc.lastCompleted; lc != nil && lc != d.dep && lc.rev != nil {
		earlier = lc
	}
	if earlier == nil {
		return nil, "", &APIError{Code: "ConflictException", Message: "The service deployment has no previous service revision to roll back to."}
	}
	d.status = types.ServiceDeploymentStatusRollbackRequested
	s.addEvent(svc, "rolling back to deployment %s.", earlier.id)
	s.rollbackTo(svc, d, earlier, fmt.Sprintf("ECS deployment %s rolling back to deploymentId %s at the request of a user.", d.dep.id, earlier.id),
		"Service deployment rolled back because of a user request.")
	s.reconcile(svc)
	return out, fmt.Sprintf("%s %s -> %s", d.arn, in.StopType, earlier.rev.arn), nil
}

// renderHistory adds the deployment history to a DescribeServices view and leaves rolloutState out where
// ECS does: types.Deployment.RolloutState "is only returned for services that use the rolling update (ECS)
// deployment type that aren't behind a Classic Load Balancer".
func (s *Simulator) renderHistory(svc *service, out *types.Service) {
	if svc.currentSvd != nil {
		out.CurrentServiceDeployment = aws.String(svc.currentSvd.arn)
	}
	out.CurrentServiceRevisions = nil
	var seen []*serviceRevision
	for _, d := range svc.deployments {
		if d.rev == nil || slices.Contains(seen, d.rev) {
			continue
		}
		seen = append(seen, d.rev)
		c := svc.revisionCounts(d.rev)
		out.CurrentServiceRevisions = append(out.CurrentServiceRevisions, types.ServiceCurrentRevisionSummary{
			Arn: c.Arn, RequestedTaskCount: c.RequestedTaskCount, RunningTaskCount: c.RunningTaskCount, PendingTaskCount: c.PendingTaskCount,
		})
	}
	if reportsRolloutState(svc) {
		return
	}
	for i := range out.Deployments {
		out.Deployments[i].RolloutState = ""
		out.Deployments[i].RolloutStateReason = nil
	}
}

func reportsRolloutState(svc *service) bool {
	if svc.controller != types.DeploymentControllerTypeEcs {
		return false
	}
	for _, lb := range svc.spec.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) != "" { // a Classic Load Balancer is named, not a target group
			return false
		}
	}
	return true
}
