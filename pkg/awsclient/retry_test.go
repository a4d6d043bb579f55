package awsclient

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

func applied(purpose string) ecs.Options {
	var o ecs.Options
	ECSOptions(purpose)(&o)
	return o
}

func TestECSOptionsTuning(t *testing.T) {
	for _, tc := range []struct {
		purpose     string
		maxAttempts int
	}{
		{PurposeMain, 6},
		{PurposeRestore, 12},
		{"anything else", 6},
	} {
		if got := applied(tc.purpose).Retryer.MaxAttempts(); got != tc.maxAttempts {
			t.Errorf("%s: max attempts %d, want %d", tc.purpose, got, tc.maxAttempts)
		}
	}
}

// TestRestoreRetryBudgetSurvivesMainThrottling drains the main client's retry tokens the way a throttled hold
// would, and checks that the restore client can still retry.
func TestRestoreRetryBudgetSurvivesMainThrottling(t *testing.T) {
	ctx := context.Background()
	main, restore, otherMain := applied(PurposeMain).Retryer, applied(PurposeRestore).Retryer, applied(PurposeMain).Retryer
	if main == restore || main == otherMain {
		t.Fatal("ECSOptions must create a new retryer for every client")
	}
	transient := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	if !main.IsErrorRetryable(transient) {
		t.Fatal("ECS throttling should be retryable")
	}
	drained := false
	for range 1000 {
		if _, err := main.GetRetryToken(ctx, transient); err != nil {
			drained = true
			break
		}
	}
	if !drained {
		t.Fatal("the main retryer's token budget never ran out")
	}
	if _, err := restore.GetRetryToken(ctx, transient); err != nil {
		t.Fatalf("restore retryer shares the drained budget: %v", err)
	}
	if _, err := otherMain.GetRetryToken(ctx, transient); err != nil {
		t.Fatalf("a second main client shares the drained budget: %v", err)
	}
}

func TestECSConcurrentRevisionThrottleIsRetried(t *testing.T) {
	retryer := applied(PurposeMain).Retryer
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&smithy.GenericAPIError{Code: "ClientException", Message: "Too many concurrent attempts to create a new revision of the specified family."}, true},
		{&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, true},
		{&smithy.GenericAPIError{Code: "ClientException", Message: "Container.image should not be null or empty."}, false},
		{errors.New("plain"), false},
	} {
		if got := retryer.IsErrorRetryable(tc.err); got != tc.want {
			t.Errorf("IsErrorRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if concurrentRevisionLimit(errors.New("x")) != aws.UnknownTernary {
		t.Error("unrelated errors must be left to the other rules")
	}
}
