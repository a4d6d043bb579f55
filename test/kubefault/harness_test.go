package kubefault

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/kube"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// experimentBinary is the race-enabled build of ./experiment; TestMain sets it before any test runs.
var experimentBinary string

// cluster is the package's one apiserver, with Litmus's CRDs, started by the first test that needs it.
var cluster = &kube.Shared{Setup: func(t testing.TB, c *kube.Cluster) { c.InstallLitmusCRDs(t) }}

func TestMain(m *testing.M) {
	code := binary.Main(m, "kubefault", binary.Race, func(path string) { experimentBinary = path })
	cluster.Stop()
	os.Exit(code)
}

const (
	clusterName    = "chaos"
	serviceName    = "web"
	family         = "web"
	experimentName = "ecs-invalid-container-image"
	originalImage  = "nginx:1.27"
	desiredTasks   = 2
	// processTimeout bounds every child process.
	processTimeout = 90 * time.Second
	// pollEvery is how often a test reads the ChaosResult while the binary runs.
	pollEvery = 100 * time.Millisecond
	// fakeSecretKey is the child's AWS secret key: it must never be printed or stored.
	fakeSecretKey = "kubefault-fake-secret-DO-NOT-PRINT-7c1e"
)

var (
	chaosResultsGVR = schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosresults"}
	chaosEnginesGVR = schema.GroupVersionResource{Group: "litmuschaos.io", Version: "v1alpha1", Resource: "chaosengines"}
	eventsGVR       = schema.GroupVersionResource{Version: "v1", Resource: "events"}
)

// env is one test's world: a namespace in the shared apiserver and a simulator with one steady service.
type env struct {
	kube      *kube.Cluster
	namespace string
	admin     dynamic.Interface
	sim       *ecssim.Simulator
	ecs       *ecs.Client
	ecsURL    string
	original  types.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := cluster.Get(t)
	admin, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	sim, client, url := ecssim.StartServer(t, ecssim.Options{Timing: ecssim.ProcessTiming()})
	// Credentials with exactly the spec's IAM policy, which has no ecs:StopServiceDeployment: the restore is an
	// UpdateService, as for most users. Tests of the StopServiceDeployment restore are in chaoslib/ecsimage.
	sim.Deny("StopServiceDeployment")
	sim.AddImage(originalImage, "")
	ctx := binary.Deadline(t, 30*time.Second)
	if _, err := sim.SeedService(ctx, client, ecssim.SeedSpec{
		Cluster: clusterName, Service: serviceName, Family: family, Image: originalImage, DesiredCount: desiredTasks,
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)},
	}); err != nil {
		t.Fatalf("seed the simulator: %v", err)
	}
	e := &env{kube: c, namespace: c.Namespace(t), admin: admin, sim: sim, ecs: client, ecsURL: url}
	e.original = e.service(t)
	sim.ResetRequests()
	return e
}

// kubeconfig writes a kubeconfig for the given bearer token (the admin's when token is empty) and returns its
// path.
func (e *env) kubeconfig(t *testing.T, token string) string {
	t.Helper()
	if token == "" {
		token = e.kube.Config.BearerToken
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: e.kube.Config.Host, CertificateAuthorityData: e.kube.Config.CAData}
	cfg.AuthInfos["test"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test", Namespace: e.namespace}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

// childEnv is the pod's environment and nothing else: fake AWS keys, the simulator as the ECS endpoint, the
// kubeconfig of the identity under test, a fault of one 3 s cycle; overrides win.
func (e *env) childEnv(t *testing.T, kubeconfig string, overrides map[string]string) map[string]string {
	vars := binary.PodEnv(t, "AKIDKUBEFAULTFAKEKEY", fakeSecretKey, e.ecsURL, clusterName, serviceName, map[string]string{
		"KUBECONFIG": kubeconfig, "CHAOS_NAMESPACE": e.namespace, "EXPERIMENT_NAME": experimentName,
	})
	maps.Copy(vars, overrides)
	return vars
}

func (e *env) service(t *testing.T) types.Service {
	t.Helper()
	return simenv.Service(t, e.ecs, clusterName, serviceName)
}

// assertRestored checks the service is back on its original revision and every other revision of the family
// is INACTIVE.
func (e *env) assertRestored(t *testing.T) {
	t.Helper()
	if got, want := aws.ToString(e.service(t).TaskDefinition), aws.ToString(e.original.TaskDefinition); got != want {
		t.Errorf("service runs %s, want the original %s", got, want)
	}
	ctx := binary.Deadline(t, 10*time.Second)
	chaos := 0
	for _, status := range []types.TaskDefinitionStatus{types.TaskDefinitionStatusActive, types.TaskDefinitionStatusInactive} {
		out, err := e.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status})
		if err != nil {
			t.Fatalf("list task definitions: %v", err)
		}
		for _, arn := range out.TaskDefinitionArns {
			if arn == aws.ToString(e.original.TaskDefinition) {
				if status != types.TaskDefinitionStatusActive {
					t.Errorf("original revision %s is %s", arn, status)
				}
				continue
			}
			chaos++
			if status != types.TaskDefinitionStatusInactive {
				t.Errorf("chaos revision %s is %s, want INACTIVE", arn, status)
			}
		}
	}
	if chaos == 0 {
		t.Errorf("no chaos revision was registered")
	}
}

