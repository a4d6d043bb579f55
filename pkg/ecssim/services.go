package ecssim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

func errClusterNotFound() *APIError {
	return &APIError{Code: "ClusterNotFoundException", Message: "Cluster not found."}
}

func errServiceNotFound() *APIError {
	return &APIError{Code: "ServiceNotFoundException", Message: "Service not found."}
}

// lastSegment turns a name or ARN (…/name) into the name.
func lastSegment(ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref[strings.LastIndex(ref, "/")+1:]
	}
	return ref
}

// clusterLocked finds a cluster by name or ARN; "" is the default cluster.
func (s *Simulator) clusterLocked(ref string) (*cluster, *APIError) {
	if ref == "" {
		ref = "default"
	}
	c := s.clusters[lastSegment(ref)]
	if c == nil {
		return nil, errClusterNotFound()
	}
	return c, nil
}

type clusterRequest struct {
	ClusterName string          `json:"clusterName"`
	Clusters    []string        `json:"clusters"`
	Include     []string        `json:"include"`
	Tags        json.RawMessage `json:"tags"`
}

func (s *Simulator) createCluster(body []byte) (smithy.Serializable, string, *APIError) {
	var in clusterRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if in.ClusterName == "" {
		in.ClusterName = "default"
	}
	if !namePattern.MatchString(in.ClusterName) {
		return nil, "", invalidParam("Cluster name %q must be up to 255 letters, numbers, hyphens and underscores.", in.ClusterName)
	}
	tags, e := s.decodeTags(in.Tags)
	if e != nil {
		return nil, "", e
	}
	if e := validateTags(tags); e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	c := s.clusters[in.ClusterName]
	if c == nil { // CreateCluster is idempotent on the name
		c = &cluster{
			name: in.ClusterName, arn: s.arn("cluster/" + in.ClusterName), createdAt: s.now,
			services: map[string]*service{}, tasks: map[string]*task{},
		}
		s.clusters[c.name] = c
		if len(tags) > 0 {
			s.tags[c.arn] = tags
		}
	}
	return &ecs.CreateClusterOutput{Cluster: s.renderCluster(c, false)}, c.arn, nil
}

func (s *Simulator) renderCluster(c *cluster, withTags bool) *types.Cluster {
	out := &types.Cluster{ClusterArn: aws.String(c.arn), ClusterName: aws.String(c.name), Status: aws.String("ACTIVE")}
	for _, svc := range c.services {
		if svc.status == "ACTIVE" {
			out.ActiveServicesCount++
		}
	}
	for _, t := range c.taskOrder {
		switch {
		case t.lastStatus == statusRunning:
			out.RunningTasksCount++
		case t.lastStatus == statusPending || t.lastStatus == statusProvisioning:
			out.PendingTasksCount++
		}
	}
	if withTags {
		out.Tags = append([]types.Tag{}, s.tags[c.arn]...)
	}
	return out
}

func (s *Simulator) describeClusters(body []byte) (smithy.Serializable, string, *APIError) {
	var in clusterRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if len(in.Clusters) == 0 {
		in.Clusters = []string{"default"}
	}
	if len(in.Clusters) > 100 {
		return nil, "", invalidParam("clusters can have at most 100 items.")
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	out := &ecs.DescribeClustersOutput{}
	for _, ref := range in.Clusters {
		c := s.clusters[lastSegment(ref)]
		if c == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn("cluster/" + ref)
			}
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.Clusters = append(out.Clusters, *s.renderCluster(c, includes(in.Include, "TAGS")))
	}
	return out, "", nil
}

// serviceRequest holds the plain top-level members of Create/Update/Delete/DescribeServices; nested
// shapes are decoded into types.Service, which shares their member names.
type serviceRequest struct {
	Cluster            string          `json:"cluster"`
	ServiceName        string          `json:"serviceName"`
	Service            string          `json:"service"`
	Services           []string        `json:"services"`
	Include            []string        `json:"include"`
	TaskDefinition     *string         `json:"taskDefinition"`
	DesiredCount       *int32          `json:"desiredCount"`
	ForceNewDeployment bool            `json:"forceNewDeployment"`
	Force              bool            `json:"force"`
	Tags               json.RawMessage `json:"tags"`

	present map[string]json.RawMessage
}

func (s *Simulator) decodeServiceRequest(body []byte) (*serviceRequest, *types.Service, *APIError) {
	var in serviceRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, nil, e
	}
	if e := decodeJSON(body, &in.present); e != nil {
		return nil, nil, e
	}
	var spec types.Service
	if err := s.codec.decode(body, &spec); err != nil {
		return nil, nil, &APIError{Code: "SerializationException", Message: err.Error()}
	}
	return &in, &spec, nil
}

