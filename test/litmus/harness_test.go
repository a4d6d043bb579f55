//go:build litmus

package litmus

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
	"github.com/ecschaos/ecs-invalid-container-image/test/prometheus"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// EnvBin names the folder holding chaos-operator, chaos-runner and chaos-exporter; `make litmus-e2e` sets it.
const EnvBin = "ECSCHAOS_LITMUS_BIN"

const (
	experimentName = "ecs-invalid-container-image"
	faultImage     = "ghcr.io/ecschaos/ecs-invalid-container-image"
	runnerImage    = "litmuschaos/chaos-runner"
	// runnerTag is the chaos-runner release the operator is told to start (CHAOS_RUNNER_IMAGE).
	runnerTag     = "3.18.0"
	awsCLIImage   = "amazon/aws-cli"
	originalImage = "nginx:1.27"
	// exporterURL is where chaos-exporter serves in its network namespace (reached through stack.scraper).
	exporterURL = "http://127.0.0.1:8080/metrics"
	fakeKeyID   = "AKIDLITMUSE2EFAKEKEY"
	fakeSecret  = "litmus-e2e-fake-secret-DO-NOT-PRINT"
	// runTimeout bounds one engine's run, from creation to the verdict in its status.
	runTimeout = 4 * time.Minute
)

var (
	enginesGVR = schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosengines"}
	resultsGVR = schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosresults"}
)

// faultBinary is the race-enabled build of ./experiment; TestMain sets it.
var faultBinary string

// stack is the package's one apiserver with Litmus's CRDs, the node, chaos-operator and chaos-exporter.
var stack = &sharedStack{}

func TestMain(m *testing.M) {
	if os.Getenv(EnvNetnsHelper) == "1" {
		// This process is the bridge inside chaos-exporter's network namespace, not a test run.
		args := os.Args[1:]
		if len(args) > 0 && args[0] == "--" {
			args = args[1:]
		}
		os.Exit(RunNetnsHelper(args))
	}
	dir := os.Getenv(EnvBin)
	var missing []string
	for _, name := range []string{"chaos-operator", "chaos-runner", "chaos-exporter"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); dir == "" || err != nil || fi.IsDir() {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "litmus: %s must name a folder holding chaos-operator, chaos-runner and chaos-exporter (missing: %s).\n"+
			"Run `make litmus-e2e LITMUS_BIN=<folder holding chaos-operator, chaos-runner and chaos-exporter>`; see test/litmus/README.md.\n",
			EnvBin, strings.Join(missing, ", "))
		os.Exit(1)
	}
	code := binary.Main(m, "litmus", binary.Race, func(path string) { faultBinary = path })
	stack.stop()
	os.Exit(code)
}

type sharedStack struct {
	once    sync.Once
	err     error
	cluster *kube.Cluster
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	node    *Node
	cancel  context.CancelFunc
	wait    func()
	procs   []*exec.Cmd
	logs    []string
	binDir  string
	// scraper reaches chaos-exporter's :8080 in its network namespace.
	scraper *http.Client
}

func (s *sharedStack) get(t *testing.T) *sharedStack {
	t.Helper()
	s.once.Do(func() { s.err = s.start(t) })
	if s.err != nil {
		t.Fatalf("litmus stack: %v", s.err)
	}
	return s
}

