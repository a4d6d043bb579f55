package taskdef

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	webARN      = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
	chaosARN    = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8"
	webDeploy   = `{"MaximumPercent":200,"MinimumHealthyPercent":100,"Strategy":"ROLLING"}`
	webServices = "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
)

// webTaskDefinition is a described task definition with three containers, one of them already labelled.
func webTaskDefinition() *types.TaskDefinition {
	return &types.TaskDefinition{
		TaskDefinitionArn: aws.String(webARN),
		Family:            aws.String("web"),
		Revision:          7,
		Status:            types.TaskDefinitionStatusActive,
		NetworkMode:       types.NetworkModeAwsvpc,
		Cpu:               aws.String("512"),
		Memory:            aws.String("1024"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("registry:5000/app:1.0"), Essential: aws.Bool(true),
				DockerLabels: map[string]string{"team": "payments"},
				Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}}},
			{Name: aws.String("envoy"), Image: aws.String("envoyproxy/envoy:v1.30")},
			{Name: aws.String("log-router"), Image: aws.String("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable")},
		},
	}
}

func webTags() []types.Tag {
	return []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}
}

func webMarker() Marker {
	return Marker{RunID: "run-1", DeploymentConfiguration: webDeploy, Services: []string{webServices}}
}

func chaosImage() ChaosImage { return ChaosImage{Reference: "nginx:chaos-invalid-run-1"} }

func images(in *ecs.RegisterTaskDefinitionInput) map[string]string {
	m := map[string]string{}
	for _, c := range in.ContainerDefinitions {
		m[*c.Name] = *c.Image
	}
	return m
}

func TestChaosSwapsOnlyTargets(t *testing.T) {
	original := map[string]string{
		"app": "registry:5000/app:1.0", "envoy": "envoyproxy/envoy:v1.30",
		"log-router": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
	}
	tests := []struct {
		name    string
		targets []string
		swapped []string
	}{
		{"all containers when no target is named", nil, []string{"app", "envoy", "log-router"}},
		{"one target", []string{"app"}, []string{"app"}},
		{"two targets, one named twice", []string{"envoy", "app", "envoy"}, []string{"app", "envoy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := webTaskDefinition()
			in, _, err := Chaos(td, webTags(), chaosImage(), tt.targets, webMarker())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for name, image := range original {
				want[name] = image
			}
			for _, name := range tt.swapped {
				want[name] = chaosImage().Reference
			}
			if got := images(in); !reflect.DeepEqual(got, want) {
				t.Fatalf("images = %v, want %v", got, want)
			}
			for _, c := range in.ContainerDefinitions {
				_, labelled := c.DockerLabels[LabelRunID]
				if swapped := want[*c.Name] == chaosImage().Reference; labelled != swapped {
					t.Errorf("container %s: marker labels %v, swapped %v", *c.Name, labelled, swapped)
				}
			}
			if in.ContainerDefinitions[0].DockerLabels["team"] != "payments" {
				t.Error("the customer's own label was lost")
			}
			if !reflect.DeepEqual(td, webTaskDefinition()) {
				t.Fatal("Chaos changed the described task definition")
			}
		})
	}
}

func TestChaosUnknownTarget(t *testing.T) {
	_, _, err := Chaos(webTaskDefinition(), nil, chaosImage(), []string{"app", "ap"}, webMarker())
	var unknown *UnknownContainerError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v, want an UnknownContainerError", err)
	}
	if unknown.Name != "ap" || !reflect.DeepEqual(unknown.Known, []string{"app", "envoy", "log-router"}) {
		t.Fatalf("got %+v", unknown)
	}
	if msg := err.Error(); !strings.Contains(msg, `"ap"`) || !strings.Contains(msg, `"app", "envoy", "log-router"`) {
		t.Fatalf("message %q does not name the unknown and the known containers", msg)
	}
}

