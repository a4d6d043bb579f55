package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Probe types and modes as Litmus spells them.
const (
	TypeHTTP = "httpProbe"
	TypeCmd  = "cmdProbe"
	TypeK8s  = "k8sProbe"
	TypeProm = "promProbe"

	ModeSOT        = "SOT"
	ModeEOT        = "EOT"
	ModeEdge       = "Edge"
	ModeContinuous = "Continuous"
	ModeOnChaos    = "OnChaos"
)

// Definition is one validated probe.
type Definition struct {
	Name string
	Type string // one of the Type constants
	Mode string // one of the Mode constants
	Run  RunProperties

	// Exactly one of these is set, matching Type.
	HTTP *HTTPInputs
	Cmd  *CmdInputs
	K8s  *K8sInputs
	Prom *PromInputs
}

// RunProperties are Litmus's runProperties, as durations.
type RunProperties struct {
	ProbeTimeout      time.Duration // bound of one attempt
	Interval          time.Duration // wait between attempts
	Attempts          int           // attempt, else retry, else 1 (Litmus's rule)
	PollingInterval   time.Duration // wait between evaluations of Continuous and OnChaos probes
	InitialDelay      time.Duration // wait before the first evaluation in each phase
	EvaluationTimeout time.Duration // bound of one evaluation (all attempts); 0 means none
	StopOnFailure     bool
}

// HTTPInputs are httpProbe/inputs.
type HTTPInputs struct {
	URL                string
	Method             string // GET or POST
	InsecureSkipVerify bool
	ResponseTimeout    time.Duration // per request; 0 means probeTimeout alone bounds it
	Headers            []Header
	ContentType        string // POST
	Body               string // POST, inline
	BodyPath           string // POST, read from this file at every request
	ResponseCode       *Comparator
	ResponseBody       *Comparator
}

// Header is one request header; its value never appears in logs or results.
type Header struct{ Name, Value string }

// CmdInputs are cmdProbe/inputs.
type CmdInputs struct {
	Command    string
	Comparator Comparator
	Source     *SourceInputs // nil: inline, in the fault's own container
}

// SourceInputs describe the pod a source-mode cmdProbe runs in.
type SourceInputs struct {
	Image            string
	ImagePullPolicy  corev1.PullPolicy
	ImagePullSecrets []corev1.LocalObjectReference
	Env              []corev1.EnvVar
	Labels           map[string]string
	Annotations      map[string]string
	NodeSelector     map[string]string
	Tolerations      []corev1.Toleration
	HostNetwork      bool
	Privileged       bool
}

// K8sInputs are k8sProbe/inputs.
type K8sInputs struct {
	Resource      schema.GroupVersionResource
	Namespace     string
	ResourceNames []string
	FieldSelector string
	LabelSelector string
	Operation     string                     // create, delete, present, absent
	Object        *unstructured.Unstructured // create: the probe's data
}

// PromInputs are promProbe/inputs.
type PromInputs struct {
	Endpoint   string
	Query      string
	QueryPath  string // read at every evaluation when Query is empty
	Comparator Comparator
}

// ParseError lists every problem found in a probe list.
type ParseError struct{ Problems []Problem }

// Problem is one invalid field of one probe.
type Problem struct {
	Probe string // the probe's name, or #index when it has none
	Field string // path in Litmus's schema, e.g. httpProbe/inputs.method.get.responseCode
	Rule  string // what the field must be
}

func (p Problem) String() string {
	return fmt.Sprintf("probe %s: %s: %s", p.Probe, p.Field, p.Rule)
}

func (e *ParseError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d invalid probe field(s): %s", len(e.Problems), strings.Join(lines, "; "))
}

type fieldProblem struct{ field, rule string }

// Raw schema, as the CRD and Harness's docs write it. Durations and counts stay raw so that both Litmus
// v3 strings ("5s") and older plain integers (seconds) are accepted.
type rawProbe struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Mode          string            `json:"mode"`
	RunProperties *rawRunProperties `json:"runProperties"`
	Data          string            `json:"data"`
	HTTP          *rawHTTP          `json:"httpProbe/inputs"`
	Cmd           *rawCmd           `json:"cmdProbe/inputs"`
	K8s           *rawK8s           `json:"k8sProbe/inputs"`
	Prom          *rawProm          `json:"promProbe/inputs"`
}

