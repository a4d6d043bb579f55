package probe

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A ChaosEngine's probe list as Litmus v3 users write it (durations as strings).
const litmusEngineProbes = `[
 {"name": "check-frontend", "type": "httpProbe", "mode": "Continuous",
  "httpProbe/inputs": {"url": "http://frontend.default.svc:8080/health", "insecureSkipVerify": false,
   "responseTimeout": 1500, "method": {"get": {"criteria": "==", "responseCode": "200"}}},
  "runProperties": {"probeTimeout": "5s", "interval": "2s", "attempt": 3, "probePollingInterval": "1s",
   "initialDelay": "1s", "stopOnFailure": true, "verbosity": "info"}},
 {"name": "deployment-stuck", "type": "cmdProbe", "mode": "Edge",
  "cmdProbe/inputs": {"command": "echo IN_PROGRESS",
   "comparator": {"type": "string", "criteria": "equal", "value": "IN_PROGRESS"}},
  "runProperties": {"probeTimeout": "10s", "interval": "5s", "retry": 2}},
 {"name": "probe-pod", "type": "cmdProbe", "mode": "EOT",
  "cmdProbe/inputs": {"command": "aws ecs describe-services", "source": {"image": "amazon/aws-cli", "imagePullPolicy": "IfNotPresent"},
   "comparator": {"type": "int", "criteria": ">=", "value": "1"}},
  "runProperties": {"probeTimeout": "60s", "interval": "5s"}},
 {"name": "pods-present", "type": "k8sProbe", "mode": "SOT",
  "k8sProbe/inputs": {"group": "", "version": "v1", "resource": "pods", "namespace": "default",
   "labelSelector": "app=frontend", "operation": "present"},
  "runProperties": {"probeTimeout": "5s", "interval": "1s"}},
 {"name": "pending-tasks", "type": "promProbe", "mode": "OnChaos",
  "promProbe/inputs": {"endpoint": "http://prometheus:9090", "query": "aws_ecs_pending_task_count",
   "comparator": {"criteria": ">", "value": "0"}},
  "runProperties": {"probeTimeout": "5s", "interval": "1s", "probePollingInterval": "2s"}}
]`

// The same kind of list as a PROBES_FILE, with Litmus v2's plain integers (seconds).
const probesFileYAML = `
- name: post-health
  type: httpProbe
  mode: SOT
  httpProbe/inputs:
    url: https://frontend.example.internal/login
    insecureSkipVerify: true
    headers:
      Authorization: Bearer not-a-real-token
    method:
      post:
        contentType: application/json
        body: '{"user":"probe"}'
        criteria: contains
        responseBody: welcome
  runProperties:
    probeTimeout: 5
    interval: "2"
    retry: 1
    initialDelaySeconds: 3
- name: create-marker
  type: k8sProbe
  mode: EOT
  data: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: marker
  k8sProbe/inputs:
    version: v1
    resource: configmaps
    namespace: default
    operation: create
  runProperties:
    probeTimeout: 500ms
    interval: 1s
`

func TestParseAcceptsLitmusSchema(t *testing.T) {
	defs, err := Parse([]byte(litmusEngineProbes))
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 5 {
		t.Fatalf("got %d definitions, want 5", len(defs))
	}
	http := defs[0]
	if http.HTTP == nil || http.HTTP.Method != "GET" || http.HTTP.ResponseCode == nil || http.HTTP.ResponseTimeout != 1500*time.Millisecond {
		t.Fatalf("http inputs = %+v", http.HTTP)
	}
	wantRun := RunProperties{ProbeTimeout: 5 * time.Second, Interval: 2 * time.Second, Attempts: 3,
		PollingInterval: time.Second, InitialDelay: time.Second, StopOnFailure: true}
	if http.Run != wantRun {
		t.Fatalf("run properties = %+v, want %+v", http.Run, wantRun)
	}
	if defs[1].Run.Attempts != 2 || defs[1].Cmd.Source != nil {
		t.Fatalf("cmd probe = %+v", defs[1])
	}
	if defs[2].Cmd.Source == nil || defs[2].Cmd.Source.Image != "amazon/aws-cli" {
		t.Fatalf("source probe = %+v", defs[2].Cmd)
	}
	if defs[3].K8s.Resource.Resource != "pods" || defs[3].K8s.Operation != "present" {
		t.Fatalf("k8s probe = %+v", defs[3].K8s)
	}
	if defs[4].Prom.Comparator.Type != "float" {
		t.Fatalf("prom comparator type = %q, want float by default", defs[4].Prom.Comparator.Type)
	}
}

