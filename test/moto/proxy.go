package moto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

// ecsTargetPrefix starts the X-Amz-Target header of every ECS call (awsJson1_1 protocol).
const ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."

// newRewritingProxy forwards everything to moto unchanged, except two moto encodings the Go SDK refuses
// to deserialize: the ECS response fields listed in rewriteECSBody, and the XML error bodies of
// JSON-protocol calls (xmlErrorToJSON).
func newRewritingProxy(raw string) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse moto URL: %w", err)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The SDK signed the Host it dialled (the proxy); moto checks that signature when IAM is
			// enforced, so it must see the same Host.
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			target := resp.Request.Header.Get("X-Amz-Target")
			if target == "" || resp.Header.Get("Content-Encoding") != "" {
				return nil // query protocols (STS, IAM, CloudWatch over awsQuery) pass untouched
			}
			isError := resp.StatusCode >= 400 && !strings.Contains(resp.Header.Get("Content-Type"), "json")
			isECS := resp.StatusCode == http.StatusOK && strings.HasPrefix(target, ecsTargetPrefix)
			if !isError && !isECS {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("read moto response: %w", err)
			}
			fixed := body
			if isECS {
				if fixed, err = rewriteECSBody(body); err != nil {
					return err
				}
			} else if converted, ok := xmlErrorToJSON(body); ok {
				fixed = converted
				resp.Header.Set("Content-Type", "application/x-amz-json-1.1")
			}
			resp.Body = io.NopCloser(bytes.NewReader(fixed))
			resp.ContentLength = int64(len(fixed))
			resp.Header.Set("Content-Length", strconv.Itoa(len(fixed)))
			return nil
		},
	}, nil
}

// xmlErrorToJSON rewrites moto's authentication and authorization errors for JSON-protocol services, and
// reports false (leave the body alone) for anything that is not moto's XML error envelope.
//
// Rewrite: with IAM enforced, moto answers a refused ECS call (or an unknown access key) with HTTP 403,
// Content-Type text/html and the query protocol's XML envelope
// <ErrorResponse><Errors><Error><Code>AccessDenied</Code>... even though ECS speaks awsJson1_1, so the SDK
// fails with "invalid character '<'" instead of returning an API error. The same code and message go into
// the JSON envelope ({"__type": code, "message": message}) the SDK expects. The code stays moto's:
// AccessDenied, where ECS itself says AccessDeniedException (see README.md).
func xmlErrorToJSON(body []byte) ([]byte, bool) {
	var envelope struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Code    string   `xml:"Errors>Error>Code"`
		Message string   `xml:"Errors>Error>Message"`
	}
	if err := xml.Unmarshal(body, &envelope); err != nil || envelope.Code == "" {
		return nil, false
	}
	out, err := json.Marshal(map[string]string{"__type": envelope.Code, "message": envelope.Message})
	if err != nil {
		return nil, false
	}
	return out, true
}

// rewriteECSBody applies the rewrites below to one ECS response body and returns it unchanged (same
// bytes) when none applies.
//
// Rewrites, each one a moto shape bug the Go SDK rejects with a deserialization error:
//   - Task.containers[].cpu and .memory (RunTask, StartTask, StopTask, DescribeTasks): the API model says
//     string, moto copies the container definition's integers into JSON numbers. They become decimal
//     strings, which is what ECS returns ("cpu": "256").
//
// Nothing else is touched: every other difference from AWS is something tests must see.
func rewriteECSBody(body []byte) ([]byte, error) {
	if !bytes.Contains(body, []byte(`"containers"`)) {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep 64-bit integers and timestamps exactly as moto wrote them
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode moto ECS response: %w", err)
	}
	changed := false
	if task, ok := doc["task"].(map[string]any); ok {
		changed = stringifyContainerResources(task) || changed
	}
	if tasks, ok := doc["tasks"].([]any); ok {
		for _, item := range tasks {
			if task, ok := item.(map[string]any); ok {
				changed = stringifyContainerResources(task) || changed
			}
		}
	}
	if !changed {
		return body, nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode rewritten ECS response: %w", err)
	}
	return out, nil
}

// stringifyContainerResources turns numeric cpu and memory of a task's containers into strings.
func stringifyContainerResources(task map[string]any) bool {
	containers, ok := task["containers"].([]any)
	if !ok {
		return false
	}
	changed := false
	for _, item := range containers {
		container, ok := item.(map[string]any)
		if !ok {
			continue
		}
		for _, field := range []string{"cpu", "memory"} {
			if n, ok := container[field].(json.Number); ok {
				container[field] = n.String()
				changed = true
			}
		}
	}
	return changed
}
