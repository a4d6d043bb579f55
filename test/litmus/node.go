package litmus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
)

// Image is what a container image stands for on this machine.
type Image struct {
	// Binary is the local executable.
	Binary string
	// Entrypoint is the binary's path in the image: a container whose command starts with it runs Binary. Empty
	// when the image's entrypoint is the binary and pods give no command.
	Entrypoint string
	// Env is what the image's ENV sets; the pod's env wins.
	Env map[string]string
}

// ExitHook may change how the kubelet reports a container that ended with code: return the code to report.
type ExitHook func(pod *corev1.Pod, code int) int

// Node is the scheduler, job controller, root-CA publisher, garbage collector (for Jobs) and kubelet of a
// one-node cluster (see the package doc). Start it with StartNode.
type Node struct {
	// Name is the Node object's name; pods are bound to it.
	Name string

	cs      kubernetes.Interface
	apiPort string
	caData  []byte
	images  map[string]Image
	dir     string
	logf    func(format string, args ...any)
	// jobBackoff is the job controller's delay before the first retry, doubled for each failure after that.
	jobBackoff time.Duration

	mu      sync.Mutex
	running map[types.UID]*container
	onExit  ExitHook
	envs    map[string]map[string]string // "namespace/pod" -> the environment its container got
	started []StartedPod
	exits   map[string]int // "namespace/pod" -> its container's last real exit code
	wg      sync.WaitGroup
}

// NodeOptions configures StartNode.
type NodeOptions struct {
	Client kubernetes.Interface
	// APIPort is the apiserver's port on 127.0.0.1: pods get it as KUBERNETES_SERVICE_PORT.
	APIPort string
	// CAData is the apiserver's serving CA: published as kube-root-ca.crt, the pods' ca.crt.
	CAData []byte
	// Images maps an image name without tag or digest to what runs for it.
	Images map[string]Image
	// JobBackoff is the first retry delay of a failed Job pod; Kubernetes' is 10 s (DefaultJobPodFailureBackOff,
	// pkg/controller/job/job_controller.go).
	JobBackoff time.Duration
	Logf       func(format string, args ...any)
}

// container is one running container process.
type container struct {
	pod       *corev1.Pod
	name      string
	cmd       *exec.Cmd
	log       string
	started   time.Time
	restarts  int32
	signalled bool
	done      chan struct{}
}

// pollEvery is how often the node reads the apiserver; a real kubelet and job controller react to watch events
// within about this time.
const pollEvery = 150 * time.Millisecond

// StartNode registers the Node object, serves container logs for the apiserver, and runs the loop until ctx
// ends; then it kills every container it started and returns from wait.
func StartNode(ctx context.Context, o NodeOptions) (node *Node, wait func(), err error) {
	dir, err := os.MkdirTemp("/var/tmp", "litmus-node-")
	if err != nil {
		return nil, nil, err
	}
	// Containers run as other users (runAsUser) and must reach their binaries and volumes.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, nil, err
	}
	n := &Node{Name: "litmus-e2e-node", cs: o.Client, apiPort: o.APIPort, caData: o.CAData, images: o.Images, dir: dir,
		logf: o.Logf, jobBackoff: o.JobBackoff, running: map[types.UID]*container{}, envs: map[string]map[string]string{}, exits: map[string]int{}}
	if n.logf == nil {
		n.logf = func(string, ...any) {}
	}
	logPort, stopLogs, err := n.serveLogs()
	if err != nil {
		return nil, nil, err
	}
	if err := n.register(ctx, logPort); err != nil {
		stopLogs()
		return nil, nil, err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		t := time.NewTicker(pollEvery)
		defer t.Stop()
		for {
			n.step(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	wait = func() {
		n.wg.Wait()
		n.mu.Lock()
		var all []*container
		for _, c := range n.running {
			all = append(all, c)
		}
		n.mu.Unlock()
		for _, c := range all {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		stopLogs()
		_ = os.RemoveAll(dir)
	}
	return n, wait, nil
}

// OnExit sets the hook that decides the exit code reported for a container (nil: the real one).
func (n *Node) OnExit(h ExitHook) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onExit = h
}

// Signal sends sig to the running container of the pod; false when none runs.
func (n *Node) Signal(namespace, pod string, sig syscall.Signal) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.running {
		if c.pod.Namespace == namespace && c.pod.Name == pod {
			return c.cmd.Process.Signal(sig) == nil
		}
	}
	return false
}

// Env returns the environment the pod's container was started with (nil when it never started here).
func (n *Node) Env(namespace, pod string) map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.envs[namespace+"/"+pod]
}

