package engine

import (
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestParse(t *testing.T) {
	probe := map[string]any{"name": "check-app", "type": "httpProbe", "mode": "Continuous",
		"runProperties": map[string]any{"probeTimeout": "5s", "interval": "2s"}}
	engineWith := func(experiments ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"name": "e", "namespace": "ns", "uid": "u-1"},
			"spec":     map[string]any{"engineState": "active", "experiments": experiments},
		}}
	}
	tests := []struct {
		name       string
		obj        *unstructured.Unstructured
		wantFound  bool
		wantProbes string
		wantErr    bool
	}{
		{
			name: "probes of the named experiment only",
			obj: engineWith(
				map[string]any{"name": "other", "spec": map[string]any{"probe": []any{map[string]any{"name": "not-ours"}}}},
				map[string]any{"name": "ecs-invalid-container-image", "spec": map[string]any{"probe": []any{probe}}},
			),
			wantFound:  true,
			wantProbes: `[{"mode":"Continuous","name":"check-app","runProperties":{"interval":"2s","probeTimeout":"5s"},"type":"httpProbe"}]`,
		},
		{
			name:      "experiment without probes",
			obj:       engineWith(map[string]any{"name": "ecs-invalid-container-image", "spec": map[string]any{}}),
			wantFound: true,
		},
		{
			name: "experiment not listed",
			obj:  engineWith(map[string]any{"name": "other"}),
		},
		{
			name: "no experiments at all",
			obj:  &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "e"}}},
		},
		{
			name:    "experiments of the wrong shape",
			obj:     &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"experiments": "x"}}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.obj, "ecs-invalid-container-image")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.ExperimentFound != tt.wantFound || string(got.Probes) != tt.wantProbes {
				t.Errorf("found %v probes %s, want %v %s", got.ExperimentFound, got.Probes, tt.wantFound, tt.wantProbes)
			}
			if tt.wantProbes != "" && !json.Valid(got.Probes) {
				t.Errorf("probes are not JSON: %s", got.Probes)
			}
		})
	}
}
