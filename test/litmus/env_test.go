package litmus

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "B": "two"}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "1"},
		{"x-$(A)-$(B)", "x-1-two"},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"$A", "$A"},
	} {
		if got := Expand(tc.in, env); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p-1", Namespace: "ns", UID: "u-1",
		Labels: map[string]string{"batch.kubernetes.io/controller-uid": "job-uid"}}}
	yes := true
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "X", Value: "x"},
		{Name: "Y", Value: "$(X)-$(KUBERNETES_SERVICE_PORT)"},
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "JOB", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['batch.kubernetes.io/controller-uid']"}}},
		{Name: "S", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}},
		{Name: "O", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "none"}, Key: "k", Optional: &yes}}},
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}}
	get := func(kind, name string) (map[string][]byte, bool, error) {
		if kind == "secret" && name == "s" {
			return map[string][]byte{"k": []byte("secret-value")}, true, nil
		}
		return nil, false, nil
	}
	env, dups, err := ContainerEnv(pod, c, map[string]string{"KUBERNETES_SERVICE_PORT": "6443"}, get)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"KUBERNETES_SERVICE_PORT": "6443", "X": "x", "Y": "x-6443", "POD": "p-1", "JOB": "job-uid", "S": "secret-value"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v, want %v", env, want)
	}
	if !reflect.DeepEqual(dups, []string{"POD"}) {
		t.Errorf("dups = %v, want [POD]", dups)
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: "M", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "missing"}}})
	if _, _, err := ContainerEnv(pod, c, nil, get); err == nil {
		t.Errorf("a missing non-optional secret key resolved without error")
	}
}