// StartedPod is a pod whose container this node started.
type StartedPod struct {
	Namespace, Name, Image, ServiceAccount string
}

// Started lists the pods this node started, in order.
func (n *Node) Started() []StartedPod {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]StartedPod(nil), n.started...)
}

// ExitCode returns the real exit code of the pod's container (128+signal when a signal ended it); ok is false
// while it has not ended here.
func (n *Node) ExitCode(namespace, pod string) (code int, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	code, ok = n.exits[namespace+"/"+pod]
	return code, ok
}

// Log returns what the container of the pod wrote so far (empty when it never ran here).
func (n *Node) Log(namespace, pod string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.running {
		if c.pod.Namespace == namespace && c.pod.Name == pod {
			data, _ := os.ReadFile(c.log)
			return string(data)
		}
	}
	data, _ := os.ReadFile(n.logPath(namespace, pod))
	return string(data)
}

func (n *Node) logPath(namespace, pod string) string {
	return filepath.Join(n.dir, "logs", namespace+"_"+pod+".log")
}

func (n *Node) register(ctx context.Context, logPort int) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}}}
	created, err := n.cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = n.cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	now := metav1.Now()
	// The apiserver reaches a node's kubelet (for pods/log) at its address and kubeletEndpoint port.
	created.Status = corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(logPort)}},
		Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now, Reason: "KubeletReady"}},
	}
	if _, err := n.cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node status: %w", err)
	}
	return nil
}

// step is one pass of every controller over what the apiserver holds.
func (n *Node) step(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	if err := n.publishRootCA(ctx); err != nil && ctx.Err() == nil {
		n.logf("node: root CA: %v", err)
	}
	pods, err := n.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		if ctx.Err() == nil {
			n.logf("node: list pods: %v", err)
		}
		return
	}
	jobs, err := n.cs.BatchV1().Jobs("").List(ctx, metav1.ListOptions{})
	if err != nil {
		if ctx.Err() == nil {
			n.logf("node: list jobs: %v", err)
		}
		return
	}
	n.jobController(ctx, jobs.Items, pods.Items)
	n.kubelet(ctx, pods.Items)
}

// publishRootCA does what the controller-manager's root-ca-cert-publisher and serviceaccounts controller do:
// every namespace holds kube-root-ca.crt, which the service-account volume the apiserver adds to each pod
// mounts as ca.crt, and the ServiceAccount "default".
func (n *Node) publishRootCA(ctx context.Context) error {
	nss, err := n.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, ns := range nss.Items {
		if ns.DeletionTimestamp != nil {
			continue
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: ns.Name}, Data: map[string]string{"ca.crt": string(n.caData)}}
		if _, err := n.cs.CoreV1().ConfigMaps(ns.Name).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
		if _, err := n.cs.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// ---- the job controller (pkg/controller/job/job_controller.go of Kubernetes, the parts a one-pod Job uses) ----

func (n *Node) jobController(ctx context.Context, jobs []batchv1.Job, pods []corev1.Pod) {
	live := map[types.UID]bool{}
	for i := range jobs {
		job := &jobs[i]
		live[job.UID] = true
		if job.DeletionTimestamp != nil || jobFinished(job) {
			continue
		}
		var active, succeeded, failed int32
		var lastFailure time.Time
		for j := range pods {
			p := &pods[j]
			if !ownedBy(p, job.UID) {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodSucceeded:
				succeeded++
			case corev1.PodFailed:
				failed++
				if t := finishedAt(p); t.After(lastFailure) {
					lastFailure = t
				}
			default:
				if p.DeletionTimestamp == nil {
					active++
				}
			}
		}
		limit := int32(6) // the API's default backoffLimit, also applied when the field is unset
		if job.Spec.BackoffLimit != nil {
			limit = *job.Spec.BackoffLimit
		}
		status := job.Status.DeepCopy()
		now := metav1.Now()
		if status.StartTime == nil {
			status.StartTime = &now
		}
		status.Active, status.Succeeded, status.Failed = active, succeeded, failed
		switch {
		case succeeded > 0:
			status.CompletionTime = &now
			status.Conditions = append(status.Conditions,
				batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now, Reason: "CompletionsReached"},
				batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now, Reason: "CompletionsReached"})
		case failed > limit:
			status.Conditions = append(status.Conditions,
				batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"},
				batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"})
		case active == 0:
			// A failed pod is replaced after the backoff: 10 s, doubled for every further failure
			// (getRemainingBackoff in Kubernetes' job controller).
			delay := time.Duration(0)
			if failed > 0 {
				delay = n.jobBackoff << (failed - 1)
			}
			if failed == 0 || time.Since(lastFailure) >= delay {
				if err := n.createJobPod(ctx, job); err != nil {
					n.logf("job controller: %s/%s: %v", job.Namespace, job.Name, err)
				} else {
					status.Active = 1
				}
			}
		}
		if !jobStatusEqual(&job.Status, status) {
			job.Status = *status
			if _, err := n.cs.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) {
				n.logf("job controller: status of %s/%s: %v", job.Namespace, job.Name, err)
			}
		}
	}
	// The garbage collector's part: a deleted Job's pods go too (background propagation).
	for i := range pods {
		p := &pods[i]
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "Job" || live[ref.UID] || p.DeletionTimestamp != nil {
			continue
		}
		uid := p.UID
		err := n.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			n.logf("garbage collector: pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
}

func jobFinished(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func jobStatusEqual(a, b *batchv1.JobStatus) bool {
	return a.Active == b.Active && a.Succeeded == b.Succeeded && a.Failed == b.Failed && len(a.Conditions) == len(b.Conditions) &&
		(a.StartTime == nil) == (b.StartTime == nil)
}

func ownedBy(p *corev1.Pod, uid types.UID) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == uid
}

func finishedAt(p *corev1.Pod) time.Time {
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			return t.FinishedAt.Time
		}
	}
	return p.CreationTimestamp.Time
}

