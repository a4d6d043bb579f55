package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

type promChecker struct {
	in     *PromInputs
	client *http.Client
	shown  string
}

func newPromChecker(def Definition, deps Deps) *promChecker {
	return &promChecker{in: def.Prom, client: clientFor(deps.HTTPClient, false), shown: redactURL(def.Prom.Endpoint)}
}

// promAnswer is the part of the Prometheus HTTP API's /api/v1/query answer the probe reads.
type promAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// check runs the instant query and compares the first sample's value, as Litmus does with promql's CSV.
func (p *promChecker) check(ctx context.Context) (string, error) {
	query := p.in.Query
	if query == "" {
		text, err := readLimited(p.in.QueryPath)
		if err != nil {
			return "", fmt.Errorf("could not read the query from queryPath: %w", err)
		}
		query = strings.TrimSpace(text)
	}
	endpoint := strings.TrimRight(p.in.Endpoint, "/") + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", fmt.Errorf("could not build the query to %s: %v", p.shown, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return "", fmt.Errorf("prometheus at %s did not answer: %w", p.shown, cause)
		}
		return "", fmt.Errorf("prometheus at %s: %v", p.shown, describeTransportError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", fmt.Errorf("prometheus at %s: reading the answer: %v", p.shown, err)
	}
	var answer promAnswer
	if err := json.Unmarshal(data, &answer); err != nil {
		return "", fmt.Errorf("prometheus at %s answered %d with something that is not the query API's JSON: %q",
			p.shown, resp.StatusCode, abbreviate(string(data), 200))
	}
	if answer.Status != "success" {
		return "", fmt.Errorf("prometheus at %s refused query %q: %s: %s", p.shown, query, answer.ErrorType, answer.Error)
	}
	value, err := firstSampleValue(answer.Data.ResultType, answer.Data.Result)
	if err != nil {
		return "", fmt.Errorf("query %q: %v", query, err)
	}
	ok, detail := p.in.Comparator.compare(value)
	return result(ok, fmt.Sprintf("query %q: %s", query, detail))
}

// firstSampleValue returns the value of the first sample, whatever the result type.
func firstSampleValue(resultType string, result json.RawMessage) (string, error) {
	var sample [2]any
	switch resultType {
	case "vector":
		var series []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(result, &series); err != nil {
			return "", fmt.Errorf("unreadable vector: %v", err)
		}
		if len(series) == 0 {
			return "", fmt.Errorf("no sample (the metric may not exist yet, or the selector matches nothing)")
		}
		sample = series[0].Value
	case "matrix":
		var series []struct {
			Values [][2]any `json:"values"`
		}
		if err := json.Unmarshal(result, &series); err != nil {
			return "", fmt.Errorf("unreadable matrix: %v", err)
		}
		if len(series) == 0 || len(series[0].Values) == 0 {
			return "", fmt.Errorf("no sample in the range")
		}
		sample = series[0].Values[0]
	case "scalar", "string":
		if err := json.Unmarshal(result, &sample); err != nil {
			return "", fmt.Errorf("unreadable %s: %v", resultType, err)
		}
	default:
		return "", fmt.Errorf("unknown result type %q", resultType)
	}
	value, ok := sample[1].(string)
	if !ok {
		return "", fmt.Errorf("sample without a value")
	}
	return value, nil
}
