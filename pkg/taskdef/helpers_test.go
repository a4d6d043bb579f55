package taskdef

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// populated returns a TaskDefinition with every exported field, recursively, set to a non-zero value. Each
// leaf gets a different value so that a field copied into the wrong place is caught. The result is the same on
// every call, so a second call is an independent "before" copy.
func populated(t testing.TB) *types.TaskDefinition {
	t.Helper()
	td := &types.TaskDefinition{}
	n := 0
	populate(t, reflect.ValueOf(td).Elem(), "TaskDefinition", &n)
	return td
}

func populate(t testing.TB, v reflect.Value, path string, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", path, *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n%100 + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n%100 + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		populate(t, p.Elem(), path, n)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			populate(t, s.Index(i), fmt.Sprintf("%s[%d]", path, i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		populate(t, k, path+".key", n)
		e := reflect.New(v.Type().Elem()).Elem()
		populate(t, e, path+".value", n)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, *n%60, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				populate(t, v.Field(i), path+"."+f.Name, n)
			}
		}
	case reflect.Interface:
		member, ok := unionMembers()[v.Type()]
		if !ok {
			// A new union, or a smithy document: decide how to fill it here and check that deepCopy copies it.
			t.Fatalf("%s: no sample member for %s; add one to unionMembers", path, v.Type())
		}
		p := reflect.New(member.Elem())
		populate(t, p.Elem(), path, n)
		v.Set(p)
	default:
		t.Fatalf("%s: cannot populate a %s", path, v.Kind())
	}
}

// unionMembers gives populate one member type for each SDK union (an interface) found in a TaskDefinition.
func unionMembers() map[reflect.Type]reflect.Type {
	return map[reflect.Type]reflect.Type{
		reflect.TypeFor[types.SharingStrategy](): reflect.TypeFor[*types.SharingStrategyMemberNvidiaMps](),
	}
}

// mutateAll changes every leaf reachable from v, so that any storage shared with another value shows.
func mutateAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			mutateAll(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutateAll(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutateAll(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				mutateAll(v.Field(i))
			}
		}
	}
}

// registered is what DescribeTaskDefinition would return after RegisterTaskDefinition(in): every input field
// that TaskDefinition also has, matched by name.
func registered(in *ecs.RegisterTaskDefinitionInput, arn string, revision int32) *types.TaskDefinition {
	td := &types.TaskDefinition{TaskDefinitionArn: aws.String(arn), Revision: revision}
	src := reflect.ValueOf(in).Elem()
	dst := reflect.ValueOf(td).Elem()
	for i := range src.NumField() {
		f := src.Type().Field(i)
		if d := dst.FieldByName(f.Name); f.IsExported() && d.IsValid() && d.Type() == f.Type {
			d.Set(src.Field(i))
		}
	}
	return td
}