// createJobPod creates the Job's pod through the apiserver, so admission applies, as the job controller does
// (pkg/controller/controller_utils.go, GetPodFromTemplate): generateName <job>-, the template's labels (which
// the apiserver completed with batch.kubernetes.io/controller-uid, controller-uid, job-name when it stored the
// Job), annotations, and a controller reference to the Job.
func (n *Node) createJobPod(ctx context.Context, job *batchv1.Job) error {
	t := job.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    job.Name + "-",
			Namespace:       job.Namespace,
			Labels:          copyMap(t.Labels),
			Annotations:     copyMap(t.Annotations),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: *t.Spec.DeepCopy(),
	}
	created, err := n.cs.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod: %w", err)
	}
	n.logf("job controller: created pod %s/%s for job %s", created.Namespace, created.Name, job.Name)
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ---- scheduler and kubelet ----

func (n *Node) kubelet(ctx context.Context, pods []corev1.Pod) {
	present := map[types.UID]bool{}
	for i := range pods {
		p := &pods[i]
		present[p.UID] = true
		terminal := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		if p.Spec.NodeName == "" {
			if !terminal && p.DeletionTimestamp == nil {
				n.bind(ctx, p)
			}
			continue
		}
		if p.Spec.NodeName != n.Name {
			continue
		}
		n.mu.Lock()
		c := n.running[p.UID]
		n.mu.Unlock()
		switch {
		case c != nil && p.DeletionTimestamp != nil && !c.signalled:
			n.terminate(c, p)
		case c == nil && p.DeletionTimestamp != nil:
			// Nothing runs: finish the deletion, as the kubelet does once the containers are gone.
			n.finishDeletion(ctx, p)
		case c == nil && !terminal && p.Status.Phase != corev1.PodRunning:
			if err := n.startContainer(ctx, p, 0); err != nil {
				n.logf("kubelet: pod %s/%s: %v", p.Namespace, p.Name, err)
				n.waiting(ctx, p, "CreateContainerConfigError", err.Error())
			}
		}
	}
	// A pod deleted with grace 0 is gone at once: kill what still runs for it.
	n.mu.Lock()
	defer n.mu.Unlock()
	for uid, c := range n.running {
		if !present[uid] && !c.signalled {
			c.signalled = true
			_ = c.cmd.Process.Kill()
		}
	}
}

func (n *Node) bind(ctx context.Context, p *corev1.Pod) {
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
		Target: corev1.ObjectReference{Kind: "Node", Name: n.Name}}
	if err := n.cs.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		n.logf("scheduler: bind %s/%s: %v", p.Namespace, p.Name, err)
	}
}

