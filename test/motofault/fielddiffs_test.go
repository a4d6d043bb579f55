package motofault

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The contract tests trust fieldDiffs to find every difference; this holds it to that without moto.
func TestFieldDiffs(t *testing.T) {
	base := func() types.TaskDefinition {
		return types.TaskDefinition{
			Family: aws.String("web"), Revision: 1, Cpu: aws.String("256"),
			RegisteredAt: aws.Time(time.Unix(100, 0)),
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("nginx:1"), Cpu: 128,
				DockerLabels: map[string]string{"team": "web"},
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}},
			}},
			Volumes: []types.Volume{},
		}
	}
	cases := []struct {
		name   string
		change func(*types.TaskDefinition)
		want   []string
	}{
		{"identical", func(*types.TaskDefinition) {}, nil},
		{"scalar", func(td *types.TaskDefinition) { td.Revision = 2 }, []string{"Revision"}},
		{"pointer to nil", func(td *types.TaskDefinition) { td.Cpu = nil }, []string{"Cpu"}},
		{"same instant, other location", func(td *types.TaskDefinition) { td.RegisteredAt = aws.Time(time.Unix(100, 0).UTC()) }, nil},
		{"nested in a slice", func(td *types.TaskDefinition) { td.ContainerDefinitions[0].Image = aws.String("nginx:2") },
			[]string{"ContainerDefinitions[0].Image"}},
		{"deep pointer", func(td *types.TaskDefinition) {
			td.ContainerDefinitions[0].PortMappings[0].ContainerPort = aws.Int32(81)
		},
			[]string{"ContainerDefinitions[0].PortMappings[0].ContainerPort"}},
		{"map key added", func(td *types.TaskDefinition) { td.ContainerDefinitions[0].DockerLabels["run"] = "x" },
			[]string{"ContainerDefinitions[0].DockerLabels[run]"}},
		{"map value changed", func(td *types.TaskDefinition) { td.ContainerDefinitions[0].DockerLabels["team"] = "ops" },
			[]string{"ContainerDefinitions[0].DockerLabels[team]"}},
		{"empty slice versus nil", func(td *types.TaskDefinition) { td.Volumes = nil }, []string{"Volumes"}},
		{"slice length", func(td *types.TaskDefinition) {
			td.ContainerDefinitions = append(td.ContainerDefinitions, types.ContainerDefinition{})
		},
			[]string{"ContainerDefinitions"}},
		{"enum", func(td *types.TaskDefinition) { td.NetworkMode = types.NetworkModeAwsvpc }, []string{"NetworkMode"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changed := base()
			tc.change(&changed)
			if got := diffsOf(base(), changed); !slices.Equal(got, tc.want) {
				t.Errorf("diffs %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUnexpected(t *testing.T) {
	extra, missing := unexpected([]string{"a", "b"}, []string{"b", "c"})
	if !slices.Equal(extra, []string{"a"}) || !slices.Equal(missing, []string{"c"}) {
		t.Errorf("extra %v missing %v, want [a] and [c]", extra, missing)
	}
}
