package litmus

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ObjectData returns the data of a Secret ("secret") or ConfigMap ("configmap") of the pod's namespace; found
// is false when the object does not exist.
type ObjectData func(kind, name string) (data map[string][]byte, found bool, err error)

// ContainerEnv resolves a container's environment as the kubelet does (pkg/kubelet/kubelet_pods.go,
// makeEnvironmentVariables): the service variables first, then envFrom, then env in order, each value
// expanded against what is defined so far; a missing non-optional Secret or key is an error
// (CreateContainerConfigError). It also returns the names the container lists more than once.
func ContainerEnv(pod *corev1.Pod, c *corev1.Container, serviceEnv map[string]string, get ObjectData) (map[string]string, []string, error) {
	env := map[string]string{}
	for k, v := range serviceEnv {
		env[k] = v
	}
	for _, src := range c.EnvFrom {
		kind, name, optional := "", "", false
		switch {
		case src.ConfigMapRef != nil:
			kind, name, optional = "configmap", src.ConfigMapRef.Name, src.ConfigMapRef.Optional != nil && *src.ConfigMapRef.Optional
		case src.SecretRef != nil:
			kind, name, optional = "secret", src.SecretRef.Name, src.SecretRef.Optional != nil && *src.SecretRef.Optional
		default:
			continue
		}
		data, found, err := get(kind, name)
		if err != nil {
			return nil, nil, fmt.Errorf("envFrom %s %s: %w", kind, name, err)
		}
		if !found && !optional {
			return nil, nil, fmt.Errorf("envFrom: %s %q not found", kind, name)
		}
		for k, v := range data {
			env[src.Prefix+k] = string(v)
		}
	}
	seen := map[string]bool{}
	var dups []string
	for _, e := range c.Env {
		if seen[e.Name] {
			dups = append(dups, e.Name)
		}
		seen[e.Name] = true
		if e.ValueFrom == nil {
			env[e.Name] = Expand(e.Value, env)
			continue
		}
		switch vf := e.ValueFrom; {
		case vf.FieldRef != nil:
			v, err := FieldValue(pod, vf.FieldRef.FieldPath)
			if err != nil {
				return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			env[e.Name] = v
		case vf.SecretKeyRef != nil || vf.ConfigMapKeyRef != nil:
			kind, name, key, optional := "secret", "", "", false
			if ref := vf.SecretKeyRef; ref != nil {
				name, key, optional = ref.Name, ref.Key, ref.Optional != nil && *ref.Optional
			} else {
				ref := vf.ConfigMapKeyRef
				kind, name, key, optional = "configmap", ref.Name, ref.Key, ref.Optional != nil && *ref.Optional
			}
			data, found, err := get(kind, name)
			if err != nil {
				return nil, nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			v, ok := data[key]
			if !found || !ok {
				if optional {
					continue
				}
				return nil, nil, fmt.Errorf("env %s: key %q of %s %q not found", e.Name, key, kind, name)
			}
			env[e.Name] = string(v)
		default:
			return nil, nil, fmt.Errorf("env %s: this valueFrom is not emulated", e.Name)
		}
	}
	return env, dups, nil
}

var labelPath = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.+)'\]$`)

// FieldValue is the downward API's value of a fieldRef (pkg/fieldpath of Kubernetes), for the paths a pod on
// this one loopback node can have.
func FieldValue(pod *corev1.Pod, path string) (string, error) {
	if m := labelPath.FindStringSubmatch(path); m != nil {
		if m[1] == "labels" {
			return pod.Labels[m[2]], nil
		}
		return pod.Annotations[m[2]], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return "127.0.0.1", nil
	}
	return "", fmt.Errorf("fieldRef %q is not emulated", path)
}

var varRef = regexp.MustCompile(`\$(\$)?\(([^)]*)\)`)

// Expand is the kubelet's $(VAR) expansion (third_party/forked/golang/expansion): a defined name is replaced,
// $$( escapes to a literal $(, and an undefined reference is left as it is.
func Expand(s string, env map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		if sub[1] != "" {
			return "$(" + sub[2] + ")"
		}
		if v, ok := env[sub[2]]; ok {
			return v
		}
		return m
	})
}
