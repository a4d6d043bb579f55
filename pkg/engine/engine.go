// Package engine reads the Litmus ChaosEngine that started the run (its UID
// and this experiment's raw probe definitions) and tells the run when the
// engine asks it to stop (spec.engineState: stop).
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

// GVR is the ChaosEngine resource.
var GVR = schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosengines"}

// StateStop is the spec.engineState with which a user stops a running engine.
const StateStop = "stop"

// ErrNotFound means the named ChaosEngine does not exist.
var ErrNotFound = errors.New("chaosengine not found")

// Engine is what the run needs from its ChaosEngine.
type Engine struct {
	Name      string
	Namespace string
	UID       string
	// State is spec.engineState ("active", "stop" or empty).
	State string
	// ExperimentFound says whether spec.experiments lists the experiment.
	ExperimentFound bool
	// Probes is the experiment's spec.probe as raw JSON (an array), nil when
	// it has none; parsing is the probe package's job.
	Probes json.RawMessage
}

// Options tune how Watch follows the engine.
type Options struct {
	// Clock paces the retries; defaults to the wall clock.
	Clock clock.Clock
	// PollInterval is the pause before re-reading the engine after a failed
	// or ended watch; the re-read is also the fallback when watching is not
	// allowed. Defaults to 2 s: one cheap GET, and the delay a stop can take
	// where the Role has no `watch`.
	PollInterval time.Duration
	// WatchTimeout bounds each watch request; the engine is then read again
	// (a resync) and a new watch started. Defaults to 5 minutes.
	WatchTimeout time.Duration
	// Logger hears, once each, that reading or watching the engine failed
	// (a Role without `watch` slows a stop down to PollInterval); nil is silent.
	Logger logrus.FieldLogger
}

// Client reads one ChaosEngine.
type Client struct {
	engines   dynamic.ResourceInterface
	namespace string
	name      string
	opts      Options
	// warned keeps each kind of failure to one log line.
	mu     sync.Mutex
	warned map[string]bool
}

// New returns a client for the ChaosEngine name in namespace.
func New(client dynamic.Interface, namespace, name string, opts Options) *Client {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.WatchTimeout <= 0 {
		opts.WatchTimeout = 5 * time.Minute
	}
	return &Client{engines: client.Resource(GVR).Namespace(namespace), namespace: namespace, name: name, opts: opts, warned: map[string]bool{}}
}

// Get reads the engine and the probes it defines for experiment.
func (c *Client) Get(ctx context.Context, experiment string) (*Engine, error) {
	obj, err := c.engines.Get(ctx, c.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, c.namespace, c.name)
	}
	if err != nil {
		return nil, fmt.Errorf("read chaosengine %s/%s: %w", c.namespace, c.name, err)
	}
	return parse(obj, experiment)
}

func parse(obj *unstructured.Unstructured, experiment string) (*Engine, error) {
	e := &Engine{Name: obj.GetName(), Namespace: obj.GetNamespace(), UID: string(obj.GetUID()), State: engineState(obj)}
	experiments, _, err := unstructured.NestedSlice(obj.Object, "spec", "experiments")
	if err != nil {
		return nil, fmt.Errorf("chaosengine %s/%s: spec.experiments: %w", e.Namespace, e.Name, err)
	}
	for _, item := range experiments {
		exp, ok := item.(map[string]any)
		if !ok || exp["name"] != experiment {
			continue
		}
		e.ExperimentFound = true
		probes, found, err := unstructured.NestedFieldNoCopy(exp, "spec", "probe")
		if err != nil {
			return nil, fmt.Errorf("chaosengine %s/%s: probes of %s: %w", e.Namespace, e.Name, experiment, err)
		}
		if found && probes != nil {
			raw, err := json.Marshal(probes)
			if err != nil {
				return nil, fmt.Errorf("chaosengine %s/%s: probes of %s: %w", e.Namespace, e.Name, experiment, err)
			}
			e.Probes = raw
		}
		break
	}
	return e, nil
}

func engineState(obj *unstructured.Unstructured) string {
	state, _, _ := unstructured.NestedString(obj.Object, "spec", "engineState")
	return state
}

// Watch returns a channel that is closed once the engine's spec.engineState
// is "stop" or the engine is deleted (Litmus aborts a run either way). It
// watches the engine and, whenever a watch fails or times out, reads it again
// after PollInterval, so a lost watch or missing watch permission delays the
// signal by at most PollInterval instead of losing it. The channel is never
// closed otherwise; the watching ends with ctx.
func (c *Client) Watch(ctx context.Context) <-chan struct{} {
	stop := make(chan struct{})
	go func() {
		for {
			if c.stopRequested(ctx) {
				close(stop)
				return
			}
			if !clock.Sleep(c.opts.Clock, c.opts.PollInterval, ctx.Done()) {
				return
			}
		}
	}()
	return stop
}

// stopRequested reads the engine and then follows it with one bounded
// watch; it reports whether a stop was seen.
func (c *Client) stopRequested(ctx context.Context) bool {
	obj, err := c.engines.Get(ctx, c.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true
	}
	if err != nil {
		c.warnOnce("read", "reading ChaosEngine %s/%s failed (%v): trying again every %s", c.namespace, c.name, err, c.opts.PollInterval)
		return false
	}
	if engineState(obj) == StateStop {
		return true
	}
	timeout := int64(c.opts.WatchTimeout / time.Second)
	w, err := c.engines.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", c.name).String(),
		ResourceVersion: obj.GetResourceVersion(),
		TimeoutSeconds:  &timeout,
	})
	if err != nil {
		c.warnOnce("watch", "watching ChaosEngine %s/%s failed (%v): a stop is seen by re-reading it every %s instead (grant `watch` on chaosengines)", c.namespace, c.name, err, c.opts.PollInterval)
		return false
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false
			}
			switch ev.Type {
			case watch.Deleted:
				return true
			case watch.Added, watch.Modified:
				if u, ok := ev.Object.(*unstructured.Unstructured); ok && engineState(u) == StateStop {
					return true
				}
			case watch.Error:
				// Usually "resource version too old": read it again.
				return false
			}
		}
	}
}

func (c *Client) warnOnce(kind, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.Logger == nil || c.warned[kind] {
		return
	}
	c.warned[kind] = true
	c.opts.Logger.Warnf(format, args...)
}
