package awsclient

import (
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

// Client purposes for ECSOptions.
const (
	PurposeMain    = "main"
	PurposeRestore = "restore"
)

// retryTuning is how hard a client retries. The restore client retries longer because giving up leaves a
// service on the broken image.
type retryTuning struct {
	maxAttempts int
	maxBackoff  time.Duration
}

func tuningFor(purpose string) retryTuning {
	if purpose == PurposeRestore {
		return retryTuning{maxAttempts: 12, maxBackoff: 20 * time.Second}
	}
	return retryTuning{maxAttempts: 6, maxBackoff: 10 * time.Second}
}

// ECSOptions configures an ECS client for a purpose, PurposeMain or PurposeRestore (anything else is treated as
// main). Every application creates a new standard-mode retryer with its own retry token bucket, so throttling
// that drains the main client's budget during the hold cannot make the restore client give up.
func ECSOptions(purpose string) func(*ecs.Options) {
	tuning := tuningFor(purpose)
	return func(o *ecs.Options) {
		o.Retryer = newRetryer(tuning)
	}
}

func newRetryer(t retryTuning) aws.Retryer {
	return retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = t.maxAttempts
		so.MaxBackoff = t.maxBackoff
		so.Retryables = append(so.Retryables, retry.IsErrorRetryableFunc(concurrentRevisionLimit))
		so.Throttles = append(so.Throttles, retry.IsErrorThrottleFunc(concurrentRevisionLimit))
	})
}

// concurrentRevisionLimit makes the standard retryer retry ECS's refusal of overlapping registrations in one family
// (see IsConcurrentRevisionLimit) like throttling. The fault's own RegisterTaskDefinition runs without SDK retries
// and retries it itself (chaoslib/ecsimage inject.go); this covers any other registration through these clients.
func concurrentRevisionLimit(err error) aws.Ternary {
	if IsConcurrentRevisionLimit(err) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// IsConcurrentRevisionLimit recognises ECS's refusal of a registration that overlaps another in the same family: a
// ClientException "Too many concurrent attempts to create a new revision of the specified family." (ECS documents
// neither; users quote it word for word, e.g. hashicorp/terraform-provider-aws#9777). The call was refused, so
// retrying it cannot register twice.
func IsConcurrentRevisionLimit(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ClientException" &&
		strings.Contains(apiErr.ErrorMessage(), "Too many concurrent attempts to create a new revision")
}
