package taskdef

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/distribution/reference"
)

func FuzzResolveChaosImage(f *testing.F) {
	for _, seed := range [][2]string{
		{"nginx", "run-1"}, {"registry:5000/app", "8f14e45f-ceea-467f-a8f1-1f3e2b6d7c90"}, {"nginx:1.25", "r"},
		{"repo@" + digest, "r"}, {"Nginx", "r"}, {"nginx", "Run ID/42#x"}, {"nginx", ""}, {"", "r"}, {"a/b/c:", "é"},
		{"localhost/app", strings.Repeat("x", 200)},
	} {
		f.Add(seed[0], seed[1])
	}
	tagRule := regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	f.Fuzz(func(t *testing.T, raw, runID string) {
		got, err := ResolveChaosImage(raw, runID)
		if err != nil {
			return
		}
		if len(got.Reference) > maxImageLength {
			t.Fatalf("%q is longer than ECS accepts", got.Reference)
		}
		named, err := reference.ParseNormalizedNamed(got.Reference)
		if err != nil {
			t.Fatalf("ResolveChaosImage(%q) = %q, which does not parse: %v", raw, got.Reference, err)
		}
		if got.Pinned {
			if got.Reference != raw {
				t.Fatalf("pinned %q changed to %q", raw, got.Reference)
			}
			return
		}
		tagged, ok := named.(reference.Tagged)
		if !ok || !strings.HasPrefix(tagged.Tag(), chaosTagPrefix) || !tagRule.MatchString(tagged.Tag()) ||
			got.Reference != raw+":"+tagged.Tag() {
			t.Fatalf("ResolveChaosImage(%q, %q) = %q", raw, runID, got.Reference)
		}
	})
}

func FuzzChaosCopy(f *testing.F) {
	f.Add("run-1", "nginx", "app", "team", "payments", `{"MaximumPercent":200}`, "team", "payments", int32(7), true)
	f.Add("8f14e45f", "registry:5000/app:1.0", "envoy", LabelServices, "[]", "{ }", "aws:x", "y", int32(1), false)
	f.Add("r#1", "nginx", "", LabelRunID, "old", "{\"a\":\n[1, 2]}", "ecschaos:run-id", "old", int32(2147483647), true)
	f.Add("", "", "sidecar", "", "", "", "", "", int32(0), false)
	f.Fuzz(func(t *testing.T, runID, image, container, labelKey, labelValue, deployment, tagKey, tagValue string,
		revision int32, targetOne bool) {
		build := func() (*types.TaskDefinition, []types.Tag) {
			labels := map[string]string{labelKey: labelValue}
			return &types.TaskDefinition{
				TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
				Family:            aws.String("web"),
				Revision:          revision,
				ContainerDefinitions: []types.ContainerDefinition{
					{Name: aws.String(container), Image: aws.String("registry:5000/app:1.0"), DockerLabels: labels},
					{Name: aws.String(container + "-sidecar"), Image: aws.String("envoy:v1"),
						DockerLabels: map[string]string{labelKey: labelValue}},
				},
			}, []types.Tag{tag(tagKey, tagValue)}
		}
		td, tags := build()
		var targets []string
		if targetOne {
			targets = []string{container}
		}
		chaos := ChaosImage{Reference: image}
		in, _, err := Chaos(td, tags, chaos, targets, Marker{RunID: runID, DeploymentConfiguration: deployment})
		if wantTD, wantTags := build(); !reflect.DeepEqual(td, wantTD) || !reflect.DeepEqual(tags, wantTags) {
			t.Fatal("Chaos changed its arguments")
		}
		if err != nil {
			return
		}
		if len(in.Tags) > maxTags {
			t.Fatalf("%d tags", len(in.Tags))
		}
		for _, tg := range in.Tags {
			if p := tagProblem(aws.ToString(tg.Key), aws.ToString(tg.Value)); p != "" {
				t.Fatalf("tag %q sent although %s", aws.ToString(tg.Key), p)
			}
		}
		got, ok, err := ReadMarker(registered(in, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8", revision+1))
		if err != nil || !ok {
			t.Fatalf("ReadMarker = %v, %v", ok, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(deployment)); err != nil {
			t.Fatalf("Chaos accepted a deployment configuration that is not JSON: %q", deployment)
		}
		want := Marker{RunID: runID, OriginalTaskDefinitionARN: *td.TaskDefinitionArn, OriginalRevision: revision,
			DeploymentConfiguration: compact.String(), ChaosImage: image, Version: MarkerVersion}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ReadMarker = %+v, want %+v", got, want)
		}
	})
}
