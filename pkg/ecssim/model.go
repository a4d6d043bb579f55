package ecssim

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

type cluster struct {
	name, arn    string
	createdAt    time.Time
	services     map[string]*service
	serviceOrder []string // creation order, for stable listings
	tasks        map[string]*task
	taskOrder    []*task              // creation order; purged tasks are removed
	instances    []*containerInstance // EC2 capacity; none means unbounded capacity (see capacity.go)
}

type service struct {
	cluster    *cluster
	name, arn  string
	status     string // ACTIVE, DRAINING, INACTIVE
	desired    int32
	taskDef    string // revision ARN of the PRIMARY deployment
	cfg        types.DeploymentConfiguration
	controller types.DeploymentControllerType
	spec       types.Service // members echoed as the caller gave them (network, capacity, placement...)
	createdAt  time.Time

	deployments   []*deployment // PRIMARY first
	lastCompleted *deployment   // the newest deployment that reached COMPLETED, the circuit breaker's target
	events        []types.ServiceEvent
	steady        bool
	wakeAt        time.Time // a reconcile already scheduled for a launch back-off

	// Service deployments and revisions (history.go): every one the service had, oldest first, and the
	// current service deployment.
	revisions  []*serviceRevision
	history    []*serviceDeployment
	currentSvd *serviceDeployment
}

type deployment struct {
	id, taskDef string
	status      string // PRIMARY, ACTIVE, INACTIVE
	desired     int32
	failed      int32
	// breakerFailures is the circuit breaker's count: failed tasks since the last healthy one.
	breakerFailures int32
	rollout         types.DeploymentRolloutState
	reason          string
	createdAt       time.Time
	updatedAt       time.Time
	launchType      types.LaunchType

	consecutiveFailures int
	nextLaunch          time.Time // no launch before this while backing off

	// rev is the service revision the deployment runs (its images and, once resolved, their digests); svd
	// the service deployment it belongs to (a rollback belongs to the deployment it rolls back).
	rev *serviceRevision
	svd *serviceDeployment
	// resolveFailures counts tasks that failed to establish the image digests; unresolved is set once
	// the deployment went on without resolution (registry.go). ranTask: a task of it reached RUNNING.
	resolveFailures int
	unresolved      bool
	ranTask         bool
	// The strategy and configuration the deployment started with; staged is the lifecycle of a BLUE_GREEN,
	// LINEAR or CANARY deployment (strategies.go), nil for ROLLING.
	strategy types.DeploymentStrategy
	cfg      types.DeploymentConfiguration
	staged   *stagedDeployment
	// placementBlocked is set once "unable to place a task" was reported, so the event is not repeated per pass.
	placementBlocked bool
}

type task struct {
	id, arn       string
	cluster       *cluster
	svc           *service
	dep           *deployment
	td            *types.TaskDefinition
	group         string
	startedBy     string
	launchType    types.LaunchType
	lastStatus    string // PROVISIONING, PENDING, RUNNING, STOPPING, STOPPED
	desiredStatus string // RUNNING, STOPPED
	stopCode      types.TaskStopCode
	stoppedReason string
	containers    []types.Container
	// pulled and pullFailures are what the pull decided at PENDING (registry.go): each container's digest, or
	// why it cannot be pulled.
	pulled       []string
	pullFailures []string
	instance     *containerInstance // EC2 placement, nil on Fargate or without registered instances
	// graceOver is set once the health check grace after RUNNING has passed (Timing.HealthCheckGrace).
	graceOver bool
	version   int64
	gen       int // bumped on every transition so that stale scheduled events do nothing

	createdAt, pullStartedAt, pullStoppedAt, startedAt *time.Time
	stoppingAt, stoppedAt, executionStoppedAt          *time.Time
}

const (
	statusProvisioning = "PROVISIONING"
	statusPending      = "PENDING"
	statusRunning      = "RUNNING"
	statusStopping     = "STOPPING"
	statusStopped      = "STOPPED"
)

// live is a task that has not reached STOPPED yet.
func (t *task) live() bool { return t.lastStatus != statusStopped }

// active is a task the scheduler wants running.
func (t *task) active() bool { return t.desiredStatus == statusRunning && t.live() }

// healthy is what minimumHealthyPercent protects: running, past its health check grace, and not being stopped.
func (t *task) healthy() bool {
	return t.desiredStatus == statusRunning && t.lastStatus == statusRunning && t.graceOver
}

func timePtr(t time.Time) *time.Time { return &t }
