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

// concurrentRevisionLimit recognises ECS's throttling of RegisterTaskDefinition, which it reports as a
// ClientException rather than a ThrottlingException. The call was refused, so retrying it cannot register twice.
func concurrentRevisionLimit(err error) aws.Ternary {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ClientException" &&
		strings.Contains(apiErr.ErrorMessage(), "Too many concurrent attempts") {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}
