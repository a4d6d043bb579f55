package result

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
)

// DefaultFieldManager names this writer in the objects' managed fields.
const DefaultFieldManager = "ecs-invalid-container-image"

// DefaultConflictBackoff spreads retries of two writers racing on one result
// so they stop colliding; its budget (about 2.5 s) covers many rounds.
var DefaultConflictBackoff = wait.Backoff{Steps: 12, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1, Cap: time.Second}

// KubeOption changes a Kubernetes writer's defaults.
type KubeOption func(*kubeWriter)

// WithConflictBackoff sets how write conflicts are retried (tests use zero
// durations).
func WithConflictBackoff(b wait.Backoff) KubeOption {
	return func(w *kubeWriter) { w.backoff = b }
}

// NewKubeWriter writes ChaosResults through the dynamic client into
// namespace (unless the ChaosResult names its own).
//
// Litmus's CRD has no status subresource, so the status is written with the
// object. Where a CRD does have one, the apiserver drops status changes on
// Update; the writer notices the stored status differs from what it wrote
// and writes it again with UpdateStatus.
func NewKubeWriter(client dynamic.Interface, namespace string, opts ...KubeOption) Writer {
	w := &kubeWriter{
		client:       client,
		namespace:    namespace,
		backoff:      DefaultConflictBackoff,
		fieldManager: DefaultFieldManager,
		runID:        newRunID(),
	}
	for _, opt := range opts {
		opt(w)
	}
	return w
}

type kubeWriter struct {
	client       dynamic.Interface
	namespace    string
	backoff      wait.Backoff
	fieldManager string

	mu    sync.Mutex
	runID string
}

func (w *kubeWriter) Start(ctx context.Context, r *ChaosResult) error {
	w.mu.Lock()
	w.runID = newRunID()
	w.mu.Unlock()
	return w.write(ctx, r, opStart)
}

func (w *kubeWriter) Update(ctx context.Context, r *ChaosResult) error {
	return w.write(ctx, r, opUpdate)
}

func (w *kubeWriter) Finish(ctx context.Context, r *ChaosResult) error {
	return w.write(ctx, r, opFinish)
}

// Read returns the stored ChaosResult name in the writer's namespace.
func (w *kubeWriter) Read(ctx context.Context, name string) (Stored, bool, error) {
	obj, err := w.client.Resource(GVR).Namespace(w.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Stored{}, false, nil
	}
	if err != nil {
		return Stored{}, false, fmt.Errorf("read chaosresult %s/%s: %w", w.namespace, name, err)
	}
	st, err := FromUnstructured(obj)
	return st, err == nil, err
}

// retryable marks an error worth another Get-modify-write round: a conflict,
// or the object appearing or vanishing between the Get and the write.
type retryable struct{ err error }

func (e retryable) Error() string { return e.err.Error() }
func (e retryable) Unwrap() error { return e.err }

func (w *kubeWriter) write(ctx context.Context, r *ChaosResult, op operation) error {
	if err := r.validate(); err != nil {
		return err
	}
	namespace := r.Namespace
	if namespace == "" {
		namespace = w.namespace
	}
	if namespace == "" {
		return fmt.Errorf("%w: no namespace", ErrInvalid)
	}
	w.mu.Lock()
	runID := w.runID
	w.mu.Unlock()

	name := r.name()
	results := w.client.Resource(GVR).Namespace(namespace)
	err := retry.OnError(w.backoff, func(err error) bool {
		var re retryable
		return errors.As(err, &re) && ctx.Err() == nil
	}, func() error {
		current, err := results.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			desired := &unstructured.Unstructured{}
			if err := apply(desired, r, namespace, op, runID); err != nil {
				return err
			}
			created, err := results.Create(ctx, desired, metav1.CreateOptions{FieldManager: w.fieldManager})
			if apierrors.IsAlreadyExists(err) {
				return retryable{err}
			}
			if err != nil {
				return fmt.Errorf("create: %w", err)
			}
			return w.writeStatusIfDropped(ctx, results, desired, created)
		}
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		if err := apply(current, r, namespace, op, runID); err != nil {
			return err
		}
		updated, err := results.Update(ctx, current, metav1.UpdateOptions{FieldManager: w.fieldManager})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return retryable{err}
		}
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		return w.writeStatusIfDropped(ctx, results, current, updated)
	})
	if err != nil {
		return fmt.Errorf("write chaosresult %s/%s: %w", namespace, name, err)
	}
	return nil
}

// writeStatusIfDropped writes the status through the status subresource when
// the apiserver kept the old status on Create or Update, which is what a CRD
// with a status subresource does.
func (w *kubeWriter) writeStatusIfDropped(ctx context.Context, results dynamic.ResourceInterface, desired, stored *unstructured.Unstructured) error {
	want := desired.Object["status"]
	if equality.Semantic.DeepEqual(want, stored.Object["status"]) {
		return nil
	}
	stored.Object["status"] = want
	_, err := results.UpdateStatus(ctx, stored, metav1.UpdateOptions{FieldManager: w.fieldManager})
	switch {
	case apierrors.IsConflict(err):
		return retryable{err}
	case apierrors.IsNotFound(err):
		// Either the object vanished (try again) or the CRD has no status
		// subresource and still changed the status we wrote, for example a
		// schema that prunes fields: retrying cannot help then.
		if _, getErr := results.Get(ctx, stored.GetName(), metav1.GetOptions{}); apierrors.IsNotFound(getErr) {
			return retryable{err}
		}
		return fmt.Errorf("the apiserver did not store the status as written and has no status subresource (does the CRD prune status fields?): %w", err)
	case err != nil:
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}