// terminate is the kubelet's answer to a graceful deletion: SIGTERM, then SIGKILL once the grace period the
// apiserver recorded has passed.
func (n *Node) terminate(c *container, p *corev1.Pod) {
	n.mu.Lock()
	c.signalled = true
	n.mu.Unlock()
	grace := int64(30)
	if p.DeletionGracePeriodSeconds != nil {
		grace = *p.DeletionGracePeriodSeconds
	}
	n.logf("kubelet: pod %s/%s deleted: SIGTERM, SIGKILL after %ds", p.Namespace, p.Name, grace)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		select {
		case <-c.done:
		case <-time.After(time.Duration(grace) * time.Second):
			n.logf("kubelet: pod %s/%s outlived its grace period: SIGKILL", p.Namespace, p.Name)
			_ = c.cmd.Process.Kill()
		}
	}()
}

func (n *Node) finishDeletion(ctx context.Context, p *corev1.Pod) {
	uid := p.UID
	zero := int64(0)
	err := n.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
		n.logf("kubelet: delete %s/%s: %v", p.Namespace, p.Name, err)
	}
}

func (n *Node) waiting(ctx context.Context, p *corev1.Pod, reason, message string) {
	p = p.DeepCopy()
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}})
	}
	_, _ = n.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
}

// imageName strips the tag and digest: registry/name:tag@sha256:... -> registry/name.
func imageName(image string) string {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		image = image[:colon]
	}
	return image
}

// startContainer runs the pod's only container (the pods of this flow have one) as a local process in a
// private mount namespace where the pod's volumes are mounted at their mountPaths.
func (n *Node) startContainer(ctx context.Context, p *corev1.Pod, restarts int32) error {
	if len(p.Spec.Containers) != 1 {
		return fmt.Errorf("%d containers; this node runs pods of one container", len(p.Spec.Containers))
	}
	spec := &p.Spec.Containers[0]
	img, ok := n.images[imageName(spec.Image)]
	if !ok {
		return fmt.Errorf("image %s has no local binary", spec.Image)
	}
	serviceEnv := map[string]string{
		"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": n.apiPort, "KUBERNETES_SERVICE_PORT_HTTPS": n.apiPort,
		"KUBERNETES_PORT": "tcp://127.0.0.1:" + n.apiPort, "KUBERNETES_PORT_443_TCP": "tcp://127.0.0.1:" + n.apiPort,
		"KUBERNETES_PORT_443_TCP_PROTO": "tcp", "KUBERNETES_PORT_443_TCP_PORT": n.apiPort, "KUBERNETES_PORT_443_TCP_ADDR": "127.0.0.1",
	}
	env, dups, err := ContainerEnv(p, spec, serviceEnv, n.objectData(ctx, p.Namespace))
	if err != nil {
		return err
	}
	if len(dups) > 0 {
		n.logf("kubelet: pod %s/%s lists %v more than once; the last wins", p.Namespace, p.Name, dups)
	}
	argv := []string{img.Binary}
	if len(spec.Command) > 0 {
		if Expand(spec.Command[0], env) != img.Entrypoint {
			return fmt.Errorf("command %v does not start the image's binary %s", spec.Command, img.Entrypoint)
		}
		for _, a := range spec.Command[1:] {
			argv = append(argv, Expand(a, env))
		}
	}
	for _, a := range spec.Args {
		argv = append(argv, Expand(a, env))
	}
	stage := filepath.Join(n.dir, string(p.UID))
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return err
	}
	vols, err := n.stageVolumes(ctx, p, stage)
	if err != nil {
		return err
	}
	script, err := mountScript(spec, vols)
	if err != nil {
		return err
	}
	uid, gid, groups := runAs(p, spec)
	run := shellQuote(argv)
	if uid != nil || gid != nil {
		u, g := int64(0), int64(0)
		if uid != nil {
			u, g = *uid, *uid
		}
		if gid != nil {
			g = *gid
		}
		ids := fmt.Sprintf("--reuid=%d --regid=%d --clear-groups", u, g)
		if len(groups) > 0 {
			var gs []string
			for _, x := range groups {
				gs = append(gs, strconv.FormatInt(x, 10))
			}
			ids = fmt.Sprintf("--reuid=%d --regid=%d --groups=%s", u, g, strings.Join(gs, ","))
		}
		run = "setpriv " + ids + " -- " + run
	}
	script = append(script, "exec "+run)
	scriptPath := filepath.Join(stage, "start.sh")
	if err := os.WriteFile(scriptPath, []byte(strings.Join(script, "\n")+"\n"), 0o700); err != nil {
		return err
	}
	procEnv := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": p.Name, "HOME": "/"}
	for k, v := range img.Env {
		procEnv[k] = v
	}
	for k, v := range env {
		procEnv[k] = v
	}
	logPath := n.logPath(p.Namespace, p.Name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// The process outlives this step's context: the node's loop ends it on deletion or at Stop.
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "/bin/sh", scriptPath)
	cmd.Env = binary.EnvList(procEnv)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = "/"
	if spec.WorkingDir != "" {
		cmd.Dir = spec.WorkingDir
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start: %w", err)
	}
	c := &container{pod: p.DeepCopy(), name: spec.Name, cmd: cmd, log: logPath, started: time.Now(), restarts: restarts, done: make(chan struct{})}
	n.mu.Lock()
	n.running[p.UID] = c
	n.envs[p.Namespace+"/"+p.Name] = env
	n.started = append(n.started, StartedPod{Namespace: p.Namespace, Name: p.Name, Image: spec.Image, ServiceAccount: p.Spec.ServiceAccountName})
	n.mu.Unlock()
	n.logf("kubelet: started %s/%s (%s): %v", p.Namespace, p.Name, spec.Image, argv)
	n.setRunning(ctx, p, c)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		err := cmd.Wait()
		logFile.Close()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		} else if err != nil {
			code = 128
		}
		n.exited(ctx, c, code)
	}()
	return nil
}

