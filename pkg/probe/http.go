package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// maxBody bounds how much of a response (or a bodyPath file) is read.
const maxBody = 1 << 20

type httpChecker struct {
	in     *HTTPInputs
	client *http.Client
	clock  clock.Clock
	shown  string // the URL without credentials, for descriptions
}

func newHTTPChecker(def Definition, deps Deps) *httpChecker {
	return &httpChecker{
		in:     def.HTTP,
		client: clientFor(deps.HTTPClient, def.HTTP.InsecureSkipVerify),
		clock:  deps.Clock,
		shown:  redactURL(def.HTTP.URL),
	}
}

// clientFor returns base, or a copy whose transport skips certificate verification. Timeouts come from
// each request's context, so the client's own Timeout is left as the caller set it.
func clientFor(base *http.Client, insecureSkipVerify bool) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	if !insecureSkipVerify {
		return base
	}
	var transport *http.Transport
	if t, ok := base.Transport.(*http.Transport); ok {
		transport = t.Clone()
	} else {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if transport.TLSClientConfig == nil {
		transport.TLSClientConfig = &tls.Config{}
	}
	transport.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // the probe's own insecureSkipVerify asks for it
	c := *base
	c.Transport = transport
	return &c
}

func (h *httpChecker) check(ctx context.Context) (string, error) {
	if h.in.ResponseTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = withClockTimeout(ctx, h.clock, h.in.ResponseTimeout, "responseTimeout")
		defer cancel()
	}
	var body io.Reader
	if h.in.Method == http.MethodPost {
		text := h.in.Body
		if h.in.BodyPath != "" {
			data, err := readLimited(h.in.BodyPath)
			if err != nil {
				return "", fmt.Errorf("could not read the request body from bodyPath: %w", err)
			}
			text = data
		}
		body = strings.NewReader(text)
	}
	req, err := http.NewRequestWithContext(ctx, h.in.Method, h.in.URL, body)
	if err != nil {
		return "", fmt.Errorf("could not build the request to %s: %w", h.shown, errors.Unwrap(err))
	}
	for _, header := range h.in.Headers {
		if strings.EqualFold(header.Name, "Host") {
			req.Host = header.Value
			continue
		}
		req.Header.Set(header.Name, header.Value)
	}
	if h.in.ContentType != "" {
		req.Header.Set("Content-Type", h.in.ContentType)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return "", fmt.Errorf("%s %s: no answer: %w", h.in.Method, h.shown, cause)
		}
		return "", fmt.Errorf("%s %s: %v", h.in.Method, h.shown, describeTransportError(err))
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))

	if h.in.ResponseCode != nil {
		ok, detail := h.in.ResponseCode.compare(strconv.Itoa(resp.StatusCode))
		return result(ok, fmt.Sprintf("%s %s answered %d: %s", h.in.Method, h.shown, resp.StatusCode, detail))
	}
	if readErr != nil {
		return "", fmt.Errorf("%s %s answered %d but its body could not be read: %v", h.in.Method, h.shown, resp.StatusCode, readErr)
	}
	ok, detail := h.in.ResponseBody.compare(string(data))
	return result(ok, fmt.Sprintf("%s %s answered %d; body: %s", h.in.Method, h.shown, resp.StatusCode, detail))
}

func result(ok bool, description string) (string, error) {
	if ok {
		return description, nil
	}
	return "", errors.New(description)
}

// describeTransportError drops net/url's repetition of method and URL (the URL may carry a token) and
// keeps the cause, such as a certificate or connection error.
func describeTransportError(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// redactURL hides the password of a URL and every query value, which may be tokens.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for key := range q {
			q[key] = []string{"xxxxx"}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

func readLimited(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBody))
	return string(data), err
}