// mergeDeploymentConfiguration applies the members given in an update over the current ones, as ECS does,
// and fills the defaults ECS reports.
func mergeDeploymentConfiguration(cur types.DeploymentConfiguration, given *types.DeploymentConfiguration, daemon bool) types.DeploymentConfiguration {
	out := cur
	if given != nil {
		if given.MaximumPercent != nil {
			out.MaximumPercent = given.MaximumPercent
		}
		if given.MinimumHealthyPercent != nil {
			out.MinimumHealthyPercent = given.MinimumHealthyPercent
		}
		if given.DeploymentCircuitBreaker != nil {
			out.DeploymentCircuitBreaker = given.DeploymentCircuitBreaker
		}
		if given.Alarms != nil {
			out.Alarms = given.Alarms
		}
		if given.Strategy != "" {
			out.Strategy = given.Strategy
		}
		if given.BakeTimeInMinutes != nil {
			out.BakeTimeInMinutes = given.BakeTimeInMinutes
		}
		if given.LifecycleHooks != nil {
			out.LifecycleHooks = given.LifecycleHooks
		}
		if given.LinearConfiguration != nil {
			out.LinearConfiguration = given.LinearConfiguration
		}
		if given.CanaryConfiguration != nil {
			out.CanaryConfiguration = given.CanaryConfiguration
		}
		if given.EarlySuccessCriteria != nil {
			out.EarlySuccessCriteria = given.EarlySuccessCriteria
		}
	}
	if out.MaximumPercent == nil {
		out.MaximumPercent = aws.Int32(map[bool]int32{false: 200, true: 100}[daemon])
	}
	if out.MinimumHealthyPercent == nil {
		out.MinimumHealthyPercent = aws.Int32(map[bool]int32{false: 100, true: 0}[daemon])
	}
	if out.DeploymentCircuitBreaker == nil {
		out.DeploymentCircuitBreaker = &types.DeploymentCircuitBreaker{}
	}
	if out.Strategy == "" {
		out.Strategy = types.DeploymentStrategyRolling
	}
	return out
}

func validateDeploymentConfiguration(cfg types.DeploymentConfiguration) *APIError {
	maxPct, minPct := aws.ToInt32(cfg.MaximumPercent), aws.ToInt32(cfg.MinimumHealthyPercent)
	switch {
	case minPct < 0 || minPct > 100:
		return invalidParam("minimumHealthyPercent must be between 0 and 100.")
	case maxPct < 1 || maxPct > 200*10:
		return invalidParam("maximumPercent must be a positive integer.")
	case maxPct < minPct:
		return invalidParam("maximumPercent must be greater than or equal to minimumHealthyPercent.")
	}
	return nil
}

// createService makes a service in an existing cluster and, with a task definition, its first deployment.
func (s *Simulator) createService(body []byte) (smithy.Serializable, string, *APIError) {
	in, spec, e := s.decodeServiceRequest(body)
	if e != nil {
		return nil, "", e
	}
	cfg, e := validateNewService(in, spec)
	if e != nil {
		return nil, "", e
	}
	tags, e := s.decodeTags(in.Tags)
	if e != nil {
		return nil, "", e
	}
	if e := validateTags(tags); e != nil {
		return nil, "", e
	}

	s.lockAndAdvance()
	defer s.mu.Unlock()
	c, e := s.clusterLocked(in.Cluster)
	if e != nil {
		return nil, "", e
	}
	if old := c.services[in.ServiceName]; old != nil && old.status != "INACTIVE" {
		return nil, "", invalidParam("Creation of service was not idempotent.")
	}
	controller := deploymentController(spec)
	var tdArn string
	if in.TaskDefinition != nil || controller == types.DeploymentControllerTypeEcs {
		if tdArn, e = s.activeTaskDefinitionLocked(aws.ToString(in.TaskDefinition)); e != nil {
			return nil, "", e
		}
	}
	svc := s.addServiceLocked(c, in, spec, cfg, controller, tags)
	desired := svc.desired
	if tdArn != "" {
		s.newDeployment(svc, tdArn, "")
		s.reconcile(svc)
	}
	return &ecs.CreateServiceOutput{Service: s.renderService(svc, false)},
		fmt.Sprintf("%s taskDefinition=%s desiredCount=%d", svc.arn, tdArn, desired), nil
}

