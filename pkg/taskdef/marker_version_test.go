package taskdef

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestReadMarkerOfEveryVersion reads a chaos revision of each marker version this project ever wrote, as
// DescribeTaskDefinition returned it (testdata/markers/v<N>.json): a newer binary must recover an older run.
func TestReadMarkerOfEveryVersion(t *testing.T) {
	tests := []struct {
		file string
		want Marker
	}{
		{"v1.json", Marker{
			RunID: "0a1b2c3d4e", OriginalTaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
			OriginalRevision: 7, DeploymentConfiguration: `{"MaximumPercent":200,"MinimumHealthyPercent":100}`,
			ChaosImage: "nginx:chaos-invalid-0a1b2c3d4e", Version: 1,
		}},
		{"v2.json", Marker{
			RunID: "5e6f7a8b9c", OriginalTaskDefinitionARN: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
			OriginalRevision: 7, DeploymentConfiguration: `{"MaximumPercent":200,"MinimumHealthyPercent":100}`,
			ChaosImage: "nginx:chaos-invalid-5e6f7a8b9c", JobUID: "5f0c3a5e-8a43-4b7e-9d39-1b8f3c0e2d11", Version: 2,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, ok, err := ReadMarker(loadTaskDefinition(t, tt.file))
			if err != nil || !ok {
				t.Fatalf("ReadMarker = %v, %v", ok, err)
			}
			if !equalMarkers(got, tt.want) {
				t.Fatalf("ReadMarker = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadMarkerRefusesANewerVersion(t *testing.T) {
	td := loadTaskDefinition(t, "v2.json")
	td.ContainerDefinitions[0].DockerLabels[LabelMarkerVersion] = "3"
	_, _, err := ReadMarker(td)
	if !errors.Is(err, ErrNewerMarker) || !errors.Is(err, ErrCorruptMarker) {
		t.Fatalf("ReadMarker of a version 3 marker = %v, want ErrNewerMarker", err)
	}
	td.ContainerDefinitions[0].DockerLabels[LabelMarkerVersion] = "one"
	if _, _, err := ReadMarker(td); !errors.Is(err, ErrCorruptMarker) || errors.Is(err, ErrNewerMarker) {
		t.Fatalf("ReadMarker of a malformed version = %v, want ErrCorruptMarker only", err)
	}
}

func loadTaskDefinition(t *testing.T, name string) *types.TaskDefinition {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "markers", name))
	if err != nil {
		t.Fatal(err)
	}
	var td types.TaskDefinition
	if err := json.Unmarshal(data, &td); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &td
}

func equalMarkers(a, b Marker) bool {
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return string(aj) == string(bj)
}
