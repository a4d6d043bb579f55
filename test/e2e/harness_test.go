package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"sigs.k8s.io/yaml"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/test/binary"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

// experimentBinary is the race-enabled build of ./experiment; TestMain sets it once, before any test runs, and
// nothing writes it afterwards.
var experimentBinary string

func TestMain(m *testing.M) {
	os.Exit(binary.Main(m, "e2e", binary.Race, func(path string) { experimentBinary = path }))
}

const (
	clusterName = "chaos"
	serviceName = "web"
	family      = "web"
	// originalImage is pullable in the simulator; the chaos image (IMAGE's default nginx with a non-existent
	// tag) is not.
	originalImage = "nginx:1.27"
	desiredTasks  = 2
	// processTimeout bounds every child process; the context kills it when a test hangs.
	processTimeout = 90 * time.Second
	envAccessKeyID = "AKIDE2EFAKEACCESSKEY"
	// envSecretKey is the fake secret access key in the child's environment: it must never be printed.
	envSecretKey = "e2eEnvSecretValue-DO-NOT-PRINT-0f3a9c"
)

// originalDeploymentConfiguration leaves room above 100 %, so TASK_REPLICA_AFFECTED_PERC=50 makes the fault
// change maximumPercent to 150 and a restore has to put 200 back.
func originalDeploymentConfiguration() *types.DeploymentConfiguration {
	return &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}
}

// fixture is one simulator with one steady service, as the pod finds it in AWS.
type fixture struct {
	sim    *ecssim.Simulator
	client *ecs.Client
	// url serves the simulator to the binary through signingRecorder, which notes the access key id of each
	// request.
	url     string
	signers *signingRecorder
	// original is the service as DescribeServices showed it before the binary ran.
	original types.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, originalDeploymentConfiguration())
}

// newFixtureWith seeds the service with the given deployment configuration (for example a circuit breaker).
func newFixtureWith(t *testing.T, dc *types.DeploymentConfiguration) *fixture {
	t.Helper()
	sim, client, _ := ecssim.StartServer(t, ecssim.Options{Timing: ecssim.ProcessTiming()})
	// Credentials with exactly the spec's IAM policy, which has no ecs:StopServiceDeployment: the restore is an
	// UpdateService, as for most users. Tests of the StopServiceDeployment restore are in chaoslib/ecsimage.
	sim.Deny("StopServiceDeployment")
	signers := &signingRecorder{next: sim.Handler()}
	server := httptest.NewServer(signers)
	t.Cleanup(func() {
		server.CloseClientConnections()
		server.Close()
	})
	sim.AddImage(originalImage, "")
	ctx := binary.Deadline(t, 30*time.Second)
	if _, err := sim.SeedService(ctx, client, ecssim.SeedSpec{
		Cluster: clusterName, Service: serviceName, Family: family, Image: originalImage,
		DesiredCount: desiredTasks, DeploymentConfiguration: dc,
	}); err != nil {
		t.Fatalf("seed the simulator: %v", err)
	}
	f := &fixture{sim: sim, client: client, url: server.URL, signers: signers}
	f.original = f.service(t)
	if f.original.DeploymentConfiguration == nil || aws.ToInt32(f.original.DeploymentConfiguration.MaximumPercent) != 200 {
		t.Fatalf("seeded service has deployment configuration %+v, want maximumPercent 200", f.original.DeploymentConfiguration)
	}
	// The binary's requests are what the tests look at; the seeding is not.
	sim.ResetRequests()
	return f
}

// signingRecorder passes requests to the simulator and records which access key id signed them (SigV4's
// Authorization header names it), so a test can tell which credentials the binary chose.
type signingRecorder struct {
	next http.Handler
	mu   sync.Mutex
	keys map[string]int
}

var credentialPattern = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

func (s *signingRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := "unsigned"
	if m := credentialPattern.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		key = m[1]
	}
	s.mu.Lock()
	if s.keys == nil {
		s.keys = map[string]int{}
	}
	s.keys[key]++
	s.mu.Unlock()
	s.next.ServeHTTP(w, r)
}

// accessKeys returns how many requests each access key id signed.
func (s *signingRecorder) accessKeys() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.keys)
}

// env is the pod's environment: only what is set here reaches the child (no KUBECONFIG, no
// KUBERNETES_SERVICE_HOST, no AWS variables of the machine), with fake static credentials and a HOME without an
// ~/.aws directory.
func (f *fixture) env(t *testing.T, overrides map[string]string) map[string]string {
	return binary.PodEnv(t, "AKIDE2EFAKEACCESSKEY", envSecretKey, f.url, clusterName, serviceName, overrides)
}

func (f *fixture) service(t *testing.T) types.Service {
	t.Helper()
	return simenv.Service(t, f.client, clusterName, serviceName)
}

// revisions returns the status of every revision of the family, by ARN.
func (f *fixture) revisions(t *testing.T) map[string]types.TaskDefinitionStatus {
	t.Helper()
	ctx := binary.Deadline(t, 10*time.Second)
	got := map[string]types.TaskDefinitionStatus{}
	for _, status := range []types.TaskDefinitionStatus{types.TaskDefinitionStatusActive, types.TaskDefinitionStatusInactive} {
		out, err := f.client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status})
		if err != nil {
			t.Fatalf("list task definitions %s: %v", status, err)
		}
		for _, arn := range out.TaskDefinitionArns {
			got[arn] = status
		}
	}
	return got
}