func (s *sharedStack) start(t *testing.T) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := kube.New(ctx)
	if err != nil {
		return err
	}
	s.cluster = c
	c.ApplyFile(t, filepath.Join(repoRoot(t), "manifests", "crds", "chaos_crds.yaml"))
	if s.cs, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	if s.dyn, err = dynamic.NewForConfig(c.Config); err != nil {
		return err
	}
	// Binaries in a folder every user can read: the fault runs as 65532 (the experiment's runAsUser).
	if s.binDir, err = os.MkdirTemp("/var/tmp", "litmus-bin-"); err != nil {
		return err
	}
	_ = os.Chmod(s.binDir, 0o755)
	litmusBin := os.Getenv(EnvBin)
	for src, name := range map[string]string{faultBinary: "experiment", filepath.Join(litmusBin, "chaos-runner"): "chaos-runner"} {
		if err := copyFile(src, filepath.Join(s.binDir, name)); err != nil {
			return err
		}
	}
	aws, err := exec.LookPath("aws")
	if err != nil {
		return fmt.Errorf("the aws CLI (for the engine's cmdProbe in source mode) is not on PATH: %w", err)
	}
	if real, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
		aws = strings.TrimSpace(string(real))
	}
	// The image's aws CLI is version 2, which takes the region from AWS_REGION; the local one may be version 1,
	// which reads only AWS_DEFAULT_REGION: the image's shell maps one to the other.
	shell := filepath.Join(s.binDir, "aws-cli-sh")
	if err := os.WriteFile(shell, []byte("#!/bin/sh\nexport AWS_DEFAULT_REGION=\"${AWS_DEFAULT_REGION:-$AWS_REGION}\"\nexec /bin/sh \"$@\"\n"), 0o755); err != nil {
		return err
	}
	images := map[string]Image{
		runnerImage: {Binary: filepath.Join(s.binDir, "chaos-runner")},
		faultImage:  {Binary: filepath.Join(s.binDir, "experiment"), Entrypoint: "/experiment"},
		// The probe image: a shell with the aws CLI, as amazon/aws-cli has.
		awsCLIImage: {Binary: shell, Entrypoint: "/bin/sh", Env: map[string]string{"PATH": filepath.Dir(aws) + ":/usr/local/bin:/usr/bin:/bin"}},
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(c.URL, "https://"), ":")
	nodeCtx, nodeCancel := context.WithCancel(context.Background())
	s.cancel = nodeCancel
	s.node, s.wait, err = StartNode(nodeCtx, NodeOptions{Client: s.cs, APIPort: port, CAData: c.Config.CAData, Images: images,
		JobBackoff: 10 * time.Second, Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+f+"\n", a...) }})
	if err != nil {
		return err
	}
	// chaos-operator out of cluster: controller-runtime reads KUBECONFIG; WATCH_NAMESPACE "" watches all
	// namespaces (main.go); no metrics or health listeners, no analytics calls.
	if err := s.startProcess("chaos-operator", filepath.Join(litmusBin, "chaos-operator"),
		[]string{"KUBECONFIG=" + c.Kubeconfig, "WATCH_NAMESPACE=", "CHAOS_RUNNER_IMAGE=" + runnerImage + ":" + runnerTag, "ANALYTICS=FALSE",
			"POD_NAME=chaos-operator", "POD_NAMESPACE=litmus", "OPERATOR_NAME=chaos-operator"},
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--leader-elect=false"); err != nil {
		return err
	}
	// chaos-exporter takes -kubeconfig (pkg/clients/clientset.go) and serves the fixed :8080
	// (cmd/exporter/main.go): it runs in its own network namespace, bridged as netns.go describes.
	apiSock, portSock := filepath.Join(s.binDir, "api.sock"), filepath.Join(s.binDir, "exporter.sock")
	apiLn, err := net.Listen("unix", apiSock)
	if err != nil {
		return err
	}
	apiAddr := strings.TrimPrefix(c.URL, "https://")
	go Forward(nodeCtx, apiLn, func() (net.Conn, error) { return net.Dial("tcp", apiAddr) })
	s.scraper = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", portSock)
		}}}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := s.startProcess("chaos-exporter", "unshare", []string{
		"WATCH_NAMESPACE=", EnvNetnsHelper + "=1", EnvNetnsAPIAddr + "=" + apiAddr, EnvNetnsAPISock + "=" + apiSock, EnvNetnsPortSock + "=" + portSock},
		"-n", "--", self, "--", filepath.Join(litmusBin, "chaos-exporter"), "-kubeconfig="+c.Kubeconfig); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := s.scraper.Get(exporterURL)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos-exporter does not serve %s: %v\n%s", exporterURL, err, tail(s.logs[len(s.logs)-1]))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

func (s *sharedStack) startProcess(name, path string, env []string, args ...string) error {
	logPath := filepath.Join(s.binDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + s.binDir}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.procs = append(s.procs, cmd)
	s.logs = append(s.logs, logPath)
	return nil
}