// deploymentController is the controller a CreateService request asks for, ECS when it names none.
func deploymentController(spec *types.Service) types.DeploymentControllerType {
	if spec.DeploymentController != nil && spec.DeploymentController.Type != "" {
		return spec.DeploymentController.Type
	}
	return types.DeploymentControllerTypeEcs
}

// validateNewService applies the checks of CreateService that need no state, and returns the deployment
// configuration the service starts with (defaults filled in).
func validateNewService(in *serviceRequest, spec *types.Service) (types.DeploymentConfiguration, *APIError) {
	if !namePattern.MatchString(in.ServiceName) {
		return types.DeploymentConfiguration{}, invalidParam("Service name %q must be up to 255 letters, numbers, hyphens and underscores.", in.ServiceName)
	}
	daemon := spec.SchedulingStrategy == types.SchedulingStrategyDaemon
	if in.DesiredCount == nil && !daemon {
		return types.DeploymentConfiguration{}, invalidParam("desiredCount is required for a REPLICA service.")
	}
	if spec.LaunchType != "" && len(spec.CapacityProviderStrategy) > 0 {
		return types.DeploymentConfiguration{}, invalidParam("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	cfg := mergeDeploymentConfiguration(types.DeploymentConfiguration{}, spec.DeploymentConfiguration, daemon)
	if e := validateDeploymentConfiguration(cfg); e != nil {
		return types.DeploymentConfiguration{}, e
	}
	return cfg, nil
}

// activeTaskDefinitionLocked resolves the task definition a service is pointed at to its ARN; ECS refuses a
// missing or deregistered (INACTIVE) one.
func (s *Simulator) activeTaskDefinitionLocked(ref string) (string, *APIError) {
	td := s.resolveTaskDefinition(ref)
	if td == nil {
		return "", clientErr("TaskDefinition not found.")
	}
	if td.Status != types.TaskDefinitionStatusActive {
		return "", clientErr("TaskDefinition is inactive")
	}
	return aws.ToString(td.TaskDefinitionArn), nil
}

// addServiceLocked stores a new ACTIVE service in c, in place of an INACTIVE one of the same name, with the
// defaults ECS fills in; its tags replace any the previous service of that name left.
func (s *Simulator) addServiceLocked(c *cluster, in *serviceRequest, spec *types.Service, cfg types.DeploymentConfiguration,
	controller types.DeploymentControllerType, tags []types.Tag) *service {
	desired := aws.ToInt32(in.DesiredCount)
	if spec.SchedulingStrategy == types.SchedulingStrategyDaemon {
		desired = daemonCount(c, in.DesiredCount) // one task per container instance (capacity.go)
	}
	if spec.LaunchType == "" && len(spec.CapacityProviderStrategy) == 0 {
		spec.LaunchType = types.LaunchTypeEc2
	}
	if spec.SchedulingStrategy == "" {
		spec.SchedulingStrategy = types.SchedulingStrategyReplica
	}
	svc := &service{
		cluster: c, name: in.ServiceName, arn: s.arn(fmt.Sprintf("service/%s/%s", c.name, in.ServiceName)),
		status: "ACTIVE", desired: desired, cfg: cfg, controller: controller, spec: *spec, createdAt: s.now,
	}
	if _, seen := c.services[svc.name]; !seen {
		c.serviceOrder = append(c.serviceOrder, svc.name)
	}
	c.services[svc.name] = svc
	if len(tags) > 0 {
		s.tags[svc.arn] = tags
	} else {
		delete(s.tags, svc.arn)
	}
	return svc
}

func (s *Simulator) serviceLocked(clusterRef, serviceRef string) (*service, *APIError) {
	c, e := s.clusterLocked(clusterRef)
	if e != nil {
		return nil, e
	}
	svc := c.services[lastSegment(serviceRef)]
	if svc == nil {
		return nil, errServiceNotFound()
	}
	return svc, nil
}

// updateService changes an ACTIVE service: every member is checked before any is applied, so a refused call
// changes nothing.
func (s *Simulator) updateService(body []byte) (smithy.Serializable, string, *APIError) {
	in, spec, e := s.decodeServiceRequest(body)
	if e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	svc, e := s.serviceLocked(in.Cluster, in.Service)
	if e != nil {
		return nil, "", e
	}
	if svc.status != "ACTIVE" {
		return nil, "", &APIError{Code: "ServiceNotActiveException", Message: "Service was not ACTIVE."}
	}
	u, e := s.checkServiceUpdateLocked(svc, in, spec)
	if e != nil {
		return nil, "", e
	}
	s.applyServiceUpdateLocked(svc, in, spec, &u)
	s.reconcile(svc)
	return &ecs.UpdateServiceOutput{Service: s.renderService(svc, false)},
		svc.name + " " + strings.Join(u.summary, " "), nil
}

// serviceUpdate is an UpdateService request that passed every check, ready to apply.
type serviceUpdate struct {
	taskDef string // the task definition ARN the service runs after the update
	cfg     types.DeploymentConfiguration
	summary []string // what changes, for the request log
}

// checkServiceUpdateLocked refuses what ECS refuses in an update: a new task definition on a service that ECS
// does not deploy, a missing or INACTIVE task definition, a bad deployment configuration, a negative count.
func (s *Simulator) checkServiceUpdateLocked(svc *service, in *serviceRequest, spec *types.Service) (serviceUpdate, *APIError) {
	u := serviceUpdate{taskDef: svc.taskDef, cfg: svc.cfg}
	if in.TaskDefinition != nil {
		if svc.controller != types.DeploymentControllerTypeEcs {
			return u, invalidParam("Unable to update task definition on services with a %s deployment controller. Use AWS CodeDeploy or the task set API to deploy a new revision.", svc.controller)
		}
		tdArn, e := s.activeTaskDefinitionLocked(*in.TaskDefinition)
		if e != nil {
			return u, e
		}
		u.taskDef = tdArn
		u.summary = append(u.summary, "taskDefinition="+tdArn)
	}
	if _, ok := in.present["deploymentConfiguration"]; ok {
		u.cfg = mergeDeploymentConfiguration(svc.cfg, spec.DeploymentConfiguration, svc.spec.SchedulingStrategy == types.SchedulingStrategyDaemon)
		if e := validateDeploymentConfiguration(u.cfg); e != nil {
			return u, e
		}
		u.summary = append(u.summary, fmt.Sprintf("maximumPercent=%d minimumHealthyPercent=%d", aws.ToInt32(u.cfg.MaximumPercent), aws.ToInt32(u.cfg.MinimumHealthyPercent)))
	}
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return u, invalidParam("desiredCount must be at least 0.")
	}
	return u, nil
}

// applyServiceUpdateLocked applies a checked update and starts a new deployment when the update asks for one
// (a service without any deployment yet gets none); it adds what changed to u.summary.
func (s *Simulator) applyServiceUpdateLocked(svc *service, in *serviceRequest, spec *types.Service, u *serviceUpdate) {
	svc.cfg = u.cfg
	if in.DesiredCount != nil {
		svc.desired = *in.DesiredCount
		u.summary = append(u.summary, fmt.Sprintf("desiredCount=%d", svc.desired))
	}
	redeploy := u.taskDef != svc.taskDef || in.ForceNewDeployment
	// These members start a new deployment whenever they are present, as a new task definition does.
	for _, member := range []string{"networkConfiguration", "capacityProviderStrategy", "platformVersion", "loadBalancers", "serviceRegistries", "placementConstraints", "placementStrategy", "volumeConfigurations"} {
		if _, ok := in.present[member]; ok {
			redeploy = true
		}
	}
	if _, ok := in.present["networkConfiguration"]; ok {
		svc.spec.NetworkConfiguration = spec.NetworkConfiguration
	}
	if _, ok := in.present["capacityProviderStrategy"]; ok {
		svc.spec.CapacityProviderStrategy = spec.CapacityProviderStrategy
		svc.spec.LaunchType = ""
	}
	if _, ok := in.present["platformVersion"]; ok {
		svc.spec.PlatformVersion = spec.PlatformVersion
	}
	if in.ForceNewDeployment {
		u.summary = append(u.summary, "forceNewDeployment")
	}
	if redeploy && len(svc.deployments) > 0 {
		dep := s.newDeployment(svc, u.taskDef, "")
		u.summary = append(u.summary, "deployment="+dep.id)
	}
}

func (s *Simulator) deleteService(body []byte) (smithy.Serializable, string, *APIError) {
	in, _, e := s.decodeServiceRequest(body)
	if e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	svc, e := s.serviceLocked(in.Cluster, in.Service)
	if e != nil {
		return nil, "", e
	}
	if svc.status != "ACTIVE" {
		return nil, "", &APIError{Code: "ServiceNotActiveException", Message: "Service was not ACTIVE."}
	}
	if svc.desired > 0 && !in.Force && svc.spec.SchedulingStrategy != types.SchedulingStrategyDaemon {
		return nil, "", invalidParam("The service cannot be stopped while it is scaled above 0.")
	}
	svc.desired = 0
	svc.status = "DRAINING"
	s.reconcile(svc)
	return &ecs.DeleteServiceOutput{Service: s.renderService(svc, false)}, svc.arn, nil
}

func (s *Simulator) describeServices(body []byte) (smithy.Serializable, string, *APIError) {
	in, _, e := s.decodeServiceRequest(body)
	if e != nil {
		return nil, "", e
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, "", invalidParam("services must contain between 1 and 10 items.")
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	c, e := s.clusterLocked(in.Cluster)
	if e != nil {
		return nil, "", e
	}
	out := &ecs.DescribeServicesOutput{}
	for _, ref := range in.Services {
		svc := c.services[lastSegment(ref)]
		if svc == nil {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn(fmt.Sprintf("service/%s/%s", c.name, ref))
			}
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.Services = append(out.Services, *s.renderService(svc, includes(in.Include, "TAGS")))
	}
	return out, "", nil
}

type listServicesRequest struct {
	Cluster            string `json:"cluster"`
	LaunchType         string `json:"launchType"`
	SchedulingStrategy string `json:"schedulingStrategy"`
	NextToken          string `json:"nextToken"`
	MaxResults         *int   `json:"maxResults"`
}

func (s *Simulator) listServices(body []byte) (smithy.Serializable, string, *APIError) {
	var in listServicesRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	c, e := s.clusterLocked(in.Cluster)
	if e != nil {
		return nil, "", e
	}
	var arns []string
	for _, name := range c.serviceOrder {
		svc := c.services[name]
		if svc.status == "INACTIVE" ||
			(in.LaunchType != "" && string(svc.spec.LaunchType) != in.LaunchType) ||
			(in.SchedulingStrategy != "" && string(svc.spec.SchedulingStrategy) != in.SchedulingStrategy) {
			continue
		}
		arns = append(arns, svc.arn)
	}
	got, next, e := page(arns, in.NextToken, in.MaxResults, 10)
	if e != nil {
		return nil, "", e
	}
	return &ecs.ListServicesOutput{ServiceArns: got, NextToken: next}, "", nil
}

// renderService builds the DescribeServices view; it copies everything so it can be encoded unlocked.
func (s *Simulator) renderService(svc *service, withTags bool) *types.Service {
	out := svc.spec
	cfg := svc.cfg
	out.DeploymentConfiguration = &cfg
	out.DeploymentController = &types.DeploymentController{Type: svc.controller}
	out.ServiceName = aws.String(svc.name)
	out.ServiceArn = aws.String(svc.arn)
	out.ClusterArn = aws.String(svc.cluster.arn)
	out.Status = aws.String(svc.status)
	out.DesiredCount = svc.desired
	out.CreatedAt = timePtr(svc.createdAt)
	out.CreatedBy = aws.String(fmt.Sprintf("arn:aws:iam::%s:root", s.acct))
	if svc.taskDef != "" {
		out.TaskDefinition = aws.String(svc.taskDef)
	}
	out.RunningCount, out.PendingCount = 0, 0
	out.Deployments = nil
	out.Events = append([]types.ServiceEvent{}, svc.events...)
	out.Tags = nil
	if withTags {
		out.Tags = append([]types.Tag{}, s.tags[svc.arn]...)
	}
	counts := map[*deployment][2]int32{}
	for _, t := range svc.tasks() {
		if t.desiredStatus != statusRunning {
			continue
		}
		n := counts[t.dep]
		switch t.lastStatus {
		case statusRunning:
			out.RunningCount++
			n[0]++
		case statusPending, statusProvisioning:
			out.PendingCount++
			n[1]++
		}
		counts[t.dep] = n
	}
	if svc.status == "INACTIVE" {
		return &out
	}
	for _, dep := range svc.deployments {
		n := counts[dep]
		d := types.Deployment{
			Id: aws.String(dep.id), Status: aws.String(dep.status), TaskDefinition: aws.String(dep.taskDef),
			DesiredCount: dep.desired, RunningCount: n[0], PendingCount: n[1], FailedTasks: dep.failed,
			CreatedAt: timePtr(dep.createdAt), UpdatedAt: timePtr(dep.updatedAt), LaunchType: dep.launchType,
			RolloutState: dep.rollout, RolloutStateReason: aws.String(dep.reason),
			CapacityProviderStrategy: svc.spec.CapacityProviderStrategy,
			NetworkConfiguration:     svc.spec.NetworkConfiguration,
			PlatformVersion:          svc.spec.PlatformVersion,
		}
		if dep.status != "PRIMARY" {
			d.DesiredCount = n[0] + n[1] // what the older deployment still keeps while it drains
		}
		out.Deployments = append(out.Deployments, d)
	}
	s.renderHistory(svc, &out)
	return &out
}