var knownProbeKeys = []string{"name", "type", "mode", "runProperties", "data", "httpProbe/inputs",
	"cmdProbe/inputs", "k8sProbe/inputs", "promProbe/inputs", "sloProbe/inputs"}

type rawRunProperties struct {
	ProbeTimeout         json.RawMessage `json:"probeTimeout"`
	Interval             json.RawMessage `json:"interval"`
	Retry                json.RawMessage `json:"retry"`
	Attempt              json.RawMessage `json:"attempt"`
	ProbePollingInterval json.RawMessage `json:"probePollingInterval"`
	InitialDelay         json.RawMessage `json:"initialDelay"`
	InitialDelaySeconds  json.RawMessage `json:"initialDelaySeconds"`
	EvaluationTimeout    json.RawMessage `json:"evaluationTimeout"`
	StopOnFailure        bool            `json:"stopOnFailure"`
	Verbosity            string          `json:"verbosity"`
}

var knownRunPropertyKeys = []string{"probeTimeout", "interval", "retry", "attempt", "probePollingInterval",
	"initialDelay", "initialDelaySeconds", "evaluationTimeout", "stopOnFailure", "verbosity"}

type rawHTTP struct {
	URL                string          `json:"url"`
	InsecureSkipVerify bool            `json:"insecureSkipVerify"`
	ResponseTimeout    json.RawMessage `json:"responseTimeout"`
	Headers            json.RawMessage `json:"headers"`
	Method             *struct {
		Get  *rawHTTPMethod `json:"get"`
		Post *rawHTTPMethod `json:"post"`
	} `json:"method"`
}

type rawHTTPMethod struct {
	Criteria     string  `json:"criteria"`
	ResponseCode *string `json:"responseCode"`
	ResponseBody *string `json:"responseBody"`
	ContentType  string  `json:"contentType"`
	Body         string  `json:"body"`
	BodyPath     string  `json:"bodyPath"`
}

type rawComparator struct {
	Type     string `json:"type"`
	Criteria string `json:"criteria"`
	Value    string `json:"value"`
}

type rawCmd struct {
	Command    string         `json:"command"`
	Comparator *rawComparator `json:"comparator"`
	Source     *struct {
		Image            string                        `json:"image"`
		ImagePullPolicy  corev1.PullPolicy             `json:"imagePullPolicy"`
		ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets"`
		Env              []corev1.EnvVar               `json:"env"`
		Labels           map[string]string             `json:"labels"`
		Annotations      map[string]string             `json:"annotations"`
		NodeSelector     map[string]string             `json:"nodeSelector"`
		Tolerations      []corev1.Toleration           `json:"tolerations"`
		HostNetwork      bool                          `json:"hostNetwork"`
		Privileged       bool                          `json:"privileged"`
	} `json:"source"`
}

type rawK8s struct {
	Group         string `json:"group"`
	Version       string `json:"version"`
	Resource      string `json:"resource"`
	Namespace     string `json:"namespace"`
	ResourceNames string `json:"resourceNames"`
	FieldSelector string `json:"fieldSelector"`
	LabelSelector string `json:"labelSelector"`
	Operation     string `json:"operation"`
}

type rawProm struct {
	Endpoint   string         `json:"endpoint"`
	Query      string         `json:"query"`
	QueryPath  string         `json:"queryPath"`
	Comparator *rawComparator `json:"comparator"`
}

// Parse reads a probe list, as JSON (the ChaosEngine's spec.experiments[].spec.probe) or YAML (PROBES_FILE),
// and validates it. Empty input means no probes. A *ParseError names every problem: probe, field and rule.
func Parse(data []byte) ([]Definition, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, &ParseError{Problems: []Problem{{Probe: "(list)", Field: "(document)", Rule: "not valid YAML or JSON: " + err.Error()}}}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(jsonData, &items); err != nil {
		return nil, &ParseError{Problems: []Problem{{Probe: "(list)", Field: "(document)", Rule: "must be a list of probes"}}}
	}
	var (
		defs     []Definition
		problems []Problem
		seen     = map[string]bool{}
	)
	for i, item := range items {
		def, probs := parseOne(i, item)
		if def.Name != "" {
			if seen[def.Name] {
				probs = append(probs, Problem{Probe: strconv.Quote(def.Name), Field: "name", Rule: "duplicate: probe names must be unique, results are reported by name"})
			}
			seen[def.Name] = true
		}
		problems = append(problems, probs...)
		defs = append(defs, def)
	}
	if len(problems) > 0 {
		return nil, &ParseError{Problems: problems}
	}
	return defs, nil
}