func (s *sharedStack) stop() {
	for _, p := range s.procs {
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if os.Getenv("LITMUS_E2E_KEEP_LOGS") != "" {
		for _, l := range s.logs {
			fmt.Fprintf(os.Stderr, "---- %s\n%s\n", l, tail(l))
		}
	}
	if s.cancel != nil {
		s.cancel()
		s.wait()
	}
	if s.cluster != nil {
		s.cluster.Stop()
	}
	if s.binDir != "" {
		_ = os.RemoveAll(s.binDir)
	}
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 6000 {
		data = data[len(data)-6000:]
	}
	return string(data)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// ---- one test's world: a namespace with the shipped manifests, an ECS simulator, the probes' servers ----

type world struct {
	*sharedStack
	ns      string
	sim     *ecssim.Simulator
	ecs     *ecs.Client
	ecsURL  string
	cluster string
	// httpStatus is what the availability probe's URL answers.
	httpStatus atomic.Int32
	httpURL    string
	prom       *prometheus.Server
	services   []string
	originals  map[string]types.Service
}

// newWorld seeds the given services in a simulator and installs the shipped manifests in a new namespace.
func newWorld(t *testing.T, services ...string) *world {
	t.Helper()
	s := stack.get(t)
	w := &world{sharedStack: s, ns: s.cluster.Namespace(t), cluster: "chaos", services: services, originals: map[string]types.Service{}}
	w.sim, w.ecs, w.ecsURL = ecssim.StartServer(t, ecssim.Options{Timing: ecssim.ProcessTiming()})
	w.sim.AddImage(originalImage, "")
	for _, svc := range services {
		if _, err := w.sim.SeedService(t.Context(), w.ecs, ecssim.SeedSpec{Cluster: w.cluster, Service: svc, Family: svc, Image: originalImage, DesiredCount: 2,
			DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}}); err != nil {
			t.Fatalf("seed %s: %v", svc, err)
		}
		w.originals[svc] = w.service(t, svc)
	}
	w.sim.ResetRequests()

	w.httpStatus.Store(http.StatusOK)
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { rw.WriteHeader(int(w.httpStatus.Load())) }))
	t.Cleanup(hs.Close)
	w.httpURL = hs.URL + "/healthz"
	// What a CloudWatch exporter would publish from Container Insights: each service's pending task count.
	metrics := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		out, err := w.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(w.cluster), Services: services})
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(rw, "# TYPE aws_ecs_pending_task_count_average gauge")
		for _, svc := range out.Services {
			fmt.Fprintf(rw, "aws_ecs_pending_task_count_average{cluster_name=%q,service_name=%q} %d\n", w.cluster, aws.ToString(svc.ServiceName), svc.PendingCount)
		}
	}))
	t.Cleanup(metrics.Close)
	w.prom = prometheus.Start(t, strings.TrimPrefix(metrics.URL, "http://"))

	root := repoRoot(t)
	for _, f := range []string{"rbac.yaml", "rbac-litmus-runner.yaml", "experiment.yaml", "secret.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, "manifests", "fault", f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		// What rbac.yaml tells a user applying the file on its own: the subjects' namespace is the chaos namespace.
		text = strings.ReplaceAll(text, "  namespace: default\n", "  namespace: "+w.ns+"\n")
		text = strings.ReplaceAll(text, "REPLACE_WITH_ACCESS_KEY_ID", fakeKeyID)
		text = strings.ReplaceAll(text, "REPLACE_WITH_SECRET_ACCESS_KEY", fakeSecret)
		path := filepath.Join(t.TempDir(), f)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := s.cluster.Kubectl(t, "apply", "-n", w.ns, "-f", path); err != nil {
			t.Fatalf("apply %s: %v\n%s", f, err, out)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			w.dumpLogs(t)
		}
	})
	return w
}

func (w *world) service(t *testing.T, name string) types.Service {
	t.Helper()
	return simenv.Service(t, w.ecs, w.cluster, name)
}

// engineOptions are the parts of the sample engine a test changes beyond its placeholders.
type engineOptions struct {
	name    string
	service string
	// hold is TOTAL_CHAOS_DURATION and CHAOS_INTERVAL, in seconds (the sample's 120 would make the suite slow).
	hold int
	// noGrace removes terminationGracePeriodSeconds from the engine.
	noGrace bool
}

