package ecsimage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// registerAttempts bounds the fault's own retries of RegisterTaskDefinition after an ambiguous failure (the SDK's
// retries are off for that call).
const registerAttempts = 4

// concurrentRevisionPatience bounds, on the run's clock, how long the fault keeps retrying ECS's refusal "Too many
// concurrent attempts to create a new revision of the specified family": the family is locked only while another
// registration is in flight, so minutes of refusals mean something else is wrong.
const concurrentRevisionPatience = 2 * time.Minute

// ownRevisionLookback bounds how many of the family's newest revisions the marker lookup reads: other services of
// the run, or a pipeline, may have registered in the same family after the lost reply.
const ownRevisionLookback = 10

// noSDKRetry turns the SDK's retries off for one call. RegisterTaskDefinition is not idempotent: a retry after a
// lost reply registers a second revision, so the fault retries it itself, looking for its marker first.
func noSDKRetry(o *ecs.Options) { o.RetryMaxAttempts = 1 }

// inject registers the chaos revision and points the service at it with the whole chaos deployment configuration.
func (r *runState) inject(ctx context.Context, t *target) error {
	log := r.log.WithField("service", t.name)
	marker := taskdef.Marker{
		RunID:                     r.opts.RunID,
		OriginalTaskDefinitionARN: t.originalARN(),
		OriginalRevision:          t.original.Revision,
		DeploymentConfiguration:   encodeDeploymentConfiguration(t.originalDC),
		ChaosImage:                r.opts.Image.Reference,
		JobUID:                    r.opts.JobUID,
		// The service the revision is for: services of one run may share a family, and the marker lookup after a
		// lost reply must find this service's revision, not a sibling's.
		Services: []string{t.serviceID()},
	}
	input, tagWarnings, err := taskdef.Chaos(t.original, t.originalTags, r.opts.Image, r.opts.TargetContainers, marker)
	if err != nil {
		return fmt.Errorf("build the chaos revision of %s: %w", t.originalARN(), err)
	}
	for _, w := range tagWarnings {
		log.Warn(t.report.warn("%s", w))
	}
	if err := ctx.Err(); err != nil {
		return err // stopped: no step injects after an abort
	}
	t.report.Changed = true // from here on a chaos revision may exist
	arn, err := r.register(ctx, t, input)
	if err != nil {
		return fmt.Errorf("register the chaos revision of %s: %w", aws.ToString(t.original.Family), err)
	}
	t.chaosARN = arn
	t.report.ChaosTaskDefinitions = append(t.report.ChaosTaskDefinitions, arn)
	log.WithField("revision", arn).Info("registered the chaos revision")
	if err := ctx.Err(); err != nil {
		return err
	}
	t.holdUntil = r.opts.Clock.Now().Add(t.holdFor) // the hold counts from the request, not from its reply
	_, err = r.clients.Chaos.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:                 aws.String(r.opts.Cluster),
		Service:                 aws.String(t.serviceID()),
		TaskDefinition:          aws.String(arn),
		DeploymentConfiguration: cloneDeploymentConfiguration(t.chaosDC),
	})
	if err != nil {
		return fmt.Errorf("point service %s at the chaos revision: %s", t.name, explainAPIError(err, "ecs:UpdateService"))
	}
	t.report.State = StateInjected
	t.report.Observations.injectedAt = r.opts.Clock.Now()
	log.WithFields(map[string]any{
		"revision":       arn,
		"maximumPercent": aws.ToInt32(t.chaosDC.MaximumPercent),
	}).Info("service points at the chaos revision")
	r.callHook(func() {
		if r.opts.Hooks.Injected != nil {
			r.opts.Hooks.Injected(t.name, arn)
		}
	})
	return nil
}

