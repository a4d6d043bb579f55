// Package alarms watches CloudWatch alarms while the fault holds, for the EXPECT_ALARMS expectation: "does the
// alarm fire?" is one of the spec's questions. It reads with cloudwatch:DescribeAlarms only, a permission that is
// optional: without it the expectation fails and says which permission would let it judge.
package alarms

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// API is the one CloudWatch call the watcher makes; *cloudwatch.Client satisfies it.
type API interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// Watcher polls named alarms until Stop and remembers which reached ALARM and when.
type Watcher struct {
	api   API
	names []string
	every time.Duration
	clock clock.Clock

	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	reached map[string]time.Time
	seen    map[string]bool
	lastErr error
}

// Observation is what a watch saw.
type Observation struct {
	// Reached maps each alarm that was in ALARM at a poll to the first time it was seen there.
	Reached map[string]time.Time
	// Unknown lists names CloudWatch did not return (a typo, or another region).
	Unknown []string
	// Err is the last polling error, if every poll failed.
	Err error
}

// Start polls the alarms every interval (and once right away) until Stop is called or ctx ends.
func Start(ctx context.Context, api API, names []string, every time.Duration, c clock.Clock) *Watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{api: api, names: names, every: every, clock: c, cancel: cancel, done: make(chan struct{}),
		reached: map[string]time.Time{}, seen: map[string]bool{}}
	go w.loop(ctx)
	return w
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	for {
		w.poll(ctx)
		if !clock.Sleep(w.clock, w.every, ctx.Done()) {
			return
		}
	}
}

func (w *Watcher) poll(ctx context.Context) {
	// DescribeAlarms takes at most 100 names per call.
	for start := 0; start < len(w.names); start += 100 {
		end := min(start+100, len(w.names))
		out, err := w.api.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: w.names[start:end]})
		w.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				w.lastErr = err
			}
			w.mu.Unlock()
			continue
		}
		w.lastErr = nil
		now := w.clock.Now()
		for _, a := range out.MetricAlarms {
			w.record(deref(a.AlarmName), a.StateValue, now)
		}
		for _, a := range out.CompositeAlarms {
			w.record(deref(a.AlarmName), a.StateValue, now)
		}
		w.mu.Unlock()
	}
}

func (w *Watcher) record(name string, state cwtypes.StateValue, now time.Time) {
	w.seen[name] = true
	if _, ok := w.reached[name]; !ok && state == cwtypes.StateValueAlarm {
		w.reached[name] = now
	}
}

// Stop ends the watch (after one last poll) and returns what it saw.
func (w *Watcher) Stop(ctx context.Context) Observation {
	w.cancel()
	<-w.done
	w.poll(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	obs := Observation{Reached: map[string]time.Time{}, Err: w.lastErr}
	for name, at := range w.reached {
		obs.Reached[name] = at
	}
	for _, name := range w.names {
		if !w.seen[name] {
			obs.Unknown = append(obs.Unknown, name)
		}
	}
	return obs
}

// Judge words the expectation's verdict: every named alarm must have reached ALARM during the watch.
func Judge(names []string, obs Observation, since time.Time) (passed bool, description string) {
	if obs.Err != nil && len(obs.Reached) == 0 {
		var apiErr smithy.APIError
		if errors.As(obs.Err, &apiErr) && strings.Contains(apiErr.ErrorCode(), "AccessDenied") {
			return false, "could not read the alarms: the credentials need cloudwatch:DescribeAlarms (optional permission, needed for EXPECT_ALARMS)"
		}
		return false, fmt.Sprintf("could not read the alarms: %v", obs.Err)
	}
	var fired, silent []string
	for _, name := range names {
		if at, ok := obs.Reached[name]; ok {
			fired = append(fired, fmt.Sprintf("%s after %.0fs", name, at.Sub(since).Seconds()))
		} else {
			silent = append(silent, name)
		}
	}
	var unknown []string
	for _, name := range obs.Unknown {
		if slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	switch {
	case len(unknown) > 0:
		return false, fmt.Sprintf("CloudWatch has no alarm named %s in this region", strings.Join(unknown, ", "))
	case len(silent) > 0:
		return false, fmt.Sprintf("never reached ALARM during the fault: %s", strings.Join(silent, ", "))
	}
	return true, "reached ALARM: " + strings.Join(fired, ", ")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