func TestParseAcceptsProbesFileYAML(t *testing.T) {
	defs, err := Parse([]byte(probesFileYAML))
	if err != nil {
		t.Fatal(err)
	}
	post := defs[0]
	if post.Run.ProbeTimeout != 5*time.Second || post.Run.Interval != 2*time.Second || post.Run.InitialDelay != 3*time.Second {
		t.Fatalf("integer seconds not read: %+v", post.Run)
	}
	if post.HTTP.Method != "POST" || post.HTTP.ResponseBody == nil || len(post.HTTP.Headers) != 1 {
		t.Fatalf("post inputs = %+v", post.HTTP)
	}
	if defs[1].K8s.Object == nil || defs[1].K8s.Object.GetKind() != "ConfigMap" {
		t.Fatalf("create data not parsed: %+v", defs[1].K8s)
	}
	if defs[1].Run.ProbeTimeout != 500*time.Millisecond {
		t.Fatalf("probeTimeout = %v", defs[1].Run.ProbeTimeout)
	}
}

func TestParseEmptyMeansNoProbes(t *testing.T) {
	for _, in := range []string{"", "  \n", "[]", "null"} {
		defs, err := Parse([]byte(in))
		if err != nil || len(defs) != 0 {
			t.Fatalf("Parse(%q) = %v, %v", in, defs, err)
		}
	}
}

// wrap builds a probe around one changed part, keeping everything else valid.
func wrap(name, typ, mode, inputs, run string) string {
	if run == "" {
		run = `"runProperties": {"probeTimeout": "5s", "interval": "1s"}`
	}
	parts := []string{`"name": ` + name, `"type": "` + typ + `"`, `"mode": "` + mode + `"`, run}
	if inputs != "" {
		parts = append(parts, inputs)
	}
	return "[{" + strings.Join(parts, ", ") + "}]"
}

const (
	okHTTP = `"httpProbe/inputs": {"url": "http://svc:8080/", "method": {"get": {"criteria": "==", "responseCode": "200"}}}`
	okCmd  = `"cmdProbe/inputs": {"command": "true", "comparator": {"type": "int", "criteria": "==", "value": "0"}}`
	okProm = `"promProbe/inputs": {"endpoint": "http://prom:9090", "query": "up", "comparator": {"criteria": "==", "value": "1"}}`
)