// createEngine creates a ChaosEngine from manifests/fault/engine.yaml with only its placeholders replaced
// (name, my-cluster, my-service, the probes' endpoints), a shorter hold, the simulator as the ECS endpoint,
// and the test credentials where the sample says to put them; it returns the engine's UID.
func (w *world) createEngine(t *testing.T, o engineOptions) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "manifests", "fault", "engine.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	text = strings.ReplaceAll(text, "https://my-service.example.com/healthz", w.httpURL)
	text = strings.ReplaceAll(text, "http://prometheus-server.monitoring.svc:9090", w.prom.URL)
	text = strings.ReplaceAll(text, "my-cluster", w.cluster)
	text = strings.ReplaceAll(text, "my-service", o.service)
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatalf("engine.yaml: %v", err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetName(o.name)
	u.SetNamespace(w.ns)
	if o.noGrace {
		unstructured.RemoveNestedField(u.Object, "spec", "terminationGracePeriodSeconds")
	}
	// NoCopy: the changes below are made in place, in the object that is created.
	exps, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "experiments")
	exp := exps.([]any)[0].(map[string]any)
	comps := exp["spec"].(map[string]any)["components"].(map[string]any)
	env := comps["env"].([]any)
	for _, e := range env {
		m := e.(map[string]any)
		switch m["name"] {
		case "TOTAL_CHAOS_DURATION", "CHAOS_INTERVAL":
			m["value"] = fmt.Sprint(o.hold)
		}
	}
	env = append(env, map[string]any{"name": "AWS_ENDPOINT_URL", "value": w.ecsURL})
	comps["env"] = env
	probes := exp["spec"].(map[string]any)["probe"].([]any)
	for _, p := range probes {
		m := p.(map[string]any)
		if m["type"] != "cmdProbe" {
			continue
		}
		// The sample's advice for a credentials-file setup: give the probe's pod its keys through env.
		src := m["cmdProbe/inputs"].(map[string]any)["source"].(map[string]any)
		src["env"] = append(src["env"].([]any),
			map[string]any{"name": "AWS_ENDPOINT_URL", "value": w.ecsURL},
			map[string]any{"name": "AWS_ACCESS_KEY_ID", "value": fakeKeyID},
			map[string]any{"name": "AWS_SECRET_ACCESS_KEY", "value": fakeSecret})
	}
	created, err := w.dyn.Resource(enginesGVR).Namespace(w.ns).Create(t.Context(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ChaosEngine %s: %v", o.name, err)
	}
	return string(created.GetUID())
}

func (w *world) engine(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := w.dyn.Resource(enginesGVR).Namespace(w.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ChaosEngine %s: %v", name, err)
	}
	return u
}

// expStatus is chaos-runner's entry for the experiment in the engine's status.experiments.
type expStatus struct{ Status, Verdict, ExperimentPod string }

func (w *world) engineExperiment(t *testing.T, name string) (expStatus, string) {
	u := w.engine(t, name)
	engineStatus, _, _ := unstructured.NestedString(u.Object, "status", "engineStatus")
	exps, _, _ := unstructured.NestedSlice(u.Object, "status", "experiments")
	for _, e := range exps {
		m := e.(map[string]any)
		if m["name"] == experimentName {
			return expStatus{Status: fmt.Sprint(m["status"]), Verdict: fmt.Sprint(m["verdict"]), ExperimentPod: fmt.Sprint(m["experimentPod"])}, engineStatus
		}
	}
	return expStatus{}, engineStatus
}

// waitVerdict waits until chaos-runner has written a final verdict for the experiment into the engine's status.
func (w *world) waitVerdict(t *testing.T, name string) expStatus {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	var last expStatus
	for time.Now().Before(deadline) {
		st, engineStatus := w.engineExperiment(t, name)
		last = st
		if st.Verdict != "" && st.Verdict != "Awaited" && st.Verdict != "<nil>" && (engineStatus == "completed" || engineStatus == "stopped") {
			return st
		}
		select {
		case <-t.Context().Done():
			t.FailNow()
		case <-time.After(300 * time.Millisecond):
		}
	}
	t.Fatalf("engine %s: no final verdict within %s; last status %+v", name, runTimeout, last)
	return last
}

// waitFor polls cond every 200 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		select {
		case <-t.Context().Done():
			t.FailNow()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (w *world) result(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := w.dyn.Resource(resultsGVR).Namespace(w.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ChaosResult %s: %v", name, err)
	}
	return u
}

func (w *world) results(t *testing.T) []unstructured.Unstructured {
	t.Helper()
	l, err := w.dyn.Resource(resultsGVR).Namespace(w.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list ChaosResults: %v", err)
	}
	return l.Items
}

