package result

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// NewFileWriter writes the ChaosResult as YAML (the same object the
// Kubernetes writer stores) to path, replacing the file atomically at every
// Start, Update and Finish so a reader never sees half a result. An existing
// file holding a result of the same name gives the history to continue, so
// re-runs outside a cluster count like re-runs inside one.
func NewFileWriter(path string) Writer {
	return &fileWriter{path: path, runID: newRunID()}
}

// NewStreamWriter writes the final ChaosResult as one YAML document to w at
// Finish (stdout is the default outside a cluster; one document is what a
// pipe into other tools expects). Start and Update only keep the state.
func NewStreamWriter(w io.Writer) Writer {
	return &fileWriter{stream: w, runID: newRunID()}
}

type fileWriter struct {
	path   string
	stream io.Writer

	mu    sync.Mutex
	obj   *unstructured.Unstructured
	runID string
}

func (w *fileWriter) Start(ctx context.Context, r *ChaosResult) error {
	w.mu.Lock()
	w.runID = newRunID()
	w.mu.Unlock()
	return w.write(ctx, r, opStart)
}

func (w *fileWriter) Update(ctx context.Context, r *ChaosResult) error {
	return w.write(ctx, r, opUpdate)
}

func (w *fileWriter) Finish(ctx context.Context, r *ChaosResult) error {
	return w.write(ctx, r, opFinish)
}

func (w *fileWriter) write(ctx context.Context, r *ChaosResult, op operation) error {
	if err := r.validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write chaosresult %s: %w", r.name(), err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.obj == nil || w.obj.GetName() != r.name() {
		w.obj = w.load(r.name())
	}
	// Work on a copy so a failed write leaves the kept state as it was.
	next := w.obj.DeepCopy()
	if err := apply(next, r, r.Namespace, op, w.runID); err != nil {
		return err
	}
	data, err := marshalYAML(next.Object)
	if err != nil {
		return fmt.Errorf("encode chaosresult %s: %w", r.name(), err)
	}
	switch {
	case w.path != "":
		if err := writeAtomic(w.path, data); err != nil {
			return fmt.Errorf("write chaosresult %s: %w", r.name(), err)
		}
	case op == opFinish:
		if _, err := w.stream.Write(append([]byte("---\n"), data...)); err != nil {
			return fmt.Errorf("write chaosresult %s: %w", r.name(), err)
		}
	}
	w.obj = next
	return nil
}

// Read returns the result of this name kept in the file; a stream keeps none.
func (w *fileWriter) Read(ctx context.Context, name string) (Stored, bool, error) {
	if err := ctx.Err(); err != nil {
		return Stored{}, false, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	obj := w.obj
	if obj == nil || obj.GetName() != name {
		obj = w.load(name)
	}
	if obj.GetName() != name {
		return Stored{}, false, nil
	}
	st, err := FromUnstructured(obj)
	return st, err == nil, err
}

// load returns the result of this name found in the file, or an empty
// object: a missing, unreadable or foreign file starts a fresh history.
func (w *fileWriter) load(name string) *unstructured.Unstructured {
	empty := &unstructured.Unstructured{Object: map[string]any{}}
	if w.path == "" {
		return empty
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		return empty
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil || obj == nil {
		return empty
	}
	normalized, err := toJSONValue(obj)
	if err != nil {
		return empty
	}
	u := &unstructured.Unstructured{Object: normalized.(map[string]any)}
	if u.GetKind() != Kind || u.GetName() != name {
		return empty
	}
	return u
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, writeErr := tmp.Write(data)
	closeErr := tmp.Close()
	if err := errors.Join(writeErr, closeErr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// ReadYAML decodes a result written by a file or stream writer (the last
// document when there are several).
func ReadYAML(data []byte) (Stored, error) {
	docs := splitDocuments(data)
	if len(docs) == 0 {
		return Stored{}, errors.New("decode chaosresult: no YAML document")
	}
	var obj map[string]any
	if err := yaml.Unmarshal(docs[len(docs)-1], &obj); err != nil {
		return Stored{}, fmt.Errorf("decode chaosresult: %w", err)
	}
	return FromUnstructured(&unstructured.Unstructured{Object: obj})
}

func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range bytes.Split(append([]byte("\n"), data...), []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
	return docs
}
