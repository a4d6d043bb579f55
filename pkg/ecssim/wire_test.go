package ecssim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The wire form itself, without the SDK: what a hand-written client or another SDK would see.
func TestWireFormat(t *testing.T) {
	_, _, url := StartServer(t, Options{Clock: newManualClock()})
	post := func(target, body string) (int, http.Header, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var decoded map[string]any
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatalf("body %q is not JSON: %v", raw, err)
		}
		return resp.StatusCode, resp.Header, decoded
	}

	cases := []struct {
		name, target, body string
		wantStatus         int
		wantType           string
	}{
		{"unknown task definition", "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition", `{"taskDefinition":"nope"}`, 400, "ClientException"},
		{"unknown cluster", "AmazonEC2ContainerServiceV20141113.DescribeServices", `{"cluster":"nope","services":["x"]}`, 400, "ClusterNotFoundException"},
		{"unsupported operation", "AmazonEC2ContainerServiceV20141113.RunTask", `{}`, 400, "UnknownOperationException"},
		{"no target", "", `{}`, 400, "UnknownOperationException"},
		{"malformed body", "AmazonEC2ContainerServiceV20141113.ListServices", `{"cluster":`, 400, "SerializationException"},
	}
	for _, tc := range cases {
		status, header, body := post(tc.target, tc.body)
		if status != tc.wantStatus || body["__type"] != tc.wantType || body["message"] == "" || header.Get("Content-Type") != "application/x-amz-json-1.1" {
			t.Errorf("%s: status %d body %v", tc.name, status, body)
		}
	}

	// Success bodies use lowerCamelCase members and epoch-second timestamps.
	status, _, body := post("AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
		`{"family":"web","containerDefinitions":[{"name":"app","image":"nginx","portMappings":[{"containerPort":80}]}],"tags":[]}`)
	td, _ := body["taskDefinition"].(map[string]any)
	if status != 200 || td["taskDefinitionArn"] != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" || td["status"] != "ACTIVE" {
		t.Fatalf("register: %d %v", status, body)
	}
	if _, isNumber := td["registeredAt"].(float64); !isNumber {
		t.Fatalf("registeredAt is %T, want epoch seconds", td["registeredAt"])
	}
	containers, _ := td["containerDefinitions"].([]any)
	if len(containers) != 1 || containers[0].(map[string]any)["portMappings"] == nil {
		t.Fatalf("containerDefinitions: %v", td["containerDefinitions"])
	}
}