// parseOne validates the probe at index of the list; every problem found is returned, sorted by field.
func parseOne(index int, item json.RawMessage) (Definition, []Problem) {
	var errs []fieldProblem
	add := func(field, format string, args ...any) {
		errs = append(errs, fieldProblem{field, fmt.Sprintf(format, args...)})
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(item, &keys); err != nil {
		return Definition{}, []Problem{{Probe: fmt.Sprintf("#%d", index), Field: "(item)", Rule: "must be an object"}}
	}
	raw := decodeProbe(item, keys, add)
	def := Definition{Name: raw.Name, Type: raw.Type, Mode: raw.Mode}
	if strings.TrimSpace(raw.Name) == "" {
		add("name", "required")
	}
	switch raw.Mode {
	case ModeSOT, ModeEOT, ModeEdge, ModeContinuous, ModeOnChaos:
	case "":
		add("mode", "required (SOT, EOT, Edge, Continuous or OnChaos)")
	default:
		add("mode", "%q is not one of SOT, EOT, Edge, Continuous, OnChaos", raw.Mode)
	}
	def.Run = parseRunProperties(raw.RunProperties, keys["runProperties"], add)
	parseInputs(&def, &raw, add)
	return def, probeProblems(index, raw.Name, errs)
}

// decodeProbe decodes item into the raw schema and reports its type errors and unknown keys. A type error still
// leaves the other fields decoded, so the remaining checks run too.
func decodeProbe(item json.RawMessage, keys map[string]json.RawMessage, add addFunc) rawProbe {
	var raw rawProbe
	if err := json.Unmarshal(item, &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			add(typeErr.Field, "must be a %s, not a JSON %s", goTypeName(typeErr.Type.String()), typeErr.Value)
		} else {
			add("(item)", "%v", err)
		}
	}
	for _, key := range unknownKeys(keys, knownProbeKeys) {
		add(key, "unknown field (known: %s)", strings.Join(knownProbeKeys, ", "))
	}
	return raw
}

// parseInputs parses the inputs of def's type into def, and reports inputs given for another type: they would be
// ignored silently, which usually means the type is wrong.
func parseInputs(def *Definition, raw *rawProbe, add addFunc) {
	inputsFor := map[string]bool{TypeHTTP: raw.HTTP != nil, TypeCmd: raw.Cmd != nil, TypeK8s: raw.K8s != nil, TypeProm: raw.Prom != nil}
	switch raw.Type {
	case TypeHTTP:
		def.HTTP = parseHTTP(raw.HTTP, add)
	case TypeCmd:
		def.Cmd = parseCmd(raw.Cmd, add)
	case TypeK8s:
		def.K8s = parseK8s(raw.K8s, raw.Data, add)
	case TypeProm:
		def.Prom = parseProm(raw.Prom, add)
	case "sloProbe":
		add("type", "sloProbe needs the Harness platform and is not supported by this fault")
	case "":
		add("type", "required (httpProbe, cmdProbe, k8sProbe or promProbe)")
	default:
		add("type", "%q is not one of httpProbe, cmdProbe, k8sProbe, promProbe", raw.Type)
	}
	for typ, present := range inputsFor {
		if present && typ != raw.Type && raw.Type != "" {
			add(typ+"/inputs", "given for a probe of type %s; remove it or fix the type", raw.Type)
		}
	}
}

// probeProblems names the probe in each of its field problems (by name, or by #index when it has none) and sorts
// them by field, keeping the order of the problems of one field.
func probeProblems(index int, rawName string, errs []fieldProblem) []Problem {
	name := strconv.Quote(rawName)
	if strings.TrimSpace(rawName) == "" {
		name = fmt.Sprintf("#%d", index)
	}
	problems := make([]Problem, len(errs))
	for i, e := range errs {
		problems[i] = Problem{Probe: name, Field: e.field, Rule: e.rule}
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Field < problems[j].Field })
	return problems
}

type addFunc func(field, format string, args ...any)