func (n *Node) setRunning(ctx context.Context, p *corev1.Pod, c *container) {
	now := metav1.NewTime(c.started)
	p = p.DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP, p.Status.PodIP = "127.0.0.1", "127.0.0.1"
	p.Status.PodIPs = []corev1.PodIP{{IP: "127.0.0.1"}}
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Conditions = conditions(now, true)
	started := true
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.name, Image: p.Spec.Containers[0].Image, Ready: true, Started: &started,
		RestartCount: c.restarts, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	if _, err := n.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		n.logf("kubelet: status of %s/%s: %v", p.Namespace, p.Name, err)
	}
}

func conditions(at metav1.Time, ready bool) []corev1.PodCondition {
	r := corev1.ConditionTrue
	if !ready {
		r = corev1.ConditionFalse
	}
	return []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: at},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: at},
		{Type: corev1.ContainersReady, Status: r, LastTransitionTime: at},
		{Type: corev1.PodReady, Status: r, LastTransitionTime: at},
	}
}

// exited records a container's end: restarted for restartPolicy OnFailure/Always after the kubelet's back-off,
// else the pod's final phase; a pod being deleted is then removed.
func (n *Node) exited(ctx context.Context, c *container, code int) {
	n.mu.Lock()
	hook := n.onExit
	n.exits[c.pod.Namespace+"/"+c.pod.Name] = code
	n.mu.Unlock()
	reported := code
	if hook != nil {
		reported = hook(c.pod, code)
	}
	reason := "Completed"
	if reported != 0 {
		reason = "Error"
	}
	n.logf("kubelet: %s/%s exited %d (reported %d)", c.pod.Namespace, c.pod.Name, code, reported)
	defer func() {
		n.mu.Lock()
		delete(n.running, c.pod.UID)
		n.mu.Unlock()
		close(c.done)
	}()
	if ctx.Err() != nil {
		return
	}
	p, err := n.cs.CoreV1().Pods(c.pod.Namespace).Get(ctx, c.pod.Name, metav1.GetOptions{})
	if err != nil || p.UID != c.pod.UID {
		return
	}
	policy := p.Spec.RestartPolicy
	if p.DeletionTimestamp == nil && (policy == corev1.RestartPolicyAlways || (policy == corev1.RestartPolicyOnFailure && reported != 0)) {
		// The kubelet's crash-loop back-off starts at 10 s (pkg/kubelet/kubelet.go, backOffPeriod).
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				if err := n.startContainer(ctx, p, c.restarts+1); err != nil {
					n.logf("kubelet: restart %s/%s: %v", p.Namespace, p.Name, err)
				}
			}
		}()
		return
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodSucceeded
	if reported != 0 {
		p.Status.Phase = corev1.PodFailed
	}
	p.Status.Conditions = conditions(now, false)
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.name, Image: p.Spec.Containers[0].Image, RestartCount: c.restarts,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(reported), Reason: reason,
			StartedAt: metav1.NewTime(c.started), FinishedAt: now}}}}
	if _, err := n.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		n.logf("kubelet: final status of %s/%s: %v", p.Namespace, p.Name, err)
	}
	if p.DeletionTimestamp != nil {
		n.finishDeletion(ctx, p)
	}
}

