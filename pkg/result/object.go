package result

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// fieldCountedRun records the run last counted in the history, so a Finish
// retried after an ambiguous failure (the write landed, the answer was lost)
// does not count the same run twice. It lives in the status, not in an
// annotation, because with a status subresource the counters and the marker
// must be written by the same request.
const fieldCountedRun = "lastCountedRun"

// Labels Litmus puts on its ChaosResults besides chaosUID and name.
var litmusLabels = map[string]string{
	"app.kubernetes.io/component": "experiment-job",
	"app.kubernetes.io/part-of":   "litmus",
}

type operation int

const (
	opStart operation = iota
	opUpdate
	opFinish
)

// apply writes r into obj, an existing ChaosResult or an empty object, for
// one operation of the run runID. It only touches the fields this package
// owns, so fields written by other tools survive.
func apply(obj *unstructured.Unstructured, r *ChaosResult, namespace string, op operation, runID string) error {
	if obj.Object == nil {
		obj.Object = map[string]any{}
	}
	obj.SetAPIVersion(APIVersion)
	obj.SetKind(Kind)
	obj.SetName(r.name())
	if namespace != "" {
		obj.SetNamespace(namespace)
	}
	setLabels(obj, r)
	setEngineOwner(obj, r)

	for field, value := range map[string]string{"engine": r.Engine, "experiment": r.Experiment, "instance": r.Instance} {
		if err := unstructured.SetNestedField(obj.Object, value, "spec", field); err != nil {
			return fmt.Errorf("set spec.%s: %w", field, err)
		}
	}
	verdict, err := setExperimentStatus(obj, r, op)
	if err != nil {
		return err
	}
	if err := setObservations(obj, r, op); err != nil {
		return err
	}
	if r.Run.ID != "" {
		// The fault's own run id, the one in the marker, is what the history remembers as counted.
		runID = r.Run.ID
	}
	return updateHistory(obj, r.Targets, op == opFinish, verdict, runID)
}

// experimentStatus is what status.experimentStatus says for op: Running and Awaited at Start, the outcome at
// Finish, and otherwise what r says, with Litmus's placeholders for what it leaves empty.
func experimentStatus(r *ChaosResult, op operation) (Phase, Verdict, string, *ErrorOutput) {
	phase, verdict, percentage, errOut := r.Phase, r.Verdict, r.ProbeSuccessPercentage, r.ErrorOutput
	switch op {
	case opStart:
		phase, verdict, errOut = PhaseRunning, VerdictAwaited, nil
	case opFinish:
		phase, verdict, errOut = r.finished()
		percentage = r.finalPercentage(verdict)
	}
	if phase == "" {
		phase = PhaseRunning
	}
	if verdict == "" {
		verdict = VerdictAwaited
	}
	if percentage == "" {
		percentage = "Awaited"
	}
	return phase, verdict, percentage, errOut
}

// setExperimentStatus writes status.experimentStatus for op and returns the verdict written, which the history
// counts.
func setExperimentStatus(obj *unstructured.Unstructured, r *ChaosResult, op operation) (Verdict, error) {
	phase, verdict, percentage, errOut := experimentStatus(r, op)
	fields := map[string]any{
		"phase":                  string(phase),
		"verdict":                string(verdict),
		"probeSuccessPercentage": percentage,
	}
	for key, value := range fields {
		if err := unstructured.SetNestedField(obj.Object, value, "status", "experimentStatus", key); err != nil {
			return "", fmt.Errorf("set status.experimentStatus.%s: %w", key, err)
		}
	}
	if err := setOrRemove(obj, errOut, errOut != nil, "status", "experimentStatus", "errorOutput"); err != nil {
		return "", err
	}
	return verdict, nil
}

// setObservations writes the probe statuses, the run and the fault's status. A nil list or map leaves what is
// stored alone (an Update that only changes the phase keeps the observations), except at Start: a new run
// begins without the previous run's probes and observations.
func setObservations(obj *unstructured.Unstructured, r *ChaosResult, op operation) error {
	if r.ProbeStatuses != nil || op == opStart {
		if err := setOrRemove(obj, r.ProbeStatuses, len(r.ProbeStatuses) > 0, "status", "probeStatuses"); err != nil {
			return err
		}
	}
	if r.Run != (Run{}) || op == opStart {
		if err := setOrRemove(obj, r.Run, r.Run != (Run{}), "status", fieldRun); err != nil {
			return err
		}
	}
	if r.FaultStatus != nil || op == opStart {
		if err := setOrRemove(obj, r.FaultStatus, r.FaultStatus != nil, "status", fieldFaultStatus); err != nil {
			return err
		}
	}
	return nil
}

func setLabels(obj *unstructured.Unstructured, r *ChaosResult) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range litmusLabels {
		labels[k] = v
	}
	labels[LabelName] = r.name()
	if r.EngineUID != "" {
		labels[LabelChaosUID] = r.EngineUID
	}
	obj.SetLabels(labels)
}

// setEngineOwner points the result at its ChaosEngine, replacing a reference
// to an earlier engine of the same name. It sets no blockOwnerDeletion, which
// would need permissions on the engine's finalizers.
func setEngineOwner(obj *unstructured.Unstructured, r *ChaosResult) {
	if r.EngineUID == "" || r.Engine == "" {
		return
	}
	owner := metav1.OwnerReference{APIVersion: APIVersion, Kind: EngineKind, Name: r.Engine, UID: types.UID(r.EngineUID)}
	refs := []metav1.OwnerReference{owner}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Kind == EngineKind && ref.APIVersion == APIVersion {
			continue
		}
		refs = append(refs, ref)
	}
	obj.SetOwnerReferences(refs)
}