func str(u *unstructured.Unstructured, path ...string) string {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func num(u *unstructured.Unstructured, path ...string) int64 {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

// faultPods lists the experiment Job's pods of one engine, oldest first.
func (w *world) faultPods(t *testing.T, engineUID string) []corev1.Pod {
	t.Helper()
	l, err := w.cs.CoreV1().Pods(w.ns).List(t.Context(), metav1.ListOptions{LabelSelector: "chaosUID=" + engineUID + ",app.kubernetes.io/component=experiment-job"})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	pods := l.Items
	for i := 1; i < len(pods); i++ {
		for j := i; j > 0 && pods[j].CreationTimestamp.Before(&pods[j-1].CreationTimestamp); j-- {
			pods[j], pods[j-1] = pods[j-1], pods[j]
		}
	}
	return pods
}

// assertRestored: the service runs its original revision with its original deployment configuration.
func (w *world) assertRestored(t *testing.T, svc string) {
	t.Helper()
	got, want := w.service(t, svc), w.originals[svc]
	if aws.ToString(got.TaskDefinition) != aws.ToString(want.TaskDefinition) {
		t.Errorf("%s runs %s, want the original %s", svc, aws.ToString(got.TaskDefinition), aws.ToString(want.TaskDefinition))
	}
	g, o := got.DeploymentConfiguration, want.DeploymentConfiguration
	if aws.ToInt32(g.MaximumPercent) != aws.ToInt32(o.MaximumPercent) || aws.ToInt32(g.MinimumHealthyPercent) != aws.ToInt32(o.MinimumHealthyPercent) {
		t.Errorf("%s deployment configuration max %d min %d, want the original max %d min %d", svc,
			aws.ToInt32(g.MaximumPercent), aws.ToInt32(g.MinimumHealthyPercent), aws.ToInt32(o.MaximumPercent), aws.ToInt32(o.MinimumHealthyPercent))
	}
}

// events lists the reasons of the events whose involvedObject is the named object of kind.
func (w *world) events(t *testing.T, kind, name string) map[string]int32 {
	t.Helper()
	l, err := w.cs.CoreV1().Events(w.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	out := map[string]int32{}
	for _, e := range l.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			out[e.Reason] += max(e.Count, 1)
		}
	}
	return out
}

// scrape returns chaos-exporter's samples of metric whose labels contain all of match.
func scrape(t *testing.T, metric string, match map[string]string) []float64 {
	t.Helper()
	resp, err := stack.scraper.Get(exporterURL)
	if err != nil {
		t.Fatalf("scrape chaos-exporter: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []float64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		ok := true
		for k, v := range match {
			if !strings.Contains(line, k+"=\""+v+"\"") {
				ok = false
			}
		}
		if !ok {
			continue
		}
		var f float64
		fields := strings.Fields(line)
		if _, err := fmt.Sscan(fields[len(fields)-1], &f); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// waitMetric waits until chaos-exporter exports metric with the labels and a value accepted by ok.
func waitMetric(t *testing.T, metric string, match map[string]string, ok func(float64) bool) float64 {
	t.Helper()
	var last []float64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		last = scrape(t, metric, match)
		for _, v := range last {
			if ok(v) {
				return v
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("chaos-exporter: %s%v never took the expected value; last samples %v", metric, match, last)
	return 0
}

func (w *world) dumpLogs(t *testing.T) {
	l, err := w.cs.CoreV1().Pods(w.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return
	}
	phase := map[string]string{}
	for _, p := range l.Items {
		phase[p.Name] = string(p.Status.Phase)
	}
	for _, p := range w.node.Started() {
		if p.Namespace == w.ns {
			code, _ := w.node.ExitCode(w.ns, p.Name)
			t.Logf("---- pod %s (%s, exit %d)\n%s", p.Name, phase[p.Name], code, w.node.Log(w.ns, p.Name))
		}
	}
	for _, l := range w.logs {
		t.Logf("---- %s (tail)\n%s", filepath.Base(l), tail(l))
	}
}

type (
	unstructuredObj = unstructured.Unstructured
	batchJob        = batchv1.Job
)

func unstructuredSlice(u *unstructured.Unstructured, path ...string) ([]map[string]any, bool, error) {
	s, found, err := unstructured.NestedSlice(u.Object, path...)
	var out []map[string]any
	for _, x := range s {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, found, err
}

func toString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
