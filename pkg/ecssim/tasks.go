package ecssim

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

type taskRequest struct {
	Cluster       string   `json:"cluster"`
	ServiceName   string   `json:"serviceName"`
	Family        string   `json:"family"`
	StartedBy     string   `json:"startedBy"`
	DesiredStatus string   `json:"desiredStatus"`
	LaunchType    string   `json:"launchType"`
	NextToken     string   `json:"nextToken"`
	MaxResults    *int     `json:"maxResults"`
	Tasks         []string `json:"tasks"`
	Task          string   `json:"task"`
	Reason        string   `json:"reason"`
	Include       []string `json:"include"`
}

func (s *Simulator) listTasks(body []byte) (smithy.Serializable, string, *APIError) {
	var in taskRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if in.DesiredStatus == "" {
		in.DesiredStatus = statusRunning
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	c, e := s.clusterLocked(in.Cluster)
	if e != nil {
		return nil, "", e
	}
	var svc *service
	if in.ServiceName != "" {
		if svc = c.services[lastSegment(in.ServiceName)]; svc == nil {
			return nil, "", errServiceNotFound()
		}
	}
	var arns []string
	for _, t := range c.taskOrder {
		switch {
		case svc != nil && t.svc != svc,
			t.desiredStatus != in.DesiredStatus,
			in.Family != "" && aws.ToString(t.td.Family) != in.Family,
			in.StartedBy != "" && t.startedBy != in.StartedBy,
			in.LaunchType != "" && string(t.launchType) != in.LaunchType:
			continue
		}
		arns = append(arns, t.arn)
	}
	got, next, e := page(arns, in.NextToken, in.MaxResults, 100)
	if e != nil {
		return nil, "", e
	}
	return &ecs.ListTasksOutput{TaskArns: got, NextToken: next}, "", nil
}

func (s *Simulator) describeTasks(body []byte) (smithy.Serializable, string, *APIError) {
	var in taskRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, "", invalidParam("tasks must contain between 1 and 100 items.")
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	c, e := s.clusterLocked(in.Cluster)
	if e != nil {
		return nil, "", e
	}
	out := &ecs.DescribeTasksOutput{}
	for _, ref := range in.Tasks {
		t := c.tasks[lastSegment(ref)]
		if t == nil {
			arn := ref
			if lastSegment(ref) == ref {
				arn = s.arn(fmt.Sprintf("task/%s/%s", c.name, ref))
			}
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.Tasks = append(out.Tasks, s.renderTask(t, includes(in.Include, "TAGS")))
	}
	return out, "", nil
}

func (s *Simulator) stopTask(body []byte) (smithy.Serializable, string, *APIError) {
	var in taskRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, "", e
	}
	s.lockAndAdvance()
	defer s.mu.Unlock()
	c, e := s.clusterLocked(in.Cluster)
	if e != nil {
		return nil, "", e
	}
	t := c.tasks[lastSegment(in.Task)]
	if t == nil {
		return nil, "", invalidParam("The referenced task was not found.")
	}
	reason := in.Reason
	if reason == "" {
		reason = "Task stopped by user"
	}
	s.stopTaskLocked(t, types.TaskStopCodeUserInitiated, reason)
	if t.svc != nil {
		s.reconcile(t.svc) // the service scheduler replaces the task at once, within maximumPercent
	}
	view := s.renderTask(t, false)
	return &ecs.StopTaskOutput{Task: &view}, t.arn, nil
}

// renderTask copies a task into the SDK's type so it can be encoded after the lock is released.
func (s *Simulator) renderTask(t *task, withTags bool) types.Task {
	out := types.Task{
		TaskArn: aws.String(t.arn), ClusterArn: aws.String(t.cluster.arn),
		TaskDefinitionArn: t.td.TaskDefinitionArn, LastStatus: aws.String(t.lastStatus),
		DesiredStatus: aws.String(t.desiredStatus), Group: aws.String(t.group), LaunchType: t.launchType,
		Version: t.version, CreatedAt: t.createdAt, PullStartedAt: t.pullStartedAt, PullStoppedAt: t.pullStoppedAt,
		StartedAt: t.startedAt, StoppingAt: t.stoppingAt, StoppedAt: t.stoppedAt,
		ExecutionStoppedAt: t.executionStoppedAt, StopCode: t.stopCode, Cpu: t.td.Cpu, Memory: t.td.Memory,
		Containers:       append([]types.Container{}, t.containers...),
		AvailabilityZone: aws.String(s.region + "a"),
	}
	if t.instance != nil {
		out.ContainerInstanceArn = aws.String(t.instance.arn)
	}
	if t.startedBy != "" {
		out.StartedBy = aws.String(t.startedBy)
	}
	if t.stoppedReason != "" {
		out.StoppedReason = aws.String(t.stoppedReason)
	}
	if t.lastStatus == statusRunning {
		out.Connectivity = types.ConnectivityConnected
		out.ConnectivityAt = t.startedAt
	}
	if withTags {
		out.Tags = append([]types.Tag{}, s.tags[t.arn]...)
	}
	return out
}