// assertRestored checks what the spec promises after a run: the service on its original revision and
// deployment configuration, a single completed deployment, and every chaos revision INACTIVE.
func (f *fixture) assertRestored(t *testing.T) {
	t.Helper()
	svc := f.service(t)
	if got, want := aws.ToString(svc.TaskDefinition), aws.ToString(f.original.TaskDefinition); got != want {
		t.Errorf("service runs %s, want the original %s", got, want)
	}
	if got, want := describeDeploymentConfiguration(svc.DeploymentConfiguration), describeDeploymentConfiguration(f.original.DeploymentConfiguration); got != want {
		t.Errorf("deployment configuration after the run:\n got %s\nwant %s", got, want)
	}
	revs := f.revisions(t)
	originalARN := aws.ToString(f.original.TaskDefinition)
	if revs[originalARN] != types.TaskDefinitionStatusActive {
		t.Errorf("original revision %s is %q, want ACTIVE", originalARN, revs[originalARN])
	}
	chaos := 0
	for arn, status := range revs {
		if arn == originalARN {
			continue
		}
		chaos++
		if status != types.TaskDefinitionStatusInactive {
			t.Errorf("chaos revision %s is %s, want INACTIVE", arn, status)
		}
	}
	if chaos == 0 {
		t.Errorf("no chaos revision was registered in family %s: %v", family, revs)
	}
}

// describeDeploymentConfiguration prints the members the fault reads and writes back, numbers rather than
// pointers.
func describeDeploymentConfiguration(dc *types.DeploymentConfiguration) string {
	if dc == nil {
		return "<nil>"
	}
	breaker, alarms := "<nil>", "<nil>"
	if b := dc.DeploymentCircuitBreaker; b != nil {
		breaker = fmt.Sprintf("enable=%v rollback=%v", b.Enable, b.Rollback)
	}
	if a := dc.Alarms; a != nil {
		alarms = fmt.Sprintf("enable=%v rollback=%v names=%v", a.Enable, a.Rollback, a.AlarmNames)
	}
	return fmt.Sprintf("maximumPercent=%d minimumHealthyPercent=%d strategy=%q circuitBreaker={%s} alarms={%s}",
		aws.ToInt32(dc.MaximumPercent), aws.ToInt32(dc.MinimumHealthyPercent), dc.Strategy, breaker, alarms)
}

// mutations lists the mutating requests of the log as "Operation: summary".
func mutations(sim *ecssim.Simulator) []string {
	var out []string
	for _, r := range sim.Requests() {
		if r.Mutating {
			out = append(out, r.Operation+": "+r.Summary)
		}
	}
	return out
}

// process is one run of the binary.
type process = binary.Process

// start runs the binary with exactly env as its environment; it is killed after processTimeout or when the test
// ends.
func start(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	return binary.Start(t, experimentBinary, env, processTimeout, args...)
}

// runExperiment runs the binary to its end and returns its exit code.
func runExperiment(t *testing.T, env map[string]string, args ...string) (*process, int) {
	t.Helper()
	p := start(t, env, args...)
	return p, p.Wait(t)
}

// chaosResult is the part of the Litmus ChaosResult these tests read, decoded independently of pkg/result so
// that a bug there cannot hide one in the output.
type chaosResult struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		ExperimentStatus struct {
			Phase                  string `json:"phase"`
			Verdict                string `json:"verdict"`
			ProbeSuccessPercentage string `json:"probeSuccessPercentage"`
			ErrorOutput            *struct {
				ErrorCode string `json:"errorCode"`
				Reason    string `json:"reason"`
			} `json:"errorOutput"`
		} `json:"experimentStatus"`
		ProbeStatuses []struct {
			Name   string `json:"name"`
			Type   string `json:"type"`
			Mode   string `json:"mode"`
			Status struct {
				Verdict     string `json:"verdict"`
				Description string `json:"description"`
			} `json:"status"`
		} `json:"probeStatuses"`
		History struct {
			Targets []struct {
				Name        string `json:"name"`
				Kind        string `json:"kind"`
				ChaosStatus string `json:"chaosStatus"`
			} `json:"targets"`
		} `json:"history"`
	} `json:"status"`
}

// parseResult decodes stdout, which must hold exactly one ChaosResult document.
func parseResult(t *testing.T, stdout string) chaosResult {
	t.Helper()
	var docs []string
	for _, doc := range strings.Split("\n"+stdout, "\n---\n") {
		if strings.TrimSpace(doc) != "" {
			docs = append(docs, doc)
		}
	}
	if len(docs) != 1 {
		t.Fatalf("stdout holds %d YAML documents, want exactly one ChaosResult:\n%s", len(docs), stdout)
	}
	var r chaosResult
	if err := yaml.Unmarshal([]byte(docs[0]), &r); err != nil {
		t.Fatalf("stdout is not a ChaosResult: %v\n%s", err, stdout)
	}
	if r.APIVersion != "litmuschaos.io/v1alpha1" || r.Kind != "ChaosResult" {
		t.Fatalf("stdout is %s %s, want litmuschaos.io/v1alpha1 ChaosResult", r.APIVersion, r.Kind)
	}
	return r
}

// latch closes a channel the first time a condition holds; the simulator calls OnRequest from its handler
// goroutines.
type latch struct {
	mu     sync.Mutex
	fired  bool
	signal chan struct{}
}

func newLatch() *latch { return &latch{signal: make(chan struct{})} }

func (o *latch) fire() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.fired {
		o.fired = true
		close(o.signal)
	}
}
