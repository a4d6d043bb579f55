package ecssim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// codec turns wire JSON into the SDK's own types and back, using the SDK's schema-driven awsJson 1.1
// protocol, so the simulator cannot drift from the wire names, timestamp encoding or enum spellings the
// real client uses. The protocol only exposes client-side entry points (serialize a request, deserialize
// a response); the simulator runs them in the other direction, which works because every nested ECS
// type and every operation output knows how to both serialize and deserialize itself.
type codec struct {
	proto *awsjson.Protocol
	op    *smithy.OperationSchema // any non-streaming operation: only its non-nil input and output matter
}

func newCodec() *codec {
	return &codec{
		proto: awsjson.New11(schemas.AmazonEC2ContainerServiceV20141113),
		op:    smithy.NewOperationSchema(schemas.DescribeClusters, schemas.DescribeClustersRequest, schemas.DescribeClustersResponse),
	}
}

// decode reads raw JSON into v, an SDK type with a Deserialize method. Members v's shape does not know
// are skipped, so a request body can be decoded into the SDK type that shares its member names.
func (c *codec) decode(raw []byte, v smithy.Deserializable) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	resp := &smithyhttp.Response{Response: &http.Response{
		StatusCode: http.StatusOK,
		Body:       io.NopCloser(bytes.NewReader(raw)),
		Header:     http.Header{},
	}}
	if err := c.proto.DeserializeResponse(context.Background(), c.op, nil, resp, v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

// encode writes v, an SDK operation output, as the JSON body ECS would send.
func (c *codec) encode(v smithy.Serializable) ([]byte, error) {
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	if err := c.proto.SerializeRequest(context.Background(), c.op, v, req); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	stream := req.GetStream()
	if stream == nil {
		return []byte("{}"), nil
	}
	body, err := io.ReadAll(stream)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return body, nil
}
