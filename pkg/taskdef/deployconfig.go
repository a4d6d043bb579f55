package taskdef

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// MarshalDeploymentConfiguration writes a deployment configuration in ECS's own wire form (the awsJson 1.1 body
// members: maximumPercent, lifecycleHooks[].hookDetails...), through the SDK's schema-driven serializer. Unlike
// encoding/json, it keeps what the SDK types hold as documents: DeploymentLifecycleHook.HookDetails is a
// document.Interface, which encoding/json writes as {} and cannot read back at all. The output is also what the
// aws CLI accepts as --deployment-configuration. A nil configuration is "{}".
func MarshalDeploymentConfiguration(dc *types.DeploymentConfiguration) ([]byte, error) {
	if dc == nil {
		return []byte("{}"), nil
	}
	body, err := wireCodec().encode(dc)
	if err != nil {
		return nil, fmt.Errorf("marshal deployment configuration: %w", err)
	}
	return body, nil
}

// UnmarshalDeploymentConfiguration reads what MarshalDeploymentConfiguration wrote (or a configuration as the API or
// the aws CLI spells it), hook details included. Members the SDK does not know are ignored, as the SDK does.
func UnmarshalDeploymentConfiguration(data []byte) (*types.DeploymentConfiguration, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("unmarshal deployment configuration: want a JSON object")
	}
	var dc types.DeploymentConfiguration
	if err := wireCodec().decode(trimmed, &dc); err != nil {
		return nil, fmt.Errorf("unmarshal deployment configuration: %w", err)
	}
	return &dc, nil
}

// CloneDeploymentConfiguration deep-copies a deployment configuration through its wire form, so that every member
// a newer SDK adds is copied too, documents included. It fails only on a configuration the SDK itself could not
// send.
func CloneDeploymentConfiguration(dc *types.DeploymentConfiguration) (*types.DeploymentConfiguration, error) {
	if dc == nil {
		return nil, nil
	}
	body, err := MarshalDeploymentConfiguration(dc)
	if err != nil {
		return nil, err
	}
	return UnmarshalDeploymentConfiguration(body)
}

// codec drives the SDK's awsJson 1.1 protocol outside a request: the protocol only offers client-side entry points
// (serialize a request body, deserialize a response body), which are the two halves of a lossless round trip for
// any SDK type that knows its schema.
type codec struct {
	proto *awsjson.Protocol
	op    *smithy.OperationSchema
}

// wireCodec builds a codec per call: it is cheap, and the package keeps no mutable state.
func wireCodec() codec {
	return codec{
		proto: awsjson.New11(schemas.AmazonEC2ContainerServiceV20141113),
		// Any non-streaming operation with an input and an output will do: only their presence matters.
		op: smithy.NewOperationSchema(schemas.DescribeClusters, schemas.DescribeClustersRequest, schemas.DescribeClustersResponse),
	}
}

func (c codec) encode(v smithy.Serializable) ([]byte, error) {
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	if err := c.proto.SerializeRequest(context.Background(), c.op, v, req); err != nil {
		return nil, err
	}
	stream := req.GetStream()
	if stream == nil {
		return []byte("{}"), nil
	}
	return io.ReadAll(stream)
}

func (c codec) decode(raw []byte, v smithy.Deserializable) error {
	resp := &smithyhttp.Response{Response: &http.Response{
		StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(raw)), Header: http.Header{},
	}}
	return c.proto.DeserializeResponse(context.Background(), c.op, nil, resp, v)
}