func (n *Node) objectData(ctx context.Context, namespace string) ObjectData {
	return func(kind, name string) (map[string][]byte, bool, error) {
		switch kind {
		case "secret":
			s, err := n.cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			return s.Data, true, nil
		default:
			cm, err := n.cs.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			data := map[string][]byte{}
			for k, v := range cm.Data {
				data[k] = []byte(v)
			}
			for k, v := range cm.BinaryData {
				data[k] = v
			}
			return data, true, nil
		}
	}
}

// volume is a volume's content staged on disk, copied into the container's mount namespace at start.
type volume struct {
	dir      string
	writable bool
}

// stageVolumes lays out each volume's files as the kubelet would (secret, configMap, projected with the bound
// service-account token, emptyDir).
func (n *Node) stageVolumes(ctx context.Context, p *corev1.Pod, stage string) (map[string]volume, error) {
	get := n.objectData(ctx, p.Namespace)
	out := map[string]volume{}
	for _, v := range p.Spec.Volumes {
		dir := filepath.Join(stage, "vol-"+v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		writable := false
		switch {
		case v.Secret != nil:
			data, found, err := get("secret", v.Secret.SecretName)
			if err != nil {
				return nil, err
			}
			if !found && (v.Secret.Optional == nil || !*v.Secret.Optional) {
				return nil, fmt.Errorf("volume %s: secret %q not found (FailedMount)", v.Name, v.Secret.SecretName)
			}
			if err := writeItems(dir, data, v.Secret.Items, v.Secret.DefaultMode); err != nil {
				return nil, err
			}
		case v.ConfigMap != nil:
			data, found, err := get("configmap", v.ConfigMap.Name)
			if err != nil {
				return nil, err
			}
			if !found && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
				return nil, fmt.Errorf("volume %s: configmap %q not found (FailedMount)", v.Name, v.ConfigMap.Name)
			}
			if err := writeItems(dir, data, v.ConfigMap.Items, v.ConfigMap.DefaultMode); err != nil {
				return nil, err
			}
		case v.EmptyDir != nil:
			writable = true
			if err := os.Chmod(dir, 0o777); err != nil {
				return nil, err
			}
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				var err error
				switch {
				case s.ServiceAccountToken != nil:
					err = n.writeToken(ctx, p, dir, s.ServiceAccountToken, v.Projected.DefaultMode)
				case s.ConfigMap != nil:
					data, found, gerr := get("configmap", s.ConfigMap.Name)
					if gerr == nil && !found && (s.ConfigMap.Optional == nil || !*s.ConfigMap.Optional) {
						gerr = fmt.Errorf("volume %s: configmap %q not found (FailedMount)", v.Name, s.ConfigMap.Name)
					}
					err = gerr
					if err == nil {
						err = writeItems(dir, data, s.ConfigMap.Items, v.Projected.DefaultMode)
					}
				case s.Secret != nil:
					data, found, gerr := get("secret", s.Secret.Name)
					if gerr == nil && !found && (s.Secret.Optional == nil || !*s.Secret.Optional) {
						gerr = fmt.Errorf("volume %s: secret %q not found (FailedMount)", v.Name, s.Secret.Name)
					}
					err = gerr
					if err == nil {
						err = writeItems(dir, data, s.Secret.Items, v.Projected.DefaultMode)
					}
				case s.DownwardAPI != nil:
					for _, it := range s.DownwardAPI.Items {
						if it.FieldRef == nil {
							return nil, fmt.Errorf("volume %s: downwardAPI item %s is not emulated", v.Name, it.Path)
						}
						val, ferr := FieldValue(p, it.FieldRef.FieldPath)
						if ferr != nil {
							return nil, fmt.Errorf("volume %s: %w", v.Name, ferr)
						}
						if err = writeFile(dir, it.Path, []byte(val), modeOf(it.Mode, v.Projected.DefaultMode)); err != nil {
							break
						}
					}
				default:
					err = fmt.Errorf("volume %s: this projected source is not emulated", v.Name)
				}
				if err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("volume %s: its type is not emulated", v.Name)
		}
		out[v.Name] = volume{dir: dir, writable: writable}
	}
	return out, nil
}

