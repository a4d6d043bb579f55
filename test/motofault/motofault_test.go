package motofault

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/test/moto"
)

// TestMotoFault runs every contract of this package against one moto_server, reset between subtests: starting
// moto costs seconds, resetting it milliseconds. The subtests change the process environment (the SDK reads
// AWS_* variables from it), so they run one after another.
func TestMotoFault(t *testing.T) {
	srv := moto.Start(t)
	t.Run("chaos copy of a rich task definition", func(t *testing.T) { testChaosCopy(t, srv) })
	t.Run("recover a killed run", func(t *testing.T) { testRecover(t, srv) })
	t.Run("run against moto", func(t *testing.T) { testRun(t, srv) })
	t.Run("assume role", func(t *testing.T) { testAssumeRole(t, srv) })
	t.Run("web identity and mounted secret", func(t *testing.T) { testWebIdentity(t, srv) })
	t.Run("alarms for EXPECT_ALARMS", func(t *testing.T) { testAlarms(t, srv) })
}

// check ends the test when a setup call failed.
func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// describeTaskDefinition reads one revision by ARN with its tags, as the fault's preflight does.
func describeTaskDefinition(ctx context.Context, t *testing.T, client *ecs.Client, arn string) (*types.TaskDefinition, []types.Tag) {
	t.Helper()
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatalf("DescribeTaskDefinition %s: %v", arn, err)
	}
	if out.TaskDefinition == nil {
		t.Fatalf("DescribeTaskDefinition %s: no task definition in the answer", arn)
	}
	return out.TaskDefinition, out.Tags
}

func describeService(ctx context.Context, t *testing.T, client *ecs.Client, cluster, service string) types.Service {
	t.Helper()
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		t.Fatalf("DescribeServices %s: %v", service, err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %d services, failures %+v", service, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, tag := range tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return m
}

// fieldDiffs walks two values of one type field by field and returns the paths where they differ, such as
// "ContainerDefinitions[0].Image" or "ContainerDefinitions[0].DockerLabels[io.ecschaos.run-id]". Being
// generic, it compares fields a newer SDK adds without anyone listing them. A nil and an empty slice or map
// differ: the SDK decodes [] and an absent member differently, and so should a lossless copy.
func fieldDiffs(path string, a, b reflect.Value) []string {
	if a.Kind() != b.Kind() {
		return []string{path}
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{path}
			}
			return nil
		}
		if a.Kind() == reflect.Interface && a.Elem().Type() != b.Elem().Type() {
			return []string{path}
		}
		return fieldDiffs(path, a.Elem(), b.Elem())
	case reflect.Struct:
		if a.Type() == reflect.TypeOf(time.Time{}) {
			if !a.Interface().(time.Time).Equal(b.Interface().(time.Time)) {
				return []string{path}
			}
			return nil
		}
		var diffs []string
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			diffs = append(diffs, fieldDiffs(join(path, f.Name), a.Field(i), b.Field(i))...)
		}
		return diffs
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return []string{path}
		}
		var diffs []string
		for i := range a.Len() {
			diffs = append(diffs, fieldDiffs(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))...)
		}
		return diffs
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			return []string{path}
		}
		keys := map[string]reflect.Value{}
		for _, m := range []reflect.Value{a, b} {
			for it := m.MapRange(); it.Next(); {
				keys[fmt.Sprint(it.Key().Interface())] = it.Key()
			}
		}
		names := make([]string, 0, len(keys))
		for name := range keys {
			names = append(names, name)
		}
		sort.Strings(names)
		var diffs []string
		for _, name := range names {
			av, bv := a.MapIndex(keys[name]), b.MapIndex(keys[name])
			p := fmt.Sprintf("%s[%s]", path, name)
			if !av.IsValid() || !bv.IsValid() {
				diffs = append(diffs, p)
				continue
			}
			diffs = append(diffs, fieldDiffs(p, av, bv)...)
		}
		return diffs
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return []string{path}
		}
		return nil
	}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// diffsOf compares two values of one type field by field.
func diffsOf[T any](a, b T) []string {
	return fieldDiffs("", reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem())
}

// unexpected returns the diffs not in allowed, and the allowed paths that did not differ.
func unexpected(diffs, allowed []string) (extra, missing []string) {
	for _, d := range diffs {
		if !slices.Contains(allowed, d) {
			extra = append(extra, d)
		}
	}
	for _, a := range allowed {
		if !slices.Contains(diffs, a) {
			missing = append(missing, a)
		}
	}
	return extra, missing
}
