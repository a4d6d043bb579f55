package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// echoServer answers with what it received, so that tests can see the method, headers and body sent.
func echoServer(t *testing.T, tls bool) *httptest.Server {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		auth := "none"
		if r.Header.Get("X-Token") == "s3cr3t-value" {
			auth = "ok"
		}
		fmt.Fprintf(w, "%s %s auth=%s type=%s body=%s", r.Method, r.Host, auth, r.Header.Get("Content-Type"), body)
	})
	srv := startServer(handler, tls)
	t.Cleanup(srv.Close)
	return srv
}

// runOnce parses one probe, runs it as SOT and returns its result.
func runOnce(t *testing.T, probeJSON string) Result {
	t.Helper()
	defs, err := Parse([]byte("[" + probeJSON + "]"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(defs, Deps{Clock: clock.NewScaled(speed)})
	r.PreChaos(t.Context())
	r.PostChaos(t.Context())
	return r.Results()[0]
}

func httpJSON(url string, inputs map[string]any) string {
	inputs["url"] = url
	in, _ := json.Marshal(inputs)
	return fmt.Sprintf(`{"name": "h", "type": "httpProbe", "mode": "SOT", "httpProbe/inputs": %s,
		"runProperties": {"probeTimeout": "20s", "interval": "1s"}}`, in)
}

func get(criteria, code string) map[string]any {
	return map[string]any{"get": map[string]any{"criteria": criteria, "responseCode": code}}
}

func TestHTTPProbe(t *testing.T) {
	plain := echoServer(t, false)
	secure := echoServer(t, true)
	bodyFile := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(bodyFile, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name        string
		probe       string
		want        Verdict
		description string
	}{
		{"get code", httpJSON(plain.URL, map[string]any{"method": get("==", "200")}), Passed, "answered 200"},
		{"get code mismatch", httpJSON(plain.URL, map[string]any{"method": get("!=", "200")}), Failed, "expected != 200"},
		{"get code oneOf", httpJSON(plain.URL, map[string]any{"method": get("oneOf", "[200,204]")}), Passed, "answered 200"},
		{"get code between", httpJSON(plain.URL+"/missing", map[string]any{"method": get("between", "[200,299]")}), Passed, ""},
		{"get body contains", httpJSON(plain.URL, map[string]any{"method": map[string]any{"get": map[string]any{"criteria": "contains", "responseBody": "GET"}}}), Passed, "body"},
		{"get body matches fails", httpJSON(plain.URL, map[string]any{"method": map[string]any{"get": map[string]any{"criteria": "matches", "responseBody": "^POST"}}}), Failed, "expected matches"},
		{"headers sent, value kept out of the result", httpJSON(plain.URL, map[string]any{
			"headers": map[string]string{"X-Token": "s3cr3t-value", "Host": "app.internal"},
			"method":  map[string]any{"get": map[string]any{"criteria": "contains", "responseBody": "GET app.internal auth=ok"}}}), Passed, ""},
		{"post body", httpJSON(plain.URL, map[string]any{"method": map[string]any{"post": map[string]any{
			"contentType": "application/json", "body": `{"a":1}`, "criteria": "contains", "responseBody": `type=application/json body={"a":1}`}}}), Passed, ""},
		{"post bodyPath", httpJSON(plain.URL, map[string]any{"method": map[string]any{"post": map[string]any{
			"bodyPath": bodyFile, "criteria": "contains", "responseBody": `body={"from":"file"}`}}}), Passed, ""},
		{"post bodyPath missing", httpJSON(plain.URL, map[string]any{"method": map[string]any{"post": map[string]any{
			"bodyPath": bodyFile + ".gone", "criteria": "==", "responseCode": "200"}}}), Failed, "could not read the request body from bodyPath"},
		{"tls with insecureSkipVerify", httpJSON(secure.URL, map[string]any{"insecureSkipVerify": true, "method": get("==", "200")}), Passed, ""},
		{"tls without insecureSkipVerify", httpJSON(secure.URL, map[string]any{"method": get("==", "200")}), Failed, "certificate"},
		{"unreachable", httpJSON(closedURL, map[string]any{"method": get("==", "200")}), Failed, "connection refused"},
		{"responseTimeout", httpJSON(plain.URL+"/slow", map[string]any{"responseTimeout": 2000, "method": get("==", "200")}), Failed, "responseTimeout of 2s elapsed"},
		{"password and query redacted", httpJSON(strings.Replace(closedURL, "http://", "http://user:pw@", 1)+"/?token=abc", map[string]any{"method": get("==", "200")}), Failed, "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runOnce(t, tt.probe)
			if res.Verdict != tt.want || !strings.Contains(res.Description, tt.description) {
				t.Fatalf("result = %s %q, want %s containing %q", res.Verdict, res.Description, tt.want, tt.description)
			}
			for _, secret := range []string{"s3cr3t-value", ":pw@", "token=abc"} {
				if strings.Contains(res.Description, secret) {
					t.Fatalf("description leaks %q: %s", secret, res.Description)
				}
			}
		})
	}
}

func TestHTTPProbeKeepsCallerTransportSettings(t *testing.T) {
	secure := echoServer(t, true)
	// The caller's client trusts the test server's certificate; the probe must use it.
	defs, err := Parse([]byte("[" + httpJSON(secure.URL, map[string]any{"method": get("==", "200")}) + "]"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(defs, Deps{Clock: clock.NewScaled(speed), HTTPClient: secure.Client()})
	r.PreChaos(t.Context())
	if res := r.Results()[0]; res.Verdict != Passed {
		t.Fatalf("result = %+v", res)
	}
}

func TestHTTPProbeTimeoutOnSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts connections, never answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	res := runOnce(t, fmt.Sprintf(`{"name": "h", "type": "httpProbe", "mode": "SOT",
		"httpProbe/inputs": {"url": "http://%s/", "method": {"get": {"criteria": "==", "responseCode": "200"}}},
		"runProperties": {"probeTimeout": "3s", "interval": "1s"}}`, l.Addr()))
	if res.Verdict != Failed || !strings.Contains(res.Description, "probeTimeout of 3s elapsed") {
		t.Fatalf("result = %+v", res)
	}
}