// register registers the chaos revision exactly once. After an ambiguous failure it looks at the family's newest
// ACTIVE revisions for this run's and this service's marker before trying again; ECS's refusal of overlapping
// registrations in one family is retried with backoff (it registered nothing); when ECS refuses the tags for lack
// of ecs:TagResource it registers without them and warns.
func (r *runState) register(ctx context.Context, t *target, input *ecs.RegisterTaskDefinitionInput) (string, error) {
	log := r.log.WithField("service", t.name)
	var refusedSince time.Time
	for attempt, ambiguous := 1, 0; ; attempt++ {
		out, err := r.clients.Chaos.RegisterTaskDefinition(ctx, input, noSDKRetry)
		if err == nil && out.TaskDefinition != nil {
			return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
		}
		if err == nil {
			err = fmt.Errorf("RegisterTaskDefinition returned no task definition")
		}
		switch {
		case taskdef.IsTagPermissionError(err) && len(input.Tags) > 0:
			log.Warn(t.report.warn("ECS refused the task definition's tags (tagging on RegisterTaskDefinition needs ecs:TagResource, which the spec's policy lacks): registered the chaos revision without tags; the Docker-label marker still identifies it"))
			input = taskdef.WithoutTags(input)
			continue // the refusal was definitive and changed nothing
		case awsclient.IsConcurrentRevisionLimit(err):
			now := r.opts.Clock.Now()
			if refusedSince.IsZero() {
				refusedSince = now
			}
			if now.Sub(refusedSince) >= concurrentRevisionPatience {
				return "", fmt.Errorf("ECS kept refusing registrations in family %s for %s because others were in flight (a pipeline or another tool registering in a loop?): %w",
					aws.ToString(t.original.Family), concurrentRevisionPatience, err)
			}
			log.Debugf("another registration in family %s is in flight; retrying (attempt %d)", aws.ToString(t.original.Family), attempt)
		case isDefinitive(err):
			return "", fmt.Errorf("%s", explainAPIError(err, "ecs:RegisterTaskDefinition (and iam:PassRole for the task's roles)"))
		default:
			// Ambiguous: the revision may exist although the reply was lost.
			if arn, found := r.findOwnRevision(context.WithoutCancel(ctx), r.clients.Chaos, t); found {
				log.WithField("revision", arn).Warnf("RegisterTaskDefinition failed (%v) but the revision was registered; using it", err)
				return arn, nil
			}
			if ctx.Err() != nil {
				return "", err
			}
			ambiguous++
			if ambiguous >= registerAttempts {
				return "", err
			}
			log.Warnf("RegisterTaskDefinition attempt %d of %d failed: %v", ambiguous, registerAttempts, err)
		}
		if !clock.Sleep(r.opts.Clock, r.opts.RetryBackoff(attempt), ctx.Done()) {
			return "", ctx.Err()
		}
	}
}

// findOwnRevision looks at the family's newest revisions for the marker of this run and this service, skipping
// revisions the run already knows (an earlier cycle's). It reads with DescribeTaskDefinition, which the spec's
// policy grants: the newest ACTIVE revision by family, then older ones by number, down to the original.
func (r *runState) findOwnRevision(ctx context.Context, c ECS, t *target) (string, bool) {
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: t.original.Family})
	if err != nil || out.TaskDefinition == nil {
		return "", false
	}
	family := aws.ToString(t.original.Family)
	td := out.TaskDefinition
	for read := 1; ; read++ {
		if r.isOwnRevision(td, t) {
			return aws.ToString(td.TaskDefinitionArn), true
		}
		older := td.Revision - 1
		if read >= ownRevisionLookback || older <= t.original.Revision {
			return "", false
		}
		out, err = c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(fmt.Sprintf("%s:%d", family, older))})
		if err != nil || out.TaskDefinition == nil {
			return "", false
		}
		td = out.TaskDefinition
	}
}

// isOwnRevision reports whether td is an ACTIVE chaos revision this run registered for t and has not used yet.
// A marker without services (an older binary's) matches on the run id alone.
func (r *runState) isOwnRevision(td *types.TaskDefinition, t *target) bool {
	arn := aws.ToString(td.TaskDefinitionArn)
	if arn == t.originalARN() || slices.Contains(t.report.ChaosTaskDefinitions, arn) || td.Status != types.TaskDefinitionStatusActive {
		return false
	}
	m, ok, err := taskdef.ReadMarker(td)
	if err != nil || !ok || m.RunID != r.opts.RunID {
		return false
	}
	return len(m.Services) == 0 || slices.Contains(m.Services, t.serviceID())
}