// createEngine creates a ChaosEngine listing the experiment, as Litmus users write it, and returns its UID.
func (e *env) createEngine(t *testing.T, name string) string {
	t.Helper()
	return kube.CreateEngine(t, e.admin, e.namespace, name, "ecs-invalid-container-image-sa",
		map[string]any{"name": experimentName, "spec": map[string]any{"components": map[string]any{}}})
}

// chaosResult is the part of a stored ChaosResult these tests read, decoded here rather than through pkg/result
// so a bug there cannot hide one in what is stored.
type chaosResult struct {
	Metadata struct {
		Labels          map[string]string `json:"labels"`
		OwnerReferences []struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		Engine     string `json:"engine"`
		Experiment string `json:"experiment"`
	} `json:"spec"`
	Status struct {
		ExperimentStatus struct {
			Phase       string `json:"phase"`
			Verdict     string `json:"verdict"`
			ErrorOutput *struct {
				ErrorCode string `json:"errorCode"`
				Reason    string `json:"reason"`
			} `json:"errorOutput"`
		} `json:"experimentStatus"`
		History struct {
			PassedRuns  int64 `json:"passedRuns"`
			FailedRuns  int64 `json:"failedRuns"`
			StoppedRuns int64 `json:"stoppedRuns"`
			Targets     []struct {
				Name        string `json:"name"`
				Kind        string `json:"kind"`
				ChaosStatus string `json:"chaosStatus"`
			} `json:"targets"`
		} `json:"history"`
		FaultStatus *struct {
			Outcome  string `json:"outcome"`
			Services []struct {
				Service      string `json:"service"`
				State        string `json:"state"`
				Effective    bool   `json:"effective"`
				Observations struct {
					FailedTasks        int    `json:"failedTasks"`
					FirstFailureReason string `json:"firstFailureReason"`
				} `json:"observations"`
			} `json:"services"`
		} `json:"faultStatus"`
	} `json:"status"`
}

func (r chaosResult) state() string {
	return r.Status.ExperimentStatus.Phase + "/" + r.Status.ExperimentStatus.Verdict
}

// getResult reads the ChaosResult; found is false when it does not exist.
func (e *env) getResult(ctx context.Context, name string) (r chaosResult, found bool, err error) {
	obj, err := e.admin.Resource(chaosResultsGVR).Namespace(e.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &r); err != nil {
		return r, true, fmt.Errorf("decode ChaosResult %s: %w", name, err)
	}
	return r, true, nil
}

func (e *env) mustResult(t *testing.T, name string) chaosResult {
	t.Helper()
	r, found, err := e.getResult(binary.Deadline(t, 10*time.Second), name)
	if err != nil || !found {
		t.Fatalf("ChaosResult %s/%s: found %v, %v", e.namespace, name, found, err)
	}
	return r
}

// rawResult returns the stored ChaosResult as JSON, for checks on everything it holds.
func (e *env) rawResult(t *testing.T, name string) string {
	t.Helper()
	obj, err := e.admin.Resource(chaosResultsGVR).Namespace(e.namespace).Get(binary.Deadline(t, 10*time.Second), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("read ChaosResult %s: %v", name, err)
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		t.Fatalf("encode ChaosResult %s: %v", name, err)
	}
	return string(data)
}

// resultStates polls the ChaosResult every pollEvery until stop is closed and returns the distinct
// phase/verdict pairs seen, in order.
func (e *env) resultStates(name string, stop <-chan struct{}) func() []string {
	var mu sync.Mutex
	var seen []string
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(pollEvery)
		defer ticker.Stop()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r, found, err := e.getResult(ctx, name)
			cancel()
			if err == nil && found {
				mu.Lock()
				if len(seen) == 0 || seen[len(seen)-1] != r.state() {
					seen = append(seen, r.state())
				}
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
		}
	}()
	return func() []string {
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// kubeEvent is a core/v1 event as these tests read it.
type kubeEvent struct {
	Reason         string `json:"reason"`
	Type           string `json:"type"`
	Message        string `json:"message"`
	Count          int32  `json:"count"`
	InvolvedObject struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"involvedObject"`
}

// eventsAbout lists the namespace's events whose involvedObject has the given kind and name.
func (e *env) eventsAbout(t *testing.T, kind, name string) []kubeEvent {
	t.Helper()
	list, err := e.admin.Resource(eventsGVR).Namespace(e.namespace).List(binary.Deadline(t, 10*time.Second), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []kubeEvent
	for _, item := range list.Items {
		var ev kubeEvent
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &ev); err != nil {
			t.Fatalf("decode event %s: %v", item.GetName(), err)
		}
		if ev.InvolvedObject.Kind == kind && ev.InvolvedObject.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

// reasons returns the distinct reasons of events, sorted.
func reasons(events []kubeEvent) []string {
	set := map[string]bool{}
	for _, ev := range events {
		set[ev.Reason] = true
	}
	var out []string
	for r := range set {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// process is one run of the binary.
type process = binary.Process

// start runs the binary with exactly vars as its environment; it is killed after processTimeout or when the
// test ends.
func start(t *testing.T, vars map[string]string) *process {
	t.Helper()
	return binary.Start(t, experimentBinary, vars, processTimeout)
}

// run runs the binary to its end and returns it with its exit code.
func run(t *testing.T, vars map[string]string) (*process, int) {
	t.Helper()
	p := start(t, vars)
	return p, p.Wait(t)
}
