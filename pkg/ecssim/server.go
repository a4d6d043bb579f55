package ecssim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	smithy "github.com/aws/smithy-go"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecsthrottle"
)

const targetPrefix = "AmazonEC2ContainerServiceV20141113."

// APIError is an error as ECS returns it: a JSON body {"__type": Code, "message": Message} with Status.
type APIError struct {
	Code    string
	Message string
	Status  int // default 400 (500 for ServerException)
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func (e *APIError) status() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Code == "ServerException":
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

func clientErr(format string, args ...any) *APIError {
	return &APIError{Code: "ClientException", Message: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *APIError {
	return &APIError{Code: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

// Request is one entry of the request log.
type Request struct {
	Operation string
	SimTime   time.Time // the simulator's clock when the request was answered
	WallTime  time.Time
	Mutating  bool
	ErrorCode string // "" on success
	Summary   string // for mutating calls: what changed
}

// Fault makes the next calls of an operation misbehave. Counters count down per call; Throttle, ServerError
// and Error reject the call before it takes effect; Latency and Drop act after it took effect, as on AWS
// (a reply lost on the way does not undo the change).
type Fault struct {
	Throttle    int           // next N calls: ThrottlingException "Rate exceeded"
	ServerError int           // next N calls: HTTP 500 ServerException
	Latency     time.Duration // every call: reply delayed by this much simulated time
	Drop        int           // next N calls: connection closed without a reply
	Error       *APIError     // injected error
	ErrorCount  int           // how many calls get Error; 0 means every call while the fault is set
}

// RateLimit is a token bucket: Burst calls at once, refilled at PerSecond (simulated time). Operations whose limit
// names the same Bucket draw from one bucket; an empty Bucket is the operation's own.
type RateLimit struct {
	Burst     int
	PerSecond float64
	Bucket    string
}

type bucket struct {
	limit  RateLimit
	tokens float64
	last   time.Time
}

// ECSRateLimits are ECS's documented throttling buckets (pkg/ecsthrottle: "Request throttling for the Amazon ECS
// API", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html) as SetRateLimit limits,
// keyed on action, for benchmarks that want ECS's throttling. The actions of one category name it as their Bucket,
// so they draw from one bucket as on ECS (RegisterTaskDefinition with DeregisterTaskDefinition, ListTasks with
// DescribeTasks). Actions the page does not list, StopServiceDeployment among them, are not throttled.
func ECSRateLimits() map[string]RateLimit {
	limits := map[string]RateLimit{}
	for _, c := range ecsthrottle.Categories() {
		for _, action := range c.Actions {
			limits[action] = RateLimit{Burst: c.Burst, PerSecond: c.RefillPerSecond, Bucket: c.Name}
		}
	}
	return limits
}

// sharedBucketKey keeps named buckets in the limits map; no operation name starts with it.
const sharedBucketKey = "bucket/"

// SetRateLimit enforces a token bucket on operation; "*" is one bucket shared by every operation without
// its own. A limit naming a Bucket that another operation's limit already created joins that bucket. A zero
// RateLimit removes the operation's limit. Limits are off by default.
func (s *Simulator) SetRateLimit(operation string, l RateLimit) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	if l.Burst <= 0 {
		delete(s.limits, operation)
		return
	}
	b := &bucket{limit: l, tokens: float64(l.Burst), last: s.clk.Now()}
	if l.Bucket != "" {
		if shared := s.limits[sharedBucketKey+l.Bucket]; shared != nil {
			b = shared
		} else {
			s.limits[sharedBucketKey+l.Bucket] = b
		}
	}
	s.limits[operation] = b
}

// SetFault installs f for operation ("*" for all operations; an operation's own fault wins).
func (s *Simulator) SetFault(operation string, f Fault) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.faults[operation] = &f
}

// Deny answers every call of operation with AccessDeniedException, as ECS answers credentials whose IAM policy
// lacks ecs:<operation> (for example the spec's policy, which has no ecs:StopServiceDeployment).
func (s *Simulator) Deny(operation string) {
	s.SetFault(operation, Fault{Error: &APIError{Code: "AccessDeniedException",
		Message: "User: arn:aws:iam::123456789012:user/chaos is not authorized to perform: ecs:" + operation + " on resource: *"}})
}

// ClearFaults removes every fault (rate limits stay).
func (s *Simulator) ClearFaults() {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.faults = map[string]*Fault{}
}

// Requests returns a copy of the request log.
func (s *Simulator) Requests() []Request {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests empties the request log.
func (s *Simulator) ResetRequests() {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.requests = nil
}

// OnRequest registers fn to be called after each request took effect and before its reply is written,
// outside the simulator's locks, so fn may call the simulator (through the SDK too).
func (s *Simulator) OnRequest(fn func(Request)) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	s.hooks = append(s.hooks, fn)
}

// verdict is what the fault hooks decided for one call.
type verdict struct {
	reject  *APIError
	latency time.Duration
	drop    bool
}

func (s *Simulator) decide(op string) verdict {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	var v verdict
	for _, key := range []string{op, "*"} {
		f := s.faults[key]
		if f == nil {
			continue
		}
		v.latency = max(v.latency, f.Latency)
		switch {
		case f.Throttle > 0:
			f.Throttle--
			v.reject = &APIError{Code: "ThrottlingException", Message: "Rate exceeded"}
		case f.ServerError > 0:
			f.ServerError--
			v.reject = &APIError{Code: "ServerException", Message: "Service unavailable. Please try again later.", Status: http.StatusInternalServerError}
		case f.Error != nil && f.ErrorCount >= 0:
			e := *f.Error
			v.reject = &e
			if f.ErrorCount > 0 {
				f.ErrorCount--
				if f.ErrorCount == 0 {
					f.Error = nil
				}
			}
		case f.Drop > 0:
			f.Drop--
			v.drop = true
		}
		if v.reject != nil || v.drop {
			break
		}
	}
	if v.reject == nil && s.overLimit(op) {
		v.reject = &APIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	}
	return v
}

// overLimit takes a token from op's bucket and reports whether none was left. Caller holds reqMu.
func (s *Simulator) overLimit(op string) bool {
	b := s.limits[op]
	if b == nil {
		b = s.limits["*"]
	}
	if b == nil {
		return false
	}
	now := s.clk.Now()
	b.tokens = min(float64(b.limit.Burst), b.tokens+now.Sub(b.last).Seconds()*b.limit.PerSecond)
	b.last = now
	if b.tokens < 1 {
		return true
	}
	b.tokens--
	return false
}

// Handler serves the ECS JSON 1.1 protocol: POST / with X-Amz-Target.
func (s *Simulator) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// serveHTTP answers one call: the fault hooks decide first, the operation takes effect, the request log and
// OnRequest hooks see it, and only then does the reply leave (late, lost or written).
func (s *Simulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	wall := time.Now()
	op, h, body, e := s.readCall(r)
	if e != nil {
		writeError(w, e)
		return
	}
	v := s.decide(op)
	out, apiErr := s.runCall(op, h, body, v.reject, wall)
	if v.latency > 0 {
		clock.Sleep(s.clk, v.latency, r.Context().Done())
	}
	if v.drop {
		s.dropConnection(w, op)
		return
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	payload, err := s.codec.encode(out)
	if err != nil {
		writeError(w, &APIError{Code: "ServerException", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID(wall))
	_, _ = w.Write(payload)
}

// readCall finds the operation of a JSON 1.1 call (POST with X-Amz-Target) and reads its body; an error is the
// reply for a call the simulator cannot take.
func (s *Simulator) readCall(r *http.Request) (string, handler, []byte, *APIError) {
	if r.Method != http.MethodPost {
		return "", handler{}, nil, &APIError{Code: "UnknownOperationException", Message: "only POST is supported"}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	h, known := s.operations()[op]
	if !ok || !known {
		return "", handler{}, nil, &APIError{Code: "UnknownOperationException", Message: fmt.Sprintf("operation %q is not supported by the simulator", op)}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "", handler{}, nil, &APIError{Code: "SerializationException", Message: err.Error()}
	}
	return op, h, body, nil
}

// runCall lets the operation take effect unless the fault hooks rejected it, and records the call in the
// request log and with the OnRequest hooks (outside the locks, so they may call the simulator) before the
// reply leaves.
func (s *Simulator) runCall(op string, h handler, body []byte, reject *APIError, wall time.Time) (smithy.Serializable, *APIError) {
	var out smithy.Serializable
	var summary string
	apiErr := reject
	if apiErr == nil {
		out, summary, apiErr = h.fn(body)
	}
	req := Request{Operation: op, SimTime: s.clk.Now(), WallTime: wall, Mutating: h.mutating}
	if apiErr != nil {
		req.ErrorCode = apiErr.Code
	}
	if h.mutating && apiErr == nil {
		req.Summary = summary
	}
	s.reqMu.Lock()
	s.requests = append(s.requests, req)
	hooks := append([]func(Request){}, s.hooks...)
	s.reqMu.Unlock()
	for _, fn := range hooks {
		fn(req)
	}
	if apiErr != nil {
		s.logf("ecssim: %s -> %s: %s", op, apiErr.Code, apiErr.Message)
	}
	return out, apiErr
}

// dropConnection closes the connection of a call that took effect without replying, as a reply lost on the
// way does.
func (s *Simulator) dropConnection(w http.ResponseWriter, op string) {
	s.logf("ecssim: %s took effect; dropping the connection", op)
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // closes the connection on servers that cannot hijack (HTTP/2)
}

func writeError(w http.ResponseWriter, e *APIError) {
	body, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.status())
	_, _ = w.Write(body)
}

func requestID(t time.Time) string {
	return fmt.Sprintf("%016x-sim", uint64(t.UnixNano()))
}

// handler answers one operation: the reply, a summary of what changed (mutating calls), or an error.
type handler struct {
	mutating bool
	fn       func(body []byte) (smithy.Serializable, string, *APIError)
}

func (s *Simulator) operations() map[string]handler {
	return map[string]handler{
		"CreateCluster":              {true, s.createCluster},
		"DescribeClusters":           {false, s.describeClusters},
		"RegisterTaskDefinition":     {true, s.registerInWindow},
		"DescribeTaskDefinition":     {false, s.describeTaskDefinition},
		"DeregisterTaskDefinition":   {true, s.deregisterTaskDefinition},
		"ListTaskDefinitions":        {false, s.listTaskDefinitions},
		"ListTaskDefinitionFamilies": {false, s.listTaskDefinitionFamilies},
		"CreateService":              {true, s.createService},
		"DescribeServices":           {false, s.describeServices},
		"UpdateService":              {true, s.updateService},
		"DeleteService":              {true, s.deleteService},
		"ListServices":               {false, s.listServices},
		"ListTasks":                  {false, s.listTasks},
		"DescribeTasks":              {false, s.describeTasks},
		"StopTask":                   {true, s.stopTask},
		"TagResource":                {true, s.tagResource},
		"UntagResource":              {true, s.untagResource},
		"ListTagsForResource":        {false, s.listTagsForResource},
		"ListServiceDeployments":     {false, s.listServiceDeployments},
		"DescribeServiceDeployments": {false, s.describeServiceDeployments},
		"DescribeServiceRevisions":   {false, s.describeServiceRevisions},
		"StopServiceDeployment":      {true, s.stopServiceDeployment},
	}
}

// decodeJSON reads the plain top-level members of a request; nested ECS shapes are decoded with the codec.
func decodeJSON(body []byte, v any) *APIError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &APIError{Code: "SerializationException", Message: err.Error()}
	}
	return nil
}