func parseRunProperties(raw *rawRunProperties, keys json.RawMessage, add addFunc) RunProperties {
	var rp RunProperties
	if raw == nil {
		add("runProperties", "required (at least probeTimeout and interval)")
		return rp
	}
	var rawKeys map[string]json.RawMessage
	_ = json.Unmarshal(keys, &rawKeys)
	for _, key := range unknownKeys(rawKeys, knownRunPropertyKeys) {
		add("runProperties."+key, "unknown field (known: %s)", strings.Join(knownRunPropertyKeys, ", "))
	}
	duration := func(field string, value json.RawMessage, required bool) time.Duration {
		d, present, err := parseFlexibleDuration(value)
		switch {
		case err != nil:
			add("runProperties."+field, "%v", err)
		case !present && required:
			add("runProperties."+field, "required: a duration such as \"5s\" (a plain number means seconds)")
		}
		return d
	}
	rp.ProbeTimeout = duration("probeTimeout", raw.ProbeTimeout, true)
	if rp.ProbeTimeout == 0 && len(raw.ProbeTimeout) > 0 {
		add("runProperties.probeTimeout", "must be above zero")
	}
	rp.Interval = duration("interval", raw.Interval, true)
	rp.PollingInterval = duration("probePollingInterval", raw.ProbePollingInterval, false)
	rp.InitialDelay = duration("initialDelay", raw.InitialDelay, false)
	if len(raw.InitialDelay) == 0 {
		rp.InitialDelay = duration("initialDelaySeconds", raw.InitialDelaySeconds, false)
	}
	rp.EvaluationTimeout = duration("evaluationTimeout", raw.EvaluationTimeout, false)
	rp.StopOnFailure = raw.StopOnFailure
	attempt, err := parseFlexibleCount(raw.Attempt)
	if err != nil {
		add("runProperties.attempt", "%v", err)
	}
	retry, err := parseFlexibleCount(raw.Retry)
	if err != nil {
		add("runProperties.retry", "%v", err)
	}
	// Litmus's getAttempts: attempt wins, then retry, and at least one attempt.
	switch {
	case attempt > 0:
		rp.Attempts = attempt
	case retry > 0:
		rp.Attempts = retry
	default:
		rp.Attempts = 1
	}
	return rp
}

// parseFlexibleDuration accepts a Go duration string ("5s", "500ms"), a plain number of seconds (5, "5",
// 2.5), or nothing.
func parseFlexibleDuration(raw json.RawMessage) (time.Duration, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		var n float64
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, true, fmt.Errorf("must be a duration such as \"5s\" or a number of seconds, not %s", raw)
		}
		text = strconv.FormatFloat(n, 'f', -1, 64)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, false, nil
	}
	if n, err := strconv.ParseFloat(text, 64); err == nil {
		if !(n >= 0 && n <= 1e9) { // also refuses NaN
			return 0, true, fmt.Errorf("%q seconds is out of range", text)
		}
		return time.Duration(n * float64(time.Second)), true, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, true, fmt.Errorf("%q is not a duration such as \"5s\" or a number of seconds", text)
	}
	if d < 0 {
		return 0, true, fmt.Errorf("%q is negative", text)
	}
	return d, true, nil
}

// parseFlexibleCount accepts a non-negative integer, also written as a string.
func parseFlexibleCount(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		text = string(raw)
	}
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 0 || n > 1000 {
		return 0, fmt.Errorf("must be a whole number from 0 to 1000, not %s", raw)
	}
	return n, nil
}

func parseHTTP(raw *rawHTTP, add addFunc) *HTTPInputs {
	const prefix = "httpProbe/inputs"
	if raw == nil {
		add(prefix, "required for an httpProbe")
		return nil
	}
	in := &HTTPInputs{URL: raw.URL, InsecureSkipVerify: raw.InsecureSkipVerify}
	if u, err := url.Parse(raw.URL); raw.URL == "" {
		add(prefix+".url", "required")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(prefix+".url", "must be an absolute http or https URL")
	}
	// responseTimeout is in milliseconds in Harness's schema; a duration string such as "2s" is accepted too.
	if d, err := parseMilliseconds(raw.ResponseTimeout); err != nil {
		add(prefix+".responseTimeout", "%v", err)
	} else {
		in.ResponseTimeout = d
	}
	in.Headers = parseHeaders(raw.Headers, prefix+".headers", add)

	if raw.Method == nil || (raw.Method.Get == nil && raw.Method.Post == nil) {
		add(prefix+".method", "required: get or post")
		return in
	}
	if raw.Method.Get != nil && raw.Method.Post != nil {
		add(prefix+".method", "give either get or post, not both")
		return in
	}
	m, field := raw.Method.Get, prefix+".method.get"
	in.Method = "GET"
	if raw.Method.Post != nil {
		m, field = raw.Method.Post, prefix+".method.post"
		in.Method = "POST"
		in.ContentType, in.Body, in.BodyPath = m.ContentType, m.Body, m.BodyPath
		if m.Body != "" && m.BodyPath != "" {
			add(field+".bodyPath", "body and bodyPath are mutually exclusive")
		}
	} else if m.Body != "" || m.BodyPath != "" {
		add(field+".body", "a GET request has no body; use post")
	}
	switch {
	case m.ResponseCode != nil && m.ResponseBody != nil:
		add(field, "responseCode and responseBody are mutually exclusive")
	case m.ResponseCode != nil:
		c, probs := newComparator("int", m.Criteria, *m.ResponseCode)
		addComparatorProblems(add, field, probs, map[string]string{"value": "responseCode"})
		in.ResponseCode = &c
		if len(probs) == 0 && (c.numbers[0] < 100 || c.numbers[len(c.numbers)-1] > 599) {
			add(field+".responseCode", "HTTP status codes are between 100 and 599")
		}
	case m.ResponseBody != nil:
		c, probs := newComparator("string", m.Criteria, *m.ResponseBody)
		addComparatorProblems(add, field, probs, map[string]string{"value": "responseBody"})
		in.ResponseBody = &c
	default:
		add(field+".responseCode", "required (or responseBody)")
	}
	return in
}

