package taskdef

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// notCopied lists the RegisterTaskDefinitionInput fields RegisterInput does not take from the TaskDefinition,
// with the reason.
func notCopied() map[string]string {
	return map[string]string{
		"Tags": "DescribeTaskDefinition returns tags beside the task definition: they come from the tags argument",
	}
}

// outputOnly lists the TaskDefinition fields that RegisterTaskDefinition does not accept, with the reason.
func outputOnly() map[string]string {
	return map[string]string{
		"TaskDefinitionArn":  "assigned by ECS",
		"Revision":           "assigned by ECS",
		"Status":             "assigned by ECS",
		"RequiresAttributes": "derived by ECS from the container definitions",
		"Compatibilities":    "derived by ECS from the task definition",
		"RegisteredAt":       "assigned by ECS",
		"RegisteredBy":       "assigned by ECS",
		"DeregisteredAt":     "assigned by ECS",
		"DeleteRequestedAt":  "assigned by ECS",
	}
}

func exportedFields(t reflect.Type) []reflect.StructField {
	var fields []reflect.StructField
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			fields = append(fields, f)
		}
	}
	return fields
}

func TestRegisterInputCopiesEveryField(t *testing.T) {
	inputType := reflect.TypeFor[ecs.RegisterTaskDefinitionInput]()
	tdType := reflect.TypeFor[types.TaskDefinition]()

	full := populated(t)
	in := reflect.ValueOf(RegisterInput(full, nil)).Elem()
	for _, f := range exportedFields(inputType) {
		t.Run(f.Name, func(t *testing.T) {
			if reason, ok := notCopied()[f.Name]; ok {
				t.Skipf("not copied from the task definition: %s", reason)
			}
			src, ok := tdType.FieldByName(f.Name)
			if !ok || src.Type != f.Type {
				t.Fatalf("RegisterTaskDefinitionInput.%s has no TaskDefinition field of the same type: decide how "+
					"RegisterInput fills it, or list it in notCopied with the reason", f.Name)
			}
			got := in.FieldByIndex(f.Index)
			want := reflect.ValueOf(full).Elem().FieldByIndex(src.Index)
			if got.IsZero() {
				t.Fatalf("RegisterInput does not copy TaskDefinition.%s", f.Name)
			}
			if !reflect.DeepEqual(got.Interface(), want.Interface()) {
				t.Fatalf("%s: got %+v, want %+v", f.Name, reflect.Indirect(got), reflect.Indirect(want))
			}

			// Alone in an otherwise empty task definition, the field lands in its own place and nowhere else.
			var only types.TaskDefinition
			reflect.ValueOf(&only).Elem().FieldByIndex(src.Index).Set(want)
			alone := reflect.ValueOf(RegisterInput(&only, nil)).Elem()
			for _, other := range exportedFields(inputType) {
				v := alone.FieldByIndex(other.Index)
				if other.Name == f.Name && !reflect.DeepEqual(v.Interface(), want.Interface()) {
					t.Errorf("%s alone: got %+v", f.Name, reflect.Indirect(v))
				}
				if other.Name != f.Name && !v.IsZero() {
					t.Errorf("%s alone also set %s", f.Name, other.Name)
				}
			}
		})
	}

	for _, f := range exportedFields(tdType) {
		_, inInput := inputType.FieldByName(f.Name)
		if _, known := outputOnly()[f.Name]; !inInput && !known {
			t.Errorf("TaskDefinition.%s is new: if RegisterTaskDefinition accepts it, copy it in RegisterInput; "+
				"otherwise list it in outputOnly", f.Name)
		}
		if _, known := outputOnly()[f.Name]; inInput && known {
			t.Errorf("TaskDefinition.%s is listed as output-only but RegisterTaskDefinitionInput has it", f.Name)
		}
	}
}

func TestRegisterInputSharesNothingWithOriginal(t *testing.T) {
	td := populated(t)
	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}
	in := RegisterInput(td, tags)

	mutateAll(reflect.ValueOf(in).Elem())

	if want := populated(t); !reflect.DeepEqual(td, want) {
		t.Fatal("changing the register input changed the described task definition")
	}
	if *tags[0].Key != "team" || *tags[0].Value != "payments" {
		t.Fatalf("changing the register input changed the described tags: %v=%v", *tags[0].Key, *tags[0].Value)
	}
}

func TestRegisterInputNil(t *testing.T) {
	if in := RegisterInput(nil, nil); in != nil {
		t.Fatalf("RegisterInput(nil) = %#v, want nil", in)
	}
}

func TestRegisterInputTags(t *testing.T) {
	tags := []types.Tag{
		{Key: aws.String("team"), Value: aws.String("payments")},
		{Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("web")},
		{Key: aws.String("owner"), Value: nil},
	}
	in := RegisterInput(&types.TaskDefinition{Family: aws.String("web")}, tags)
	want := []types.Tag{tags[0], tags[2]}
	if !reflect.DeepEqual(in.Tags, want) {
		t.Fatalf("tags = %s, want %s", tagString(in.Tags), tagString(want))
	}
}

func TestWithoutTags(t *testing.T) {
	in := RegisterInput(populated(t), []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}})
	out := WithoutTags(in)
	if out.Tags != nil {
		t.Fatalf("WithoutTags kept %s", tagString(out.Tags))
	}
	if len(in.Tags) != 1 {
		t.Fatal("WithoutTags changed its argument")
	}
	out.Tags = in.Tags
	if !reflect.DeepEqual(out, in) {
		t.Fatal("WithoutTags changed more than the tags")
	}
	if WithoutTags(nil) != nil {
		t.Fatal("WithoutTags(nil) is not nil")
	}
}

func tagString(tags []types.Tag) string {
	s := "["
	for i, t := range tags {
		if i > 0 {
			s += " "
		}
		s += aws.ToString(t.Key) + "=" + aws.ToString(t.Value)
	}
	return s + "]"
}
