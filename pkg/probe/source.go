package probe

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
)

const (
	sourceContainer = "probe"
	// deleteTimeout bounds the clean-up of a source pod, which runs even when the probe's context ended.
	deleteTimeout = 10 * time.Second
	// Labels that let an operator find (and clean up) pods left by a killed run.
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelProbe     = "ecschaos.io/probe"
	managedBy      = "ecs-invalid-container-image"
)

// sourceChecker runs the command in a pod of the given image and compares its output (the pod's log).
// Litmus keeps a helper pod alive and execs into it; running the command as the pod's own process needs
// no exec permission and gives the same output.
type sourceChecker struct {
	def  Definition
	in   *CmdInputs
	deps Deps
}

func (s *sourceChecker) check(ctx context.Context) (string, error) {
	pods := s.deps.Pods
	if pods == nil {
		return "", fmt.Errorf("source mode needs the Kubernetes API, which is not configured for this run")
	}
	namespace := s.deps.Namespace
	if namespace == "" {
		return "", fmt.Errorf("source mode needs a namespace for its pod (CHAOS_NAMESPACE)")
	}
	created, err := pods.Create(ctx, namespace, s.podSpec())
	if err != nil {
		return "", fmt.Errorf("could not create the source pod in %s: %w", namespace, err)
	}
	name := created.Name
	defer func() {
		// The pod is removed whatever happened, with its own bound: ctx may already be over.
		delCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
		_ = pods.Delete(delCtx, namespace, name)
	}()

	poll := pollInterval(s.def.Run.ProbeTimeout)
	last := created
	for {
		switch last.Status.Phase {
		case corev1.PodSucceeded, corev1.PodFailed:
			return s.judge(ctx, namespace, last)
		}
		if !clock.Sleep(s.deps.Clock, poll, ctx.Done()) {
			return "", fmt.Errorf("source pod %s/%s did not finish: %w (%s)", namespace, name, context.Cause(ctx), podState(last))
		}
		pod, err := pods.Get(ctx, namespace, name)
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("source pod %s/%s did not finish: %w (%s)", namespace, name, context.Cause(ctx), podState(last))
			}
			return "", fmt.Errorf("could not read source pod %s/%s: %w", namespace, name, err)
		}
		last = pod
	}
}

func (s *sourceChecker) judge(ctx context.Context, namespace string, pod *corev1.Pod) (string, error) {
	raw, err := s.deps.Pods.Logs(ctx, namespace, pod.Name, sourceContainer, maxBody)
	if err != nil {
		return "", fmt.Errorf("source pod %s/%s finished (%s) but its output could not be read: %w", namespace, pod.Name, pod.Status.Phase, err)
	}
	output := strings.TrimSpace(string(raw))
	if pod.Status.Phase == corev1.PodFailed {
		return "", fmt.Errorf("source pod %s/%s failed (%s); output: %q", namespace, pod.Name, podState(pod), abbreviate(output, 300))
	}
	ok, detail := s.in.Comparator.compare(output)
	return result(ok, "output: "+detail)
}

func (s *sourceChecker) podSpec() *corev1.Pod {
	src := s.in.Source
	labels := map[string]string{}
	for k, v := range src.Labels {
		labels[k] = v
	}
	labels[labelManagedBy] = managedBy
	labels[labelProbe] = labelValue(s.def.Name)
	privileged := src.Privileged
	// The kubelet ends the pod at the deadline too, so a pod that outlives a killed run does not linger.
	deadline := int64(math.Ceil(s.def.Run.ProbeTimeout.Seconds())) + 1
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: dnsPrefix(s.def.Name) + "-probe-",
			Labels:       labels,
			Annotations:  src.Annotations,
		},
		Spec: corev1.PodSpec{
			RestartPolicy:         corev1.RestartPolicyNever,
			ServiceAccountName:    s.deps.ServiceAccount,
			ActiveDeadlineSeconds: &deadline,
			HostNetwork:           src.HostNetwork,
			NodeSelector:          src.NodeSelector,
			Tolerations:           src.Tolerations,
			ImagePullSecrets:      src.ImagePullSecrets,
			Containers: []corev1.Container{{
				Name:            sourceContainer,
				Image:           src.Image,
				ImagePullPolicy: src.ImagePullPolicy,
				Command:         []string{"/bin/sh", "-c", s.in.Command},
				Env:             src.Env,
				SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
			}},
		},
	}
}

// podState says why a pod has not finished: its phase and the container's waiting reason, if any.
func podState(pod *corev1.Pod) string {
	state := "phase " + string(pod.Status.Phase)
	if pod.Status.Phase == "" {
		state = "phase Pending"
	}
	if pod.Spec.NodeName == "" {
		state += ", not scheduled on any node"
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			state += ", container waiting: " + w.Reason
		}
		if t := cs.State.Terminated; t != nil {
			state += fmt.Sprintf(", container exited with status %d (%s)", t.ExitCode, t.Reason)
		}
	}
	return state
}

// pollInterval reads the pod about ten times per probeTimeout, within sane bounds.
func pollInterval(timeout time.Duration) time.Duration {
	d := timeout / 10
	switch {
	case d < 100*time.Millisecond:
		return 100 * time.Millisecond
	case d > 2*time.Second:
		return 2 * time.Second
	}
	return d
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsPrefix turns a probe name into the start of a pod name.
func dnsPrefix(name string) string {
	p := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(p) > 40 {
		p = strings.Trim(p[:40], "-")
	}
	if p == "" {
		p = "cmd"
	}
	return p
}

var notLabel = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func labelValue(name string) string {
	v := notLabel.ReplaceAllString(name, "-")
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "-_.")
}
