// Package report tests the HTML report in a real browser: Debian's headless Chromium (installed by
// test/prepare.sh) opens reports of typical runs and the test drives it over the DevTools protocol, with a small
// client on golang.org/x/net/websocket. A test whose browser cannot start fails; it never skips.
package report

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// Binary is where Debian's package installs the browser.
const Binary = "/usr/bin/chromium"

const (
	startTimeout = 60 * time.Second
	callTimeout  = 30 * time.Second
)

// Browser is a running headless Chromium.
type Browser struct {
	http string // http://127.0.0.1:PORT, the DevTools HTTP endpoint
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on ws://(127\.0\.0\.1:\d+)/`)

// Start runs headless Chromium with a fresh profile, no network services of its own and the DevTools protocol on
// a free loopback port, and stops it in t.Cleanup.
func Start(t testing.TB) *Browser {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("chromium: %s is missing (run test/prepare.sh, which installs Debian's chromium package): %v", Binary, err)
	}
	cmd := exec.Command(Binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: start %s: %v", Binary, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	found := make(chan string, 1)
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := devtoolsLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case addr := <-found:
		return &Browser{http: "http://" + addr}
	case <-exited:
	case <-time.After(startTimeout):
	}
	logMu.Lock()
	defer logMu.Unlock()
	t.Fatalf("chromium did not start its DevTools endpoint within %s:\n%s", startTimeout, log.String())
	return nil
}

// Page is one tab driven over its DevTools websocket.
type Page struct {
	t      testing.TB
	ws     *websocket.Conn
	mu     sync.Mutex
	nextID int
	calls  map[int]chan reply
	events chan event
	errs   []string
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

type event struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// NewPage opens a blank tab, enables the domains the tests read, and closes it in t.Cleanup.
func (b *Browser) NewPage(t testing.TB) *Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.http+"/json/new?about:blank", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("chromium: open a tab: %v", err)
	}
	defer resp.Body.Close()
	var target struct {
		ID  string `json:"id"`
		WS  string `json:"webSocketDebuggerUrl"`
		Msg string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&target); err != nil || target.WS == "" {
		t.Fatalf("chromium: open a tab: status %s, %v %s", resp.Status, err, target.Msg)
	}
	ws, err := websocket.Dial(target.WS, "", b.http)
	if err != nil {
		t.Fatalf("chromium: DevTools websocket: %v", err)
	}
	ws.MaxPayloadBytes = 64 << 20 // full-page screenshots
	p := &Page{t: t, ws: ws, calls: map[int]chan reply{}, events: make(chan event, 1024)}
	go p.read()
	t.Cleanup(func() { ws.Close() })
	for _, domain := range []string{"Page", "Runtime", "Log"} {
		p.Call(domain+".enable", nil, nil)
	}
	return p
}

func (p *Page) read() {
	for {
		var msg struct {
			ID int `json:"id"`
			reply
			event
		}
		if err := websocket.JSON.Receive(p.ws, &msg); err != nil {
			p.mu.Lock()
			for id, c := range p.calls {
				close(c)
				delete(p.calls, id)
			}
			p.mu.Unlock()
			close(p.events)
			return
		}
		if msg.ID != 0 {
			p.mu.Lock()
			c := p.calls[msg.ID]
			delete(p.calls, msg.ID)
			p.mu.Unlock()
			if c != nil {
				c <- msg.reply
			}
			continue
		}
		p.record(msg.event)
		select {
		case p.events <- msg.event:
		default: // nobody waits for it; the errors were recorded above
		}
	}
}

// record keeps what counts as a console error: an uncaught exception, console.error, or a browser log entry at
// error level (a blocked load, a policy violation).
func (p *Page) record(e event) {
	var text string
	switch e.Method {
	case "Runtime.exceptionThrown":
		text = string(e.Params)
	case "Runtime.consoleAPICalled":
		var c struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(e.Params, &c)
		if c.Type == "error" || c.Type == "assert" {
			text = string(e.Params)
		}
	case "Log.entryAdded":
		var l struct {
			Entry struct {
				Level string `json:"level"`
				Text  string `json:"text"`
				URL   string `json:"url"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(e.Params, &l)
		if l.Entry.Level == "error" {
			text = l.Entry.Text + " " + l.Entry.URL
		}
	}
	if text != "" {
		p.mu.Lock()
		p.errs = append(p.errs, text)
		p.mu.Unlock()
	}
}

// ConsoleErrors returns the console errors seen so far.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Call sends one DevTools command and decodes its result into out (when not nil); an error fails the test.
func (p *Page) Call(method string, params, out any) {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	c := make(chan reply, 1)
	p.calls[id] = c
	p.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	if err := websocket.JSON.Send(p.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		p.t.Fatalf("chromium: %s: %v", method, err)
	}
	select {
	case r, ok := <-c:
		if !ok {
			p.t.Fatalf("chromium: %s: the connection closed", method)
		}
		if r.Error != nil {
			p.t.Fatalf("chromium: %s: %s", method, r.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				p.t.Fatalf("chromium: %s: decode %s: %v", method, r.Result, err)
			}
		}
	case <-time.After(callTimeout):
		p.t.Fatalf("chromium: %s: no answer within %s", method, callTimeout)
	}
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(url string) {
	p.t.Helper()
	// Events of an earlier page must not count as this one's load.
	for len(p.events) > 0 {
		<-p.events
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	p.Call("Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		p.t.Fatalf("chromium: navigate to %s: %s", url, nav.ErrorText)
	}
	deadline := time.After(callTimeout)
	for {
		select {
		case e, ok := <-p.events:
			if !ok {
				p.t.Fatalf("chromium: the connection closed while loading %s", url)
			}
			if e.Method == "Page.loadEventFired" {
				return
			}
		case <-deadline:
			p.t.Fatalf("chromium: %s did not load within %s", url, callTimeout)
		}
	}
}

// Eval evaluates a JavaScript expression in the page (the DevTools protocol's, not the page's: the report has no
// script of its own) and decodes its JSON-able value into out.
func (p *Page) Eval(expr string, out any) {
	p.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	p.Call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r)
	if r.Exception != nil {
		p.t.Fatalf("chromium: evaluate: %s", r.Exception.Text)
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		p.t.Fatalf("chromium: evaluate: decode %s: %v", r.Result.Value, err)
	}
}

// Screenshot returns a PNG of the page at the given width, at most maxHeight pixels of it from the top.
func (p *Page) Screenshot(width, maxHeight int) []byte {
	p.t.Helper()
	var height int
	p.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": false}, nil)
	p.Eval(`Math.ceil(document.documentElement.scrollHeight)`, &height)
	height = min(height, maxHeight)
	p.Call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	var shot struct {
		Data []byte `json:"data"` // base64 in JSON, which encoding/json decodes into bytes
	}
	p.Call("Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	if len(shot.Data) == 0 {
		p.t.Fatal("chromium: empty screenshot")
	}
	return shot.Data
}

// String names the browser in failures.
func (b *Browser) String() string { return fmt.Sprintf("chromium at %s", b.http) }