func parseMilliseconds(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = strings.TrimSpace(s)
	}
	if ms, err := strconv.ParseFloat(text, 64); err == nil {
		if !(ms >= 0 && ms <= 1e12) { // also refuses NaN
			return 0, fmt.Errorf("%s milliseconds is out of range", text)
		}
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("must be milliseconds or a duration such as \"2s\", not %s", raw)
	}
	return d, nil
}

var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// parseHeaders accepts a map of name to value or a list of {key|name, value}.
func parseHeaders(raw json.RawMessage, field string, add addFunc) []Header {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var headers []Header
	var asMap map[string]string
	var asList []struct {
		Key   string `json:"key"`
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	switch {
	case json.Unmarshal(raw, &asMap) == nil:
		names := make([]string, 0, len(asMap))
		for name := range asMap {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			headers = append(headers, Header{Name: name, Value: asMap[name]})
		}
	case json.Unmarshal(raw, &asList) == nil:
		for _, h := range asList {
			name := h.Key
			if name == "" {
				name = h.Name
			}
			headers = append(headers, Header{Name: name, Value: h.Value})
		}
	default:
		add(field, "must be a map of name to value, or a list of {key, value}")
		return nil
	}
	for _, h := range headers {
		if !headerName.MatchString(h.Name) {
			add(field, "%q is not a valid header name", h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n") {
			add(field, "the value of %q contains a line break", h.Name)
		}
	}
	return headers
}

func addComparatorProblems(add addFunc, prefix string, probs []fieldProblem, rename map[string]string) {
	for _, p := range probs {
		field := p.field
		if r, ok := rename[field]; ok {
			field = r
		}
		add(prefix+"."+field, "%s", p.rule)
	}
}

func parseComparator(raw *rawComparator, field, defaultType string, add addFunc) Comparator {
	if raw == nil {
		add(field, "required (type, criteria, value)")
		return Comparator{}
	}
	typ := raw.Type
	if typ == "" {
		typ = defaultType
	}
	c, probs := newComparator(typ, raw.Criteria, raw.Value)
	addComparatorProblems(add, field, probs, nil)
	return c
}

func parseCmd(raw *rawCmd, add addFunc) *CmdInputs {
	const prefix = "cmdProbe/inputs"
	if raw == nil {
		add(prefix, "required for a cmdProbe")
		return nil
	}
	in := &CmdInputs{Command: raw.Command}
	if strings.TrimSpace(raw.Command) == "" {
		add(prefix+".command", "required")
	}
	in.Comparator = parseComparator(raw.Comparator, prefix+".comparator", "", add)
	if s := raw.Source; s != nil {
		if strings.TrimSpace(s.Image) == "" {
			add(prefix+".source.image", "required in source mode")
		}
		switch s.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			add(prefix+".source.imagePullPolicy", "%q is not one of Always, IfNotPresent, Never", s.ImagePullPolicy)
		}
		in.Source = &SourceInputs{
			Image: s.Image, ImagePullPolicy: s.ImagePullPolicy, ImagePullSecrets: s.ImagePullSecrets, Env: s.Env,
			Labels: s.Labels, Annotations: s.Annotations, NodeSelector: s.NodeSelector, Tolerations: s.Tolerations,
			HostNetwork: s.HostNetwork, Privileged: s.Privileged,
		}
	}
	return in
}

func parseK8s(raw *rawK8s, data string, add addFunc) *K8sInputs {
	const prefix = "k8sProbe/inputs"
	if raw == nil {
		add(prefix, "required for a k8sProbe")
		return nil
	}
	in := &K8sInputs{
		Resource:      schema.GroupVersionResource{Group: raw.Group, Version: raw.Version, Resource: raw.Resource},
		Namespace:     raw.Namespace,
		FieldSelector: raw.FieldSelector,
		LabelSelector: raw.LabelSelector,
		Operation:     raw.Operation,
	}
	if raw.Version == "" {
		add(prefix+".version", "required (e.g. v1)")
	}
	if raw.Resource == "" {
		add(prefix+".resource", "required, plural and lower case (e.g. pods)")
	} else if raw.Resource != strings.ToLower(raw.Resource) {
		add(prefix+".resource", "%q must be the plural lower-case resource name (e.g. pods), not the kind", raw.Resource)
	}
	for _, name := range strings.Split(raw.ResourceNames, ",") {
		if name = strings.TrimSpace(name); name != "" {
			in.ResourceNames = append(in.ResourceNames, name)
		}
	}
	if _, err := labels.Parse(raw.LabelSelector); err != nil {
		add(prefix+".labelSelector", "not a valid label selector: %v", err)
	}
	if _, err := fields.ParseSelector(raw.FieldSelector); err != nil {
		add(prefix+".fieldSelector", "not a valid field selector: %v", err)
	}
	switch raw.Operation {
	case "present", "absent", "delete":
		if data != "" {
			add("data", "only the create operation takes data")
		}
	case "create":
		in.Object = parseObject(data, add)
	case "":
		add(prefix+".operation", "required (create, delete, present or absent)")
	default:
		add(prefix+".operation", "%q is not one of create, delete, present, absent", raw.Operation)
	}
	return in
}

func parseObject(data string, add addFunc) *unstructured.Unstructured {
	if strings.TrimSpace(data) == "" {
		add("data", "required for the create operation: the manifest to create")
		return nil
	}
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(data), &obj); err != nil || obj == nil {
		add("data", "must be one YAML or JSON object (the manifest to create)")
		return nil
	}
	u := &unstructured.Unstructured{Object: obj}
	if u.GetAPIVersion() == "" || u.GetKind() == "" {
		add("data", "the manifest needs apiVersion and kind")
	}
	if u.GetName() == "" && u.GetGenerateName() == "" {
		add("data", "the manifest needs metadata.name or metadata.generateName")
	}
	return u
}