// writeToken asks the TokenRequest API for a token bound to the pod, as the kubelet does for a projected
// serviceAccountToken source.
func (n *Node) writeToken(ctx context.Context, p *corev1.Pod, dir string, s *corev1.ServiceAccountTokenProjection, mode *int32) error {
	seconds := int64(3600)
	if s.ExpirationSeconds != nil && *s.ExpirationSeconds > seconds {
		seconds = *s.ExpirationSeconds
	}
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	var aud []string
	if s.Audience != "" {
		aud = []string{s.Audience}
	}
	tr, err := n.cs.CoreV1().ServiceAccounts(p.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences: aud, ExpirationSeconds: &seconds,
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for serviceaccount %s/%s: %w", p.Namespace, sa, err)
	}
	return writeFile(dir, s.Path, []byte(tr.Status.Token), modeOf(nil, mode))
}

func modeOf(item, def *int32) os.FileMode {
	switch {
	case item != nil:
		return os.FileMode(*item)
	case def != nil:
		return os.FileMode(*def)
	}
	return 0o644
}

func writeItems(dir string, data map[string][]byte, items []corev1.KeyToPath, def *int32) error {
	if len(items) == 0 {
		for k, v := range data {
			if err := writeFile(dir, k, v, modeOf(nil, def)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		if v, ok := data[it.Key]; ok {
			if err := writeFile(dir, it.Path, v, modeOf(it.Mode, def)); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFile(dir, rel string, data []byte, mode os.FileMode) error {
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// mountScript returns the shell lines that mount the container's volumes in its private mount namespace:
// each a tmpfs holding a copy of the staged files, read-only unless the volume is writable.
func mountScript(spec *corev1.Container, vols map[string]volume) ([]string, error) {
	// /var/run is /run here: a fresh tmpfs there keeps the host's /run/secrets out of the container.
	lines := []string{"set -e", "mount -t tmpfs -o mode=0755 tmpfs /run"}
	mounts := append([]corev1.VolumeMount(nil), spec.VolumeMounts...)
	sort.SliceStable(mounts, func(i, j int) bool {
		return strings.Count(filepath.Clean(mounts[i].MountPath), "/") < strings.Count(filepath.Clean(mounts[j].MountPath), "/")
	})
	var readOnly []string
	for _, m := range mounts {
		v, ok := vols[m.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %s: no such volume", m.Name)
		}
		target := filepath.Clean(m.MountPath)
		if strings.HasPrefix(target, "/var/run/") || target == "/var/run" {
			target = "/run" + strings.TrimPrefix(target, "/var/run")
		}
		src := v.dir
		if m.SubPath != "" {
			src = filepath.Join(src, m.SubPath)
		}
		if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
			lines = append(lines, fmt.Sprintf("[ -e %s ] || touch %s", quote(target), quote(target)), fmt.Sprintf("mount --bind %s %s", quote(src), quote(target)))
		} else {
			mode := "0755"
			if v.writable {
				mode = "0777"
			}
			lines = append(lines, "mkdir -p "+quote(target), fmt.Sprintf("mount -t tmpfs -o mode=%s tmpfs %s", mode, quote(target)),
				fmt.Sprintf("cp -a %s/. %s/", quote(src), quote(target)))
		}
		if !v.writable || m.ReadOnly {
			readOnly = append(readOnly, target)
		}
	}
	for i := len(readOnly) - 1; i >= 0; i-- {
		lines = append(lines, "mount -o remount,ro,bind "+quote(readOnly[i]))
	}
	return lines, nil
}

func runAs(p *corev1.Pod, c *corev1.Container) (uid, gid *int64, groups []int64) {
	if psc := p.Spec.SecurityContext; psc != nil {
		uid, gid = psc.RunAsUser, psc.RunAsGroup
		groups = append(groups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			groups = append(groups, *psc.FSGroup)
		}
	}
	if csc := c.SecurityContext; csc != nil {
		if csc.RunAsUser != nil {
			uid = csc.RunAsUser
		}
		if csc.RunAsGroup != nil {
			gid = csc.RunAsGroup
		}
	}
	return uid, gid, groups
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}