func TestParseNamesEveryProblem(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantProbe string
		wantField string
		wantRule  string
	}{
		{"no name", wrap(`""`, "httpProbe", "SOT", okHTTP, ""), "#0", "name", "required"},
		{"unknown type", wrap(`"p"`, "tcpProbe", "SOT", "", ""), `"p"`, "type", "not one of"},
		{"slo probe", wrap(`"p"`, "sloProbe", "SOT", "", ""), `"p"`, "type", "Harness"},
		{"bad mode", wrap(`"p"`, "httpProbe", "Always", okHTTP, ""), `"p"`, "mode", "not one of"},
		{"no run properties", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"x": 1`), `"p"`, "runProperties", "required"},
		{"no probeTimeout", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"runProperties": {"interval": "1s"}`), `"p"`, "runProperties.probeTimeout", "required"},
		{"bad duration", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"runProperties": {"probeTimeout": "5 parsecs", "interval": "1s"}`), `"p"`, "runProperties.probeTimeout", "not a duration"},
		{"negative interval", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"runProperties": {"probeTimeout": "5s", "interval": "-1s"}`), `"p"`, "runProperties.interval", "negative"},
		{"NaN interval", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"runProperties": {"probeTimeout": "5s", "interval": "NaN"}`), `"p"`, "runProperties.interval", "out of range"},
		{"zero probeTimeout", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"runProperties": {"probeTimeout": 0, "interval": "1s"}`), `"p"`, "runProperties.probeTimeout", "above zero"},
		{"bad retry", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"runProperties": {"probeTimeout": "5s", "interval": "1s", "retry": "many"}`), `"p"`, "runProperties.retry", "whole number"},
		{"typo in run properties", wrap(`"p"`, "httpProbe", "SOT", okHTTP, `"runProperties": {"probeTimeout": "5s", "interval": "1s", "stopOnFailur": true}`), `"p"`, "runProperties.stopOnFailur", "unknown field"},
		{"typo at top level", `[{"name": "p", "type": "httpProbe", "mode": "SOT", "runProperties": {"probeTimeout": "5s", "interval": "1s"}, ` + okHTTP + `, "httpprobe/inputs": {}}]`, `"p"`, "httpprobe/inputs", "unknown field"},
		{"missing http inputs", wrap(`"p"`, "httpProbe", "SOT", "", ""), `"p"`, "httpProbe/inputs", "required"},
		{"relative url", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "/health", "method": {"get": {"criteria": "==", "responseCode": "200"}}}`, ""), `"p"`, "httpProbe/inputs.url", "absolute"},
		{"no method", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/"}`, ""), `"p"`, "httpProbe/inputs.method", "required"},
		{"both methods", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/", "method": {"get": {"criteria": "==", "responseCode": "200"}, "post": {"criteria": "==", "responseCode": "200"}}}`, ""), `"p"`, "httpProbe/inputs.method", "not both"},
		{"response code not a number", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/", "method": {"get": {"criteria": "==", "responseCode": "OK"}}}`, ""), `"p"`, "httpProbe/inputs.method.get.responseCode", "not a int"},
		{"response code out of range", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/", "method": {"get": {"criteria": "==", "responseCode": "999"}}}`, ""), `"p"`, "httpProbe/inputs.method.get.responseCode", "between 100 and 599"},
		{"string criteria on code", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/", "method": {"get": {"criteria": "contains", "responseCode": "200"}}}`, ""), `"p"`, "httpProbe/inputs.method.get.criteria", "not a int criteria"},
		{"bad body regex", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/", "method": {"get": {"criteria": "matches", "responseBody": "(["}}}`, ""), `"p"`, "httpProbe/inputs.method.get.responseBody", "regular expression"},
		{"body and bodyPath", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/", "method": {"post": {"criteria": "==", "responseCode": "200", "body": "{}", "bodyPath": "/b.json"}}}`, ""), `"p"`, "httpProbe/inputs.method.post.bodyPath", "mutually exclusive"},
		{"bad header", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": "http://svc/", "headers": {"Bad Header": "x"}, "method": {"get": {"criteria": "==", "responseCode": "200"}}}`, ""), `"p"`, "httpProbe/inputs.headers", "not a valid header name"},
		{"url of wrong JSON type", wrap(`"p"`, "httpProbe", "SOT", `"httpProbe/inputs": {"url": 8080, "method": {"get": {"criteria": "==", "responseCode": "200"}}}`, ""), `"p"`, "httpProbe/inputs.url", "must be a string"},
		{"cmd without command", wrap(`"p"`, "cmdProbe", "SOT", `"cmdProbe/inputs": {"comparator": {"type": "int", "criteria": "==", "value": "0"}}`, ""), `"p"`, "cmdProbe/inputs.command", "required"},
		{"cmd without comparator", wrap(`"p"`, "cmdProbe", "SOT", `"cmdProbe/inputs": {"command": "true"}`, ""), `"p"`, "cmdProbe/inputs.comparator", "required"},
		{"cmd comparator type", wrap(`"p"`, "cmdProbe", "SOT", `"cmdProbe/inputs": {"command": "true", "comparator": {"type": "number", "criteria": "==", "value": "0"}}`, ""), `"p"`, "cmdProbe/inputs.comparator.type", "not one of"},
		{"cmd int value", wrap(`"p"`, "cmdProbe", "SOT", `"cmdProbe/inputs": {"command": "true", "comparator": {"type": "int", "criteria": ">", "value": "ten"}}`, ""), `"p"`, "cmdProbe/inputs.comparator.value", "not a int"},
		{"source without image", wrap(`"p"`, "cmdProbe", "SOT", `"cmdProbe/inputs": {"command": "true", "source": {}, "comparator": {"type": "int", "criteria": "==", "value": "0"}}`, ""), `"p"`, "cmdProbe/inputs.source.image", "required"},
		{"k8s without version", wrap(`"p"`, "k8sProbe", "SOT", `"k8sProbe/inputs": {"resource": "pods", "operation": "present"}`, ""), `"p"`, "k8sProbe/inputs.version", "required"},
		{"k8s kind instead of resource", wrap(`"p"`, "k8sProbe", "SOT", `"k8sProbe/inputs": {"version": "v1", "resource": "Pod", "operation": "present"}`, ""), `"p"`, "k8sProbe/inputs.resource", "plural"},
		{"k8s bad operation", wrap(`"p"`, "k8sProbe", "SOT", `"k8sProbe/inputs": {"version": "v1", "resource": "pods", "operation": "exists"}`, ""), `"p"`, "k8sProbe/inputs.operation", "not one of"},
		{"k8s bad label selector", wrap(`"p"`, "k8sProbe", "SOT", `"k8sProbe/inputs": {"version": "v1", "resource": "pods", "operation": "present", "labelSelector": "app in (a"}`, ""), `"p"`, "k8sProbe/inputs.labelSelector", "not a valid label selector"},
		{"k8s create without data", wrap(`"p"`, "k8sProbe", "SOT", `"k8sProbe/inputs": {"version": "v1", "resource": "configmaps", "operation": "create"}`, ""), `"p"`, "data", "required for the create"},
		{"k8s create data without kind", wrap(`"p"`, "k8sProbe", "SOT", `"data": "metadata:\n  name: x\n", "k8sProbe/inputs": {"version": "v1", "resource": "configmaps", "operation": "create"}`, ""), `"p"`, "data", "apiVersion and kind"},
		{"prom without endpoint", wrap(`"p"`, "promProbe", "SOT", `"promProbe/inputs": {"query": "up", "comparator": {"criteria": "==", "value": "1"}}`, ""), `"p"`, "promProbe/inputs.endpoint", "required"},
		{"prom without query", wrap(`"p"`, "promProbe", "SOT", `"promProbe/inputs": {"endpoint": "http://prom:9090", "comparator": {"criteria": "==", "value": "1"}}`, ""), `"p"`, "promProbe/inputs.query", "required"},
		{"prom query and queryPath", wrap(`"p"`, "promProbe", "SOT", `"promProbe/inputs": {"endpoint": "http://prom:9090", "query": "up", "queryPath": "/q", "comparator": {"criteria": "==", "value": "1"}}`, ""), `"p"`, "promProbe/inputs.queryPath", "mutually exclusive"},
		{"prom string criteria", wrap(`"p"`, "promProbe", "SOT", `"promProbe/inputs": {"endpoint": "http://prom:9090", "query": "up", "comparator": {"criteria": "contains", "value": "1"}}`, ""), `"p"`, "promProbe/inputs.comparator.criteria", "not a float criteria"},
		{"inputs of another type", wrap(`"p"`, "promProbe", "SOT", okProm+", "+okCmd, ""), `"p"`, "cmdProbe/inputs", "given for a probe of type promProbe"},
		{"duplicate names", `[` + strings.Trim(wrap(`"p"`, "httpProbe", "SOT", okHTTP, ""), "[]") + `,` + strings.Trim(wrap(`"p"`, "httpProbe", "EOT", okHTTP, ""), "[]") + `]`, `"p"`, "name", "duplicate"},
		{"not a list", `{"name": "p"}`, "(list)", "(document)", "list of probes"},
		{"not YAML", "- name: [unclosed", "(list)", "(document)", "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defs, err := Parse([]byte(tt.input))
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("Parse accepted it (%d definitions) or failed untyped: %v", len(defs), err)
			}
			for _, p := range perr.Problems {
				if p.Probe == tt.wantProbe && p.Field == tt.wantField && strings.Contains(p.Rule, tt.wantRule) {
					if !strings.Contains(err.Error(), tt.wantField) {
						t.Fatalf("error text %q does not name the field", err)
					}
					return
				}
			}
			t.Fatalf("no problem {probe %s, field %s, rule ~%q} in: %v", tt.wantProbe, tt.wantField, tt.wantRule, err)
		})
	}
}

func TestParseReportsProblemsOfSeveralProbesAtOnce(t *testing.T) {
	input := `[
	 {"name": "a", "type": "httpProbe", "mode": "SOT", "runProperties": {"probeTimeout": "5s", "interval": "1s"}},
	 {"name": "b", "type": "cmdProbe", "mode": "Sometimes", "runProperties": {"probeTimeout": "x", "interval": "1s"}, ` + okCmd + `}
	]`
	_, err := Parse([]byte(input))
	var perr *ParseError
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v", err)
	}
	want := map[string]bool{`"a" httpProbe/inputs`: false, `"b" mode`: false, `"b" runProperties.probeTimeout`: false}
	for _, p := range perr.Problems {
		key := p.Probe + " " + p.Field
		if _, ok := want[key]; ok {
			want[key] = true
		}
	}
	for key, found := range want {
		if !found {
			t.Errorf("problem %s not reported in %v", key, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(litmusEngineProbes))
	f.Add([]byte(probesFileYAML))
	f.Add([]byte(wrap(`"p"`, "cmdProbe", "Edge", okCmd, "")))
	f.Add([]byte(wrap(`"p"`, "promProbe", "OnChaos", okProm, `"runProperties": {"probeTimeout": 5, "interval": "1", "attempt": "3"}`)))
	f.Add([]byte(`[{"name": "p", "httpProbe/inputs": {"headers": [{"key": "X", "value": "y"}], "responseTimeout": "2s"}}]`))
	f.Add([]byte("- name: x\n  type: k8sProbe\n  data: '{'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := Parse(data)
		if err != nil {
			var perr *ParseError
			if !errors.As(err, &perr) || len(perr.Problems) == 0 {
				t.Fatalf("untyped or empty error: %v", err)
			}
			return
		}
		// Whatever is accepted must be runnable: positive probeTimeout, at least one attempt, one set of inputs.
		for _, d := range defs {
			inputs := 0
			for _, set := range []bool{d.HTTP != nil, d.Cmd != nil, d.K8s != nil, d.Prom != nil} {
				if set {
					inputs++
				}
			}
			if d.Run.ProbeTimeout <= 0 || d.Run.Attempts < 1 || inputs != 1 || d.Name == "" {
				t.Fatalf("accepted an unrunnable definition: %+v", d)
			}
		}
	})
}
