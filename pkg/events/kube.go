package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Object is what events are about (the involvedObject).
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	UID        string
}

// ChaosEngine is the usual subject of a run's events.
func ChaosEngine(namespace, name, uid string) Object {
	return Object{APIVersion: "litmuschaos.io/v1alpha1", Kind: "ChaosEngine", Namespace: namespace, Name: name, UID: uid}
}

// ChaosResult is the subject of a run's events when there is no engine.
func ChaosResult(namespace, name, uid string) Object {
	return Object{APIVersion: "litmuschaos.io/v1alpha1", Kind: "ChaosResult", Namespace: namespace, Name: name, UID: uid}
}

// Clock tells the time of events; clock.Clock satisfies it.
type Clock interface{ Now() time.Time }

// DefaultComponent is the event source's component.
const DefaultComponent = "ecs-invalid-container-image"

// Limits that keep a write or a message from ever blocking or being refused.
const (
	defaultWriteTimeout = 10 * time.Second
	maxMessageBytes     = 1024
	maxNameBytes        = 253
)

// Options of a Kubernetes recorder.
type Options struct {
	// Component and Host fill the event source (Host is usually the pod name).
	Component string
	Host      string
	// Clock defaults to the wall clock.
	Clock Clock
	// Logger receives the failures; nil discards them.
	Logger logrus.FieldLogger
	// WriteTimeout bounds each API call.
	WriteTimeout time.Duration
}

// KubeRecorder writes events through the core/v1 API from one background
// goroutine, so recording never waits on the apiserver. An event with the
// same type, reason and message as an earlier one raises that event's count
// and lastTimestamp instead of creating another.
type KubeRecorder struct {
	client dynamic.Interface
	object Object
	opts   Options

	mu      sync.Mutex
	entries map[entryKey]*entry
	order   []entryKey
	seq     int
	running bool
	done    chan struct{}
	cancel  context.CancelFunc
	failed  []error
}

type entryKey struct{ eventType, reason, message string }

type entry struct {
	name    string
	count   int32
	first   time.Time
	last    time.Time
	dirty   bool
	created bool
}

// eventsGVR is core/v1 events. The recorder writes them through the dynamic client: client-go's typed clientset
// would link every Kubernetes API group's scheme into the binary (about 16 MB) for this one resource.
var eventsGVR = schema.GroupVersionResource{Version: "v1", Resource: "events"}

// NewKubeRecorder records events about object with client.
func NewKubeRecorder(client dynamic.Interface, object Object, opts Options) *KubeRecorder {
	if opts.Component == "" {
		opts.Component = DefaultComponent
	}
	if opts.Clock == nil {
		opts.Clock = wallClock{}
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = defaultWriteTimeout
	}
	return &KubeRecorder{client: client, object: object, opts: opts, entries: map[entryKey]*entry{}}
}

// Normal records an informational event.
func (r *KubeRecorder) Normal(ctx context.Context, reason, msg string) {
	r.record(ctx, corev1.EventTypeNormal, reason, msg)
}

// Warning records a warning event.
func (r *KubeRecorder) Warning(ctx context.Context, reason, msg string) {
	r.record(ctx, corev1.EventTypeWarning, reason, msg)
}

func (r *KubeRecorder) record(ctx context.Context, eventType, reason, msg string) {
	msg = truncate(msg, maxMessageBytes)
	now := r.opts.Clock.Now()
	key := entryKey{eventType, reason, msg}

	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[key]
	if !ok {
		r.seq++
		e = &entry{name: r.eventName(now), first: now}
		r.entries[key] = e
		r.order = append(r.order, key)
	}
	e.count++
	e.last = now
	e.dirty = true
	if !r.running {
		// The writer outlives the caller's context (an event about a
		// cancellation must still go out) until Flush ends it.
		workCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r.running, r.cancel, r.done = true, cancel, make(chan struct{})
		go r.drain(workCtx, r.done)
	}
}

// Flush waits until every recorded event is written or ctx ends; then it
// stops the writer. It returns the errors of events that could not be
// written (they were logged already) or ctx's error.
func (r *KubeRecorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	done, cancel := r.done, r.cancel
	r.mu.Unlock()
	var ctxErr error
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			ctxErr = fmt.Errorf("flush events: %w", ctx.Err())
			cancel()
			<-done
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := append([]error{ctxErr}, r.failed...)
	r.failed = nil
	return errors.Join(errs...)
}

// drain writes dirty entries, oldest first, until none is left.
func (r *KubeRecorder) drain(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		r.mu.Lock()
		var key entryKey
		var snapshot entry
		found := false
		for _, k := range r.order {
			if e := r.entries[k]; e.dirty {
				key, snapshot, found = k, *e, true
				e.dirty = false
				break
			}
		}
		if !found || ctx.Err() != nil {
			r.running = false
			r.cancel()
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()

		err := r.write(ctx, key, snapshot)

		r.mu.Lock()
		e := r.entries[key]
		if err == nil {
			e.created = true
		} else {
			err = fmt.Errorf("event %s %q: %w", key.reason, key.message, err)
			r.failed = append(r.failed, err)
			if r.opts.Logger != nil {
				r.opts.Logger.WithError(err).Warn("could not record a Kubernetes event")
			}
		}
		r.mu.Unlock()
	}
}

func (r *KubeRecorder) write(ctx context.Context, key entryKey, e entry) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.WriteTimeout)
	defer cancel()
	events := r.client.Resource(eventsGVR).Namespace(r.object.Namespace)
	if e.created {
		patch, err := json.Marshal(map[string]any{
			"count":         e.count,
			"lastTimestamp": metav1.NewTime(e.last),
		})
		if err != nil {
			return err
		}
		_, err = events.Patch(ctx, e.name, types.MergePatchType, patch, metav1.PatchOptions{})
		if !apierrors.IsNotFound(err) {
			return err
		}
		// The event expired (events have a TTL) or was deleted: create it again.
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: e.name, Namespace: r.object.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: r.object.APIVersion,
			Kind:       r.object.Kind,
			Name:       r.object.Name,
			Namespace:  r.object.Namespace,
			UID:        types.UID(r.object.UID),
		},
		Reason:         key.reason,
		Message:        key.message,
		Type:           key.eventType,
		Count:          e.count,
		FirstTimestamp: metav1.NewTime(e.first),
		LastTimestamp:  metav1.NewTime(e.last),
		Source:         corev1.EventSource{Component: r.opts.Component, Host: r.opts.Host},
	}
	fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	obj := &unstructured.Unstructured{Object: fields}
	obj.SetAPIVersion("v1")
	obj.SetKind("Event")
	_, err = events.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// An earlier create landed but its answer was lost; count on it.
		_, err = events.Update(ctx, obj, metav1.UpdateOptions{})
	}
	return err
}

// eventName follows client-go's <object>.<hex time> so events sort by time;
// the sequence number keeps names unique when the clock does not move.
func (r *KubeRecorder) eventName(now time.Time) string {
	suffix := fmt.Sprintf(".%016x%04x", now.UnixNano(), r.seq)
	base := r.object.Name
	if len(base)+len(suffix) > maxNameBytes {
		base = base[:maxNameBytes-len(suffix)]
	}
	return base + suffix
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