// updateHistory merges targets into status.history.targets and, for a
// finished run not counted yet, bumps the counter of its verdict (Litmus
// counts Error as failed).
func updateHistory(obj *unstructured.Unstructured, targets []Target, finish bool, verdict Verdict, runID string) error {
	history, _, err := unstructured.NestedMap(obj.Object, "status", "history")
	if err != nil {
		// A history of the wrong shape cannot be kept; starting over beats
		// refusing to record the run.
		history = nil
	}
	if history == nil {
		history = map[string]any{}
	}
	counters := map[string]int64{}
	for _, key := range []string{"passedRuns", "failedRuns", "stoppedRuns"} {
		counters[key] = asInt64(history[key])
	}
	counted, _, _ := unstructured.NestedString(obj.Object, "status", fieldCountedRun)
	if finish && counted != runID {
		switch verdict {
		case VerdictPass:
			counters["passedRuns"]++
		case VerdictFail, VerdictError:
			counters["failedRuns"]++
		case VerdictStopped:
			counters["stoppedRuns"]++
		}
		if err := unstructured.SetNestedField(obj.Object, runID, "status", fieldCountedRun); err != nil {
			return fmt.Errorf("set status.%s: %w", fieldCountedRun, err)
		}
	}
	for key, n := range counters {
		history[key] = n
	}

	var stored []Target
	if raw, ok := history["targets"]; ok {
		// Entries that do not decode as targets are dropped, not fatal.
		_ = fromJSONValue(raw, &stored)
	}
	merged := mergeTargets(stored, targets)
	if len(merged) > 0 {
		value, err := toJSONValue(merged)
		if err != nil {
			return err
		}
		history["targets"] = value
	}
	if err := unstructured.SetNestedMap(obj.Object, history, "status", "history"); err != nil {
		return fmt.Errorf("set status.history: %w", err)
	}
	return nil
}

// mergeTargets updates the status of targets already known (same kind and
// name) and appends new ones, keeping the stored order.
func mergeTargets(stored, update []Target) []Target {
	merged := append([]Target(nil), stored...)
	for _, t := range update {
		found := false
		for i := range merged {
			if merged[i].Kind == t.Kind && merged[i].Name == t.Name {
				merged[i].ChaosStatus = t.ChaosStatus
				found = true
				break
			}
		}
		if !found {
			merged = append(merged, t)
		}
	}
	return merged
}

func setOrRemove(obj *unstructured.Unstructured, value any, set bool, fields ...string) error {
	if !set {
		unstructured.RemoveNestedField(obj.Object, fields...)
		return nil
	}
	v, err := toJSONValue(value)
	if err != nil {
		return fmt.Errorf("%w: %v: %w", ErrInvalid, fields, err)
	}
	if err := unstructured.SetNestedField(obj.Object, v, fields...); err != nil {
		return fmt.Errorf("set %v: %w", fields, err)
	}
	return nil
}

// toJSONValue turns v into the values a JSON decoder yields for it, with
// integers as int64 like the apiserver's answers, so what is written compares
// equal to what is read back and unstructured deep copies never panic.
func toJSONValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return convertNumbers(out), nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, item := range x {
			x[k] = convertNumbers(item)
		}
		return x
	case []any:
		for i, item := range x {
			x[i] = convertNumbers(item)
		}
		return x
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	default:
		return v
	}
}

func fromJSONValue(v any, into any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

func asInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	default:
		return 0
	}
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Stored is a ChaosResult as read back from the API or a file.
type Stored struct {
	Result  ChaosResult
	History History
}

// FromUnstructured reads a ChaosResult object into the model and its
// history, for tests and tools that inspect what was written.
func FromUnstructured(obj *unstructured.Unstructured) (Stored, error) {
	var wire struct {
		Spec struct {
			Engine     string `json:"engine"`
			Experiment string `json:"experiment"`
			Instance   string `json:"instance"`
		} `json:"spec"`
		Status struct {
			ExperimentStatus struct {
				Phase                  Phase        `json:"phase"`
				Verdict                Verdict      `json:"verdict"`
				ProbeSuccessPercentage string       `json:"probeSuccessPercentage"`
				ErrorOutput            *ErrorOutput `json:"errorOutput"`
			} `json:"experimentStatus"`
			ProbeStatuses []ProbeStatus  `json:"probeStatuses"`
			History       History        `json:"history"`
			FaultStatus   map[string]any `json:"faultStatus"`
			Run           Run            `json:"run"`
		} `json:"status"`
	}
	if err := fromJSONValue(obj.Object, &wire); err != nil {
		return Stored{}, fmt.Errorf("decode chaosresult %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	st := wire.Status
	return Stored{
		Result: ChaosResult{
			Name:                   obj.GetName(),
			Namespace:              obj.GetNamespace(),
			Engine:                 wire.Spec.Engine,
			EngineUID:              obj.GetLabels()[LabelChaosUID],
			Experiment:             wire.Spec.Experiment,
			Instance:               wire.Spec.Instance,
			Phase:                  st.ExperimentStatus.Phase,
			Verdict:                st.ExperimentStatus.Verdict,
			ProbeSuccessPercentage: st.ExperimentStatus.ProbeSuccessPercentage,
			ErrorOutput:            st.ExperimentStatus.ErrorOutput,
			ProbeStatuses:          st.ProbeStatuses,
			Targets:                st.History.Targets,
			FaultStatus:            st.FaultStatus,
			Run:                    st.Run,
		},
		History: st.History,
	}, nil
}
