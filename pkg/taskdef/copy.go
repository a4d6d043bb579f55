package taskdef

import (
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RegisterInput returns the RegisterTaskDefinition input that recreates td exactly: every field of the input
// that DescribeTaskDefinition returns, deep-copied so that changing the input never changes td. Tags come from
// tags (DescribeTaskDefinition returns them beside the task definition); tags ECS would refuse, such as the
// AWS-managed aws: ones, and stale marker tags are left out (Chaos reports them). A nil td gives nil.
//
// When the SDK grows a field, add it here: TestRegisterInputCopiesEveryField fails until it is copied or
// listed there with the reason it is not.
func RegisterInput(td *types.TaskDefinition, tags []types.Tag) *ecs.RegisterTaskDefinitionInput {
	if td == nil {
		return nil
	}
	c := deepCopy(*td)
	kept, _ := copyableTags(tags)
	return &ecs.RegisterTaskDefinitionInput{
		ContainerDefinitions: c.ContainerDefinitions,
		Family:               c.Family,
		Cpu:                  c.Cpu,
		EnableFaultInjection: c.EnableFaultInjection,
		EphemeralStorage:     c.EphemeralStorage,
		ExecutionRoleArn:     c.ExecutionRoleArn,
		//lint:ignore SA1019 deprecated by ECS, yet a revision that has it must keep it to be copied exactly.
		InferenceAccelerators:         c.InferenceAccelerators,
		IpcMode:                       c.IpcMode,
		Memory:                        c.Memory,
		NetworkMode:                   c.NetworkMode,
		PidMode:                       c.PidMode,
		PlacementConstraints:          c.PlacementConstraints,
		ProxyConfiguration:            c.ProxyConfiguration,
		RequiresCompatibilities:       c.RequiresCompatibilities,
		RuntimePlatform:               c.RuntimePlatform,
		Tags:                          kept,
		TaskRoleArn:                   c.TaskRoleArn,
		TrustedExecutionConfiguration: c.TrustedExecutionConfiguration,
		Volumes:                       c.Volumes,
	}
}

// WithoutTags returns a copy of in that registers no tags, for accounts where ecs:TagResource is refused (ECS
// authorizes tags given to RegisterTaskDefinition as ecs:TagResource since 2024). The other fields are shared
// with in, not copied.
func WithoutTags(in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionInput {
	if in == nil {
		return nil
	}
	out := *in
	out.Tags = nil
	return &out
}

// deepCopy returns a copy of v that shares no pointer, slice or map with it. It works by reflection so that
// nested SDK types gain fields without this package having to follow them.
func deepCopy[T any](v T) T {
	var out T
	copyValue(reflect.ValueOf(&out).Elem(), reflect.ValueOf(&v).Elem())
	return out
}

// copyValue deep-copies src into dst, which must be settable and of the same type.
func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			k := reflect.New(src.Type().Key()).Elem()
			copyValue(k, it.Key())
			v := reflect.New(src.Type().Elem()).Elem()
			copyValue(v, it.Value())
			m.SetMapIndex(k, v)
		}
		dst.Set(m)
	case reflect.Struct:
		// Setting the whole struct first keeps unexported fields (the SDK's zero-size serde markers, the
		// internals of time.Time), which reflection cannot copy one by one.
		dst.Set(src)
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i))
		}
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		copyValue(e, src.Elem())
		dst.Set(e)
	default:
		dst.Set(src)
	}
}

// unknownUnionMember returns the path of the first union value in v that this build's SDK did not recognise
// when it read the response (a setting newer than the SDK), or "". The SDK cannot send such a value back, so
// a copy would silently lose it.
func unknownUnionMember(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return ""
		}
		if _, ok := v.Interface().(*types.UnknownUnionMember); ok {
			return path
		}
		return unknownUnionMember(v.Elem(), path)
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return unknownUnionMember(v.Elem(), path)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p := unknownUnionMember(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if p := unknownUnionMember(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key())); p != "" {
				return p
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				if p := unknownUnionMember(v.Field(i), path+"."+f.Name); p != "" {
					return p
				}
			}
		}
	}
	return ""
}
