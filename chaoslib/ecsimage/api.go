package ecsimage

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// ECS is the set of ECS calls the fault makes; the SDK's *ecs.Client satisfies it. The spec's IAM policy grants
// exactly these actions.
type ECS interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// TaskDefinitionLister is the optional permission ecs:ListTaskDefinitions. Recover uses it, when the client
// provides it and the principal is allowed, to find chaos revisions no service points at any more.
type TaskDefinitionLister interface {
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
}

// Clients are the two ECS clients of a run. Restore has its own client (and so its own retry budget), so that
// throttling during the hold can never starve the calls that put services back.
type Clients struct {
	Chaos   ECS
	Restore ECS
}