func TestChaosLeavesOriginalUnchanged(t *testing.T) {
	td := populated(t)
	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}
	in, _, err := Chaos(td, tags, chaosImage(), nil, Marker{RunID: "run-1", DeploymentConfiguration: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(td, populated(t)) {
		t.Fatal("Chaos changed the described task definition")
	}
	mutateAll(reflect.ValueOf(in).Elem())
	if !reflect.DeepEqual(td, populated(t)) || *tags[0].Key != "team" {
		t.Fatal("the chaos input shares storage with the described task definition or tags")
	}
}

// TestChaosDiffersOnlyInImagesAndMarker is DESIGN's promise for step 2, checked on a fully populated copy.
func TestChaosDiffersOnlyInImagesAndMarker(t *testing.T) {
	td := populated(t)
	in, _, err := Chaos(td, nil, chaosImage(), nil, Marker{RunID: "run-1", DeploymentConfiguration: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	plain := RegisterInput(td, nil)
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		c.Image = plain.ContainerDefinitions[i].Image
		for k := range c.DockerLabels {
			if strings.HasPrefix(k, labelPrefix) {
				delete(c.DockerLabels, k)
			}
		}
	}
	in.Tags = nil
	if !reflect.DeepEqual(in, plain) {
		t.Fatal("the chaos revision differs from the copy in more than images, marker labels and tags")
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	in, _, err := Chaos(webTaskDefinition(), webTags(), chaosImage(), []string{"app", "envoy"}, Marker{
		RunID: "run-1", DeploymentConfiguration: "{\n  \"MaximumPercent\": 200\n}", Services: []string{webServices},
		JobUID: "5f0c3a5e-8a43-4b7e-9d39-1b8f3c0e2d11",
	})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := ReadMarker(registered(in, chaosARN, 8))
	if err != nil || !ok {
		t.Fatalf("ReadMarker = %v, %v", ok, err)
	}
	want := Marker{
		RunID: "run-1", OriginalTaskDefinitionARN: webARN, OriginalRevision: 7,
		DeploymentConfiguration: `{"MaximumPercent":200}`, ChaosImage: chaosImage().Reference, Services: []string{webServices},
		JobUID: "5f0c3a5e-8a43-4b7e-9d39-1b8f3c0e2d11", Version: MarkerVersion,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadMarker = %+v, want %+v", got, want)
	}
}

func TestReadMarker(t *testing.T) {
	chaos := func(t *testing.T) *types.TaskDefinition {
		in, _, err := Chaos(webTaskDefinition(), nil, chaosImage(), []string{"app", "envoy"}, webMarker())
		if err != nil {
			t.Fatal(err)
		}
		return registered(in, chaosARN, 8)
	}
	tests := []struct {
		name    string
		change  func(td *types.TaskDefinition)
		want    bool
		corrupt bool
	}{
		{"chaos revision", func(*types.TaskDefinition) {}, true, false},
		{"labels copied by a pipeline with real images", func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].Image = aws.String("registry:5000/app:1.1")
			td.ContainerDefinitions[1].Image = aws.String("envoyproxy/envoy:v1.31")
		}, false, false},
		{"one swapped container still runs the chaos image", func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].Image = aws.String("registry:5000/app:1.1")
		}, true, false},
		{"no labels at all", func(td *types.TaskDefinition) {
			for i := range td.ContainerDefinitions {
				td.ContainerDefinitions[i].DockerLabels = nil
			}
		}, false, false},
		{"revision is not a number", func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].DockerLabels[LabelOriginalRevision] = "seven"
		}, false, true},
		{"deployment configuration is not JSON", func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].DockerLabels[LabelDeploymentConfiguration] = "{"
		}, false, true},
		{"services is not a JSON array", func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].DockerLabels[LabelServices] = webServices
		}, false, true},
		{"chaos image label missing", func(td *types.TaskDefinition) {
			delete(td.ContainerDefinitions[0].DockerLabels, LabelChaosImage)
		}, false, true},
		{"containers disagree", func(td *types.TaskDefinition) {
			td.ContainerDefinitions[1].DockerLabels[LabelRunID] = "run-2"
		}, false, true},
		{"original ARN missing", func(td *types.TaskDefinition) {
			delete(td.ContainerDefinitions[0].DockerLabels, LabelOriginalTaskDefinition)
		}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td := chaos(t)
			tt.change(td)
			m, ok, err := ReadMarker(td)
			if tt.corrupt {
				if !errors.Is(err, ErrCorruptMarker) {
					t.Fatalf("err = %v, want ErrCorruptMarker", err)
				}
				return
			}
			if err != nil || ok != tt.want {
				t.Fatalf("ReadMarker = %v, %v; want %v", ok, err, tt.want)
			}
			if ok && m.RunID != "run-1" {
				t.Fatalf("marker = %+v", m)
			}
		})
	}
	if _, ok, err := ReadMarker(nil); ok || err != nil {
		t.Fatalf("ReadMarker(nil) = %v, %v", ok, err)
	}
}

