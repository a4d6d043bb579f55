package ecsimage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// errNoLister is what a paced client answers when the wrapped client cannot list task definitions, so that
// recover treats it like a missing permission.
var errNoLister = errors.New("this ECS client cannot list task definitions")

// explainAPIError words an ECS error for the log and the result. An access denial names the IAM action the step
// needs, also when the 403 body could not be decoded (some endpoints answer in XML).
func explainAPIError(err error, action string) string {
	if isAccessDenied(err) {
		return fmt.Sprintf("access denied: the credentials need %s (see the IAM policy in the README): %v", action, err)
	}
	return err.Error()
}

func isAccessDenied(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if strings.Contains(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "UnrecognizedClientException" {
			return true
		}
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == 403
}

// isDefinitive reports whether an error from a mutating call proves the call did not take effect: a client
// error other than throttling. Anything else (timeouts, dropped connections, 5xx, throttling) is ambiguous.
func isDefinitive(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return false
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	if strings.Contains(apiErr.ErrorCode(), "Throttl") || apiErr.ErrorCode() == "RequestLimitExceeded" {
		return false
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return false
	}
	return apiErr.ErrorFault() == smithy.FaultClient || apiErr.ErrorFault() == smithy.FaultUnknown && !strings.Contains(apiErr.ErrorCode(), "Server")
}

// checkTargets makes sure every TARGET_CONTAINERS name is a container of the task definition, so that a typo is
// a preflight refusal instead of a half-applied fault.
func checkTargets(td *types.TaskDefinition, targets []string) error {
	var known []string
	for _, c := range td.ContainerDefinitions {
		known = append(known, aws.ToString(c.Name))
	}
	var unknown []string
	for _, want := range targets {
		if !slices.Contains(known, want) {
			unknown = append(unknown, want)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("TARGET_CONTAINERS names %s, which task definition %s does not have; its containers are %s",
			strings.Join(unknown, ", "), aws.ToString(td.TaskDefinitionArn), strings.Join(known, ", "))
	}
	return nil
}