func parseProm(raw *rawProm, add addFunc) *PromInputs {
	const prefix = "promProbe/inputs"
	if raw == nil {
		add(prefix, "required for a promProbe")
		return nil
	}
	in := &PromInputs{Endpoint: raw.Endpoint, Query: raw.Query, QueryPath: raw.QueryPath}
	if u, err := url.Parse(raw.Endpoint); raw.Endpoint == "" {
		add(prefix+".endpoint", "required (e.g. http://prometheus:9090)")
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(prefix+".endpoint", "must be an absolute http or https URL")
	}
	switch {
	case raw.Query == "" && raw.QueryPath == "":
		add(prefix+".query", "required (or queryPath)")
	case raw.Query != "" && raw.QueryPath != "":
		add(prefix+".queryPath", "query and queryPath are mutually exclusive")
	}
	// Litmus compares metrics as floats; the schema's comparator has no type.
	in.Comparator = parseComparator(raw.Comparator, prefix+".comparator", "float", add)
	return in
}

func unknownKeys(keys map[string]json.RawMessage, known []string) []string {
	var unknown []string
	for key := range keys {
		found := false
		for _, k := range known {
			found = found || k == key
		}
		if !found {
			unknown = append(unknown, key)
		}
	}
	sort.Strings(unknown)
	return unknown
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "*"):
		return goTypeName(t[1:])
	case t == "string" || t == "corev1.PullPolicy" || t == "v1.PullPolicy":
		return "string"
	case t == "bool":
		return "boolean"
	case strings.HasPrefix(t, "[]"):
		return "list"
	case strings.HasPrefix(t, "map[") || strings.HasPrefix(t, "struct") || strings.Contains(t, "probe.raw"):
		return "object"
	}
	return t
}
