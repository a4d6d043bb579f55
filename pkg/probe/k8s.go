package probe

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// k8sChecker performs Litmus's k8sProbe operations through the dynamic client.
type k8sChecker struct {
	in     *K8sInputs
	client dynamic.Interface
}

func (k *k8sChecker) resource() dynamic.ResourceInterface {
	r := k.client.Resource(k.in.Resource)
	if k.in.Namespace == "" {
		return r
	}
	return r.Namespace(k.in.Namespace)
}

func (k *k8sChecker) what() string {
	gvr := k.in.Resource
	s := gvr.Resource
	if gvr.Group != "" {
		s += "." + gvr.Group
	}
	s += "/" + gvr.Version
	if k.in.Namespace != "" {
		s += " in namespace " + k.in.Namespace
	}
	return s
}

func (k *k8sChecker) selectors() string {
	return fmt.Sprintf("labelSelector %q, fieldSelector %q", k.in.LabelSelector, k.in.FieldSelector)
}

func (k *k8sChecker) check(ctx context.Context) (string, error) {
	if k.client == nil {
		return "", fmt.Errorf("k8sProbe needs the Kubernetes API, which is not configured for this run")
	}
	switch k.in.Operation {
	case "create":
		return k.create(ctx)
	case "delete":
		return k.delete(ctx)
	case "present":
		return k.present(ctx)
	case "absent":
		return k.absent(ctx)
	}
	return "", fmt.Errorf("operation %q is not supported", k.in.Operation)
}

func (k *k8sChecker) create(ctx context.Context) (string, error) {
	obj := k.in.Object.DeepCopy()
	r := k.client.Resource(k.in.Resource)
	var target dynamic.ResourceInterface = r
	ns := k.in.Namespace
	if ns == "" {
		ns = obj.GetNamespace()
	}
	if ns != "" {
		obj.SetNamespace(ns)
		target = r.Namespace(ns)
	}
	created, err := target.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("could not create %s %q: %w", k.what(), obj.GetName()+obj.GetGenerateName(), err)
	}
	return fmt.Sprintf("created %s %q", k.what(), created.GetName()), nil
}

func (k *k8sChecker) delete(ctx context.Context) (string, error) {
	names := k.in.ResourceNames
	if len(names) > 0 {
		if err := k.allPresent(ctx, names); err != nil {
			return "", err
		}
	} else {
		list, err := k.list(ctx)
		if err != nil {
			return "", err
		}
		if len(list) == 0 {
			return "", fmt.Errorf("nothing to delete: no %s matches %s", k.what(), k.selectors())
		}
		names = list
	}
	for _, name := range names {
		if err := k.resource().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return "", fmt.Errorf("could not delete %s %q: %w", k.what(), name, err)
		}
	}
	return fmt.Sprintf("deleted %s: %s", k.what(), strings.Join(names, ", ")), nil
}

func (k *k8sChecker) present(ctx context.Context) (string, error) {
	if len(k.in.ResourceNames) > 0 {
		if err := k.allPresent(ctx, k.in.ResourceNames); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s present: %s", k.what(), strings.Join(k.in.ResourceNames, ", ")), nil
	}
	names, err := k.list(ctx)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no %s matches %s", k.what(), k.selectors())
	}
	return fmt.Sprintf("%d %s match %s", len(names), k.what(), k.selectors()), nil
}

func (k *k8sChecker) absent(ctx context.Context) (string, error) {
	if len(k.in.ResourceNames) > 0 {
		for _, name := range k.in.ResourceNames {
			_, err := k.resource().Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return "", fmt.Errorf("could not check %s %q: %w", k.what(), name, err)
			default:
				return "", fmt.Errorf("%s %q exists but is expected to be absent", k.what(), name)
			}
		}
		return fmt.Sprintf("%s absent: %s", k.what(), strings.Join(k.in.ResourceNames, ", ")), nil
	}
	names, err := k.list(ctx)
	if err != nil {
		return "", err
	}
	if len(names) > 0 {
		return "", fmt.Errorf("%d %s match %s but none should: %s", len(names), k.what(), k.selectors(), strings.Join(names, ", "))
	}
	return fmt.Sprintf("no %s matches %s", k.what(), k.selectors()), nil
}

func (k *k8sChecker) allPresent(ctx context.Context, names []string) error {
	for _, name := range names {
		if _, err := k.resource().Get(ctx, name, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%s %q not found", k.what(), name)
			}
			return fmt.Errorf("could not get %s %q: %w", k.what(), name, err)
		}
	}
	return nil
}

func (k *k8sChecker) list(ctx context.Context) ([]string, error) {
	list, err := k.resource().List(ctx, metav1.ListOptions{LabelSelector: k.in.LabelSelector, FieldSelector: k.in.FieldSelector})
	if err != nil {
		return nil, fmt.Errorf("could not list %s with %s: %w", k.what(), k.selectors(), err)
	}
	names := make([]string, 0, len(list.Items))
	for _, item := range list.Items {
		names = append(names, item.GetName())
	}
	return names, nil
}
