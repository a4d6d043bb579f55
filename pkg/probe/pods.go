package probe

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Pods is what a source-mode cmdProbe needs of the Kubernetes API: one pod created, read, deleted, and its log.
type Pods interface {
	Create(ctx context.Context, namespace string, pod *corev1.Pod) (*corev1.Pod, error)
	Get(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Delete(ctx context.Context, namespace, name string) error
	Logs(ctx context.Context, namespace, name, container string, limitBytes int64) ([]byte, error)
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// apiPods implements Pods with the dynamic client and a raw REST call for the log. It deliberately avoids
// client-go's typed clientset, whose scheme links every Kubernetes API group into the binary (about 16 MB).
type apiPods struct {
	dyn  dynamic.Interface
	rest rest.Interface
}

// NewPods returns the Pods of the cluster cfg points at.
func NewPods(cfg *rest.Config) (Pods, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	logCfg := dynamic.ConfigFor(cfg)
	logCfg.GroupVersion, logCfg.APIPath = &schema.GroupVersion{Version: "v1"}, "/api"
	raw, err := rest.RESTClientFor(logCfg)
	if err != nil {
		return nil, err
	}
	return &apiPods{dyn: dyn, rest: raw}, nil
}

func (p *apiPods) Create(ctx context.Context, namespace string, pod *corev1.Pod) (*corev1.Pod, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		return nil, fmt.Errorf("encode pod: %w", err)
	}
	created, err := p.dyn.Resource(podsGVR).Namespace(namespace).Create(ctx, &unstructured.Unstructured{Object: withKind(obj)}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return toPod(created)
}

func (p *apiPods) Get(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	got, err := p.dyn.Resource(podsGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return toPod(got)
}

func (p *apiPods) Delete(ctx context.Context, namespace, name string) error {
	zero := int64(0)
	return p.dyn.Resource(podsGVR).Namespace(namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
}

func (p *apiPods) Logs(ctx context.Context, namespace, name, container string, limitBytes int64) ([]byte, error) {
	return p.rest.Get().AbsPath("/api/v1/namespaces", namespace, "pods", name, "log").
		Param("container", container).Param("limitBytes", strconv.FormatInt(limitBytes, 10)).DoRaw(ctx)
}

func withKind(obj map[string]any) map[string]any {
	obj["apiVersion"], obj["kind"] = "v1", "Pod"
	return obj
}

func toPod(u *unstructured.Unstructured) (*corev1.Pod, error) {
	var pod corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err != nil {
		return nil, fmt.Errorf("decode pod: %w", err)
	}
	return &pod, nil
}
