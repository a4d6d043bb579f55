package ecssim

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// containerInstance is an EC2 instance registered to a cluster, with the CPU units and MiB of memory it offers
// to tasks.
type containerInstance struct {
	id, arn     string
	cpu, memory int
}

// InstanceSpec is one kind of container instance to register with AddContainerInstances.
type InstanceSpec struct {
	CPU    int // CPU units (1024 per vCPU); default 2048
	Memory int // MiB; default 4096
}

// AddContainerInstances registers n container instances of spec in cluster (which must exist) and returns their
// ARNs. From then on, EC2 tasks of that cluster are placed on instances with room for them, and DAEMON services run
// one task per instance. A cluster without instances keeps the simulator's unbounded EC2 capacity.
func (s *Simulator) AddContainerInstances(clusterName string, n int, spec InstanceSpec) ([]string, error) {
	if n < 1 {
		return nil, fmt.Errorf("ecssim: add %d container instances: want at least 1", n)
	}
	if spec.CPU <= 0 {
		spec.CPU = 2048
	}
	if spec.Memory <= 0 {
		spec.Memory = 4096
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	c, e := s.clusterLocked(clusterName)
	if e != nil {
		return nil, fmt.Errorf("ecssim: add container instances: %w", e)
	}
	var arns []string
	for range n {
		id := s.newTaskID()
		ci := &containerInstance{id: id, arn: s.arn(fmt.Sprintf("container-instance/%s/%s", c.name, id)), cpu: spec.CPU, memory: spec.Memory}
		c.instances = append(c.instances, ci)
		arns = append(arns, ci.arn)
	}
	// A DAEMON service follows the instance count (one task per instance).
	for _, name := range c.serviceOrder {
		if svc := c.services[name]; svc.status == "ACTIVE" && svc.spec.SchedulingStrategy == types.SchedulingStrategyDaemon {
			svc.desired = int32(len(c.instances))
			s.reconcile(svc)
		}
	}
	return arns, nil
}

// taskNeeds is the CPU units and memory a task of td reserves: the task-level values, else the sum of its
// containers' (EC2 task definitions may leave the task level empty).
func taskNeeds(td *types.TaskDefinition) (cpu, memory int) {
	cpu, _ = strconv.Atoi(aws.ToString(td.Cpu))
	memory, _ = strconv.Atoi(aws.ToString(td.Memory))
	if cpu == 0 || memory == 0 {
		var c, m int
		for _, cd := range td.ContainerDefinitions {
			c += int(cd.Cpu)
			m += int(aws.ToInt32(cd.Memory))
		}
		if cpu == 0 {
			cpu = c
		}
		if memory == 0 {
			memory = m
		}
	}
	return cpu, memory
}

// placed reports whether a task holds resources on its instance: ECS releases them once the task is STOPPED.
func (ci *containerInstance) free(c *cluster) (cpu, memory int) {
	cpu, memory = ci.cpu, ci.memory
	for _, t := range c.taskOrder {
		if t.instance == ci && t.live() {
			tc, tm := taskNeeds(t.td)
			cpu -= tc
			memory -= tm
		}
	}
	return cpu, memory
}

// usesInstances reports whether tasks of dep are placed on container instances: the EC2 launch type in a cluster
// with registered instances.
func usesInstances(svc *service, dep *deployment) bool {
	return dep.launchType == types.LaunchTypeEc2 && len(svc.cluster.instances) > 0
}

// place picks the container instance for a new task of dep, or reports why none fits. A DAEMON task goes to an
// instance without a live task of its service (one per instance, the old one must have STOPPED first); a REPLICA
// task to the first instance with enough free CPU and memory, as the default placement would find one.
func (s *Simulator) place(svc *service, dep *deployment, td *types.TaskDefinition) (*containerInstance, string) {
	c := svc.cluster
	needCPU, needMem := taskNeeds(td)
	daemon := svc.spec.SchedulingStrategy == types.SchedulingStrategyDaemon
	var closest *containerInstance
	closestCPU, closestMem := 0, 0
	for _, ci := range c.instances {
		if daemon && instanceHasLiveTask(c, ci, svc) {
			continue
		}
		cpu, mem := ci.free(c)
		if cpu >= needCPU && mem >= needMem {
			return ci, ""
		}
		if closest == nil || cpu+mem > closestCPU+closestMem {
			closest, closestCPU, closestMem = ci, cpu, mem
		}
	}
	if closest == nil {
		return nil, "" // a daemon waiting for its old task to stop: nothing to report
	}
	short := "CPU units"
	if closestCPU >= needCPU {
		short = "memory"
	}
	// Wording of the service event list, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html
	// ("service (service-name) was unable to place a task because no container instance met all of its
	// requirements. The closest matching (container-instance container-instance-id) has insufficient CPU units
	// available.").
	return nil, fmt.Sprintf("was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance %s) has insufficient %s available. For more information, see the Troubleshooting section.", closest.id, short)
}

func instanceHasLiveTask(c *cluster, ci *containerInstance, svc *service) bool {
	for _, t := range c.taskOrder {
		if t.instance == ci && t.svc == svc && t.live() {
			return true
		}
	}
	return false
}

// placeOrReport places a task of dep; when nothing fits it reports ECS's service event once per deployment (until
// a placement succeeds again) and returns false. The scheduler tries again on its next pass: a task that stops
// frees room and triggers one.
func (s *Simulator) placeOrReport(svc *service, dep *deployment, td *types.TaskDefinition) (*containerInstance, bool) {
	if !usesInstances(svc, dep) {
		return nil, true
	}
	ci, why := s.place(svc, dep, td)
	if ci != nil {
		dep.placementBlocked = false
		return ci, true
	}
	if why != "" && !dep.placementBlocked {
		dep.placementBlocked = true
		s.addEvent(svc, "%s", why)
	}
	return nil, false
}

// daemonCount is how many tasks a DAEMON service runs in c: one per registered instance, or what was asked when
// the cluster has none (the simulator's stand-in for an instance count).
func daemonCount(c *cluster, asked *int32) int32 {
	if len(c.instances) > 0 {
		return int32(len(c.instances))
	}
	if asked != nil {
		return *asked
	}
	return 1
}