func TestChaosRefuses(t *testing.T) {
	unknownUnion := webTaskDefinition()
	unknownUnion.ContainerDefinitions[0].ResourceRequirements = []types.ResourceRequirement{{
		Type: types.ResourceTypeGpu, Value: aws.String("1"), SharingStrategy: &types.UnknownUnionMember{Tag: "amdShare"},
	}}
	chaosIn, _, err := Chaos(webTaskDefinition(), nil, chaosImage(), nil, webMarker())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		td      *types.TaskDefinition
		image   ChaosImage
		marker  Marker
		wantErr string
		is      error
	}{
		{"no task definition", nil, chaosImage(), webMarker(), "no task definition", nil},
		{"empty image", webTaskDefinition(), ChaosImage{}, webMarker(), "chaos image is empty", nil},
		{"already a chaos revision", registered(chaosIn, chaosARN, 8), chaosImage(), webMarker(), "recover", ErrAlreadyChaos},
		{"setting unknown to the SDK", unknownUnion, chaosImage(), webMarker(), "ResourceRequirements[0].SharingStrategy", nil},
		{"empty run id", webTaskDefinition(), chaosImage(), Marker{DeploymentConfiguration: "{}"}, "run id is empty", nil},
		{"deployment configuration not JSON", webTaskDefinition(), chaosImage(), Marker{RunID: "r", DeploymentConfiguration: "max=200"},
			"not JSON", nil},
		{"deployment configuration not an object", webTaskDefinition(), chaosImage(), Marker{RunID: "r", DeploymentConfiguration: "[]"},
			"not a JSON object", nil},
		{"marker image differs", webTaskDefinition(), chaosImage(), Marker{RunID: "r", DeploymentConfiguration: "{}", ChaosImage: "nginx"},
			"differs from the image swapped in", nil},
		{"marker ARN differs", webTaskDefinition(), chaosImage(),
			Marker{RunID: "r", DeploymentConfiguration: "{}", OriginalTaskDefinitionARN: chaosARN}, "differs from the one copied", nil},
		{"marker revision differs", webTaskDefinition(), chaosImage(),
			Marker{RunID: "r", DeploymentConfiguration: "{}", OriginalRevision: 6}, "differs from the one copied", nil},
		{"no ARN to record", &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a")}}},
			chaosImage(), Marker{RunID: "r", DeploymentConfiguration: "{}"}, "ARN is empty", nil},
		{"no containers", &types.TaskDefinition{TaskDefinitionArn: aws.String(webARN), Revision: 7}, chaosImage(), webMarker(),
			"no containers", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _, err := Chaos(tt.td, nil, tt.image, nil, tt.marker)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if in != nil {
				t.Fatal("an input came back with the error")
			}
		})
	}
}

// A pipeline that copied a chaos revision's labels into a real revision leaves labels that must not leak into
// this run's marker.
func TestChaosReplacesCopiedMarkerLabels(t *testing.T) {
	td := webTaskDefinition()
	td.ContainerDefinitions[0].DockerLabels[LabelServices] = `["arn:aws:ecs:us-east-1:123456789012:service/prod/other"]`
	td.ContainerDefinitions[0].DockerLabels[LabelChaosImage] = "nginx:chaos-invalid-old"
	td.ContainerDefinitions[0].DockerLabels[LabelRunID] = "old"
	in, _, err := Chaos(td, nil, chaosImage(), []string{"app"}, Marker{RunID: "run-1", DeploymentConfiguration: "{}"})
	if err != nil {
		t.Fatal(err)
	}
	m, ok, err := ReadMarker(registered(in, chaosARN, 8))
	if err != nil || !ok {
		t.Fatalf("ReadMarker = %v, %v", ok, err)
	}
	if m.RunID != "run-1" || m.Services != nil {
		t.Fatalf("marker = %+v, want this run's without services", m)
	}
}
