package ecssim

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// VersionConsistencyImage is the mutable tag the version-consistency shape runs, and the digests it names
// before and after MoveTag.
const (
	VersionConsistencyImage  = "registry.example/shop/web:latest"
	VersionConsistencyBefore = "sha256:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
	VersionConsistencyAfter  = "sha256:b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7"
)

// SeedVersionConsistency creates the `version-consistency` demo shape: a rolling service of desired tasks on a
// mutable tag that resolves to VersionConsistencyBefore. The returned function moves the tag to
// VersionConsistencyAfter, as a pipeline pushing during the hold does: a restore by StopServiceDeployment keeps
// the digest the service ran, one by UpdateService resolves the tag again.
func (s *Simulator) SeedVersionConsistency(ctx context.Context, c *ecs.Client, cluster, service string, desired int32) (moveTag func() error, err error) {
	s.AddImage(VersionConsistencyImage, VersionConsistencyBefore)
	if _, err := s.SeedService(ctx, c, SeedSpec{Cluster: cluster, Service: service, Family: service, DesiredCount: desired, Image: VersionConsistencyImage,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}}); err != nil {
		return nil, fmt.Errorf("version-consistency shape: %w", err)
	}
	return func() error { return s.MoveTag(VersionConsistencyImage, VersionConsistencyAfter) }, nil
}

// SeedRollingBreaker creates the `rolling-breaker` demo shape: a rolling service with the deployment circuit
// breaker and its rollback on, so ECS rolls the chaos deployment back (and records it in the service deployment).
func (s *Simulator) SeedRollingBreaker(ctx context.Context, c *ecs.Client, cluster, service string, desired int32) error {
	_, err := s.SeedService(ctx, c, SeedSpec{Cluster: cluster, Service: service, Family: service, DesiredCount: desired,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}}})
	if err != nil {
		return fmt.Errorf("rolling-breaker shape: %w", err)
	}
	return nil
}
