package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

const (
	clusterName = "prod"
	// caseTimeout bounds one in-process run, so that a hang fails its case instead of the suite.
	caseTimeout = 90 * time.Second
	// maxBackoff caps the SDK's retry back-off in the in-process tests: the production retryers (attempts,
	// retryable errors, retry budget) are kept, only their wall-clock sleeps are shortened.
	maxBackoff = 20 * time.Millisecond
)

// simEnv is one simulator served over HTTP on 127.0.0.1, the fault's two production-tuned SDK clients and the
// test's own client (setup and checks), sharing a scaled clock.
type simEnv struct {
	sim     *ecssim.Simulator
	client  *ecs.Client
	clients ecsimage.Clients
	clock   clock.Clock
	url     string
	logs    *lockedBuffer
	log     *logrus.Logger
}

type envOptions struct {
	// scale is how much faster than the wall clock the simulator and the fault run; 0 means 50. realClock
	// serves the simulator on the wall clock instead, for the built binary (which runs on it).
	realClock bool
	scale     float64
	// httpTimeout, when set, bounds every HTTP attempt of the fault's clients (the SDK then retries).
	httpTimeout time.Duration
	timing      ecssim.Timing
}

func newSimEnv(t *testing.T, o envOptions) *simEnv {
	t.Helper()
	if o.scale == 0 {
		o.scale = 50
	}
	var c clock.Clock = clock.NewScaled(o.scale)
	if o.realClock {
		c = clock.Real{}
	}
	sim, client, url := ecssim.StartServer(t, ecssim.Options{Clock: c, Timing: o.timing})
	// Credentials with exactly the spec's IAM policy, which has no ecs:StopServiceDeployment: the restore is an
	// UpdateService, as for most users. Tests of the StopServiceDeployment restore are in chaoslib/ecsimage.
	sim.Deny("StopServiceDeployment")
	e := &simEnv{sim: sim, client: client, clock: c, url: url, logs: &lockedBuffer{}}
	e.clients = ecsimage.Clients{
		Chaos:   ecs.New(client.Options(), faultClientOptions(awsclient.PurposeMain, o.httpTimeout)...),
		Restore: ecs.New(client.Options(), faultClientOptions(awsclient.PurposeRestore, o.httpTimeout)...),
	}
	e.log = logrus.New()
	e.log.SetOutput(e.logs)
	e.log.SetLevel(logrus.DebugLevel)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fault log:\n%s", e.logs.String())
		}
	})
	return e
}

// faultClientOptions are the production client options of a purpose (awsclient.ECSOptions) with a short back-off.
func faultClientOptions(purpose string, httpTimeout time.Duration) []func(*ecs.Options) {
	fns := []func(*ecs.Options){
		awsclient.ECSOptions(purpose),
		func(o *ecs.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, maxBackoff) },
	}
	if httpTimeout > 0 {
		fns = append(fns, func(o *ecs.Options) { o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(httpTimeout) })
	}
	return fns
}

// seedServices creates n steady services (web-1...) of two RUNNING tasks each, each with its own family and a
// deployment configuration the fault narrows (maximumPercent 200 -> 150), so a restore of the configuration shows.
func (e *simEnv) seedServices(t *testing.T, n int) []string {
	t.Helper()
	var names []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("web-%d", i)
		_, err := e.sim.SeedService(context.Background(), e.client, ecssim.SeedSpec{
			Cluster: clusterName, Service: name, Family: name, DesiredCount: 2,
			DeploymentConfiguration: &types.DeploymentConfiguration{
				MinimumHealthyPercent:    aws.Int32(100),
				MaximumPercent:           aws.Int32(200),
				DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: false, Rollback: false},
			},
		})
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		names = append(names, name)
	}
	return names
}

// faultOptions: 40 s of chaos in one cycle, polls every 2 s, all on the scaled clock; AffectedPercent 50 narrows
// the chaos deployment's maximumPercent, so that the restore of the configuration is observable.
func (e *simEnv) faultOptions(runID string, services ...string) ecsimage.Options {
	img, err := taskdef.ResolveChaosImage("nginx", runID)
	if err != nil {
		panic(err)
	}
	return ecsimage.Options{
		Cluster: clusterName, Services: services, Region: "us-east-1", Image: img,
		AffectedPercent: 50, Duration: 40 * time.Second, Interval: 40 * time.Second, Sequence: ecsimage.Parallel,
		StatusCheckTimeout: 180 * time.Second, StatusCheckDelay: 2 * time.Second, AbortDeadline: 20 * time.Second,
		RunID: runID, Clock: e.clock, Logger: e.log,
	}
}

// snapshot describes services by name.
func (e *simEnv) snapshot(t *testing.T, names []string) map[string]types.Service {
	t.Helper()
	out, err := e.client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(clusterName), Services: names})
	if err != nil {
		t.Fatalf("describe %v: %v", names, err)
	}
	m := map[string]types.Service{}
	for _, s := range out.Services {
		m[aws.ToString(s.ServiceName)] = s
	}
	return m
}

// leftovers returns what a run left broken: a service off its original revision or configuration, and any ACTIVE
// revision of its family other than the original (a chaos revision, since nothing else registers). Empty means
// nothing was left behind.
func (e *simEnv) leftovers(t *testing.T, before map[string]types.Service) []string {
	t.Helper()
	var problems []string
	names := make([]string, 0, len(before))
	for n := range before {
		names = append(names, n)
	}
	sort.Strings(names)
	after := e.snapshot(t, names)
	for _, name := range names {
		b, a := before[name], after[name]
		original := aws.ToString(b.TaskDefinition)
		if got := aws.ToString(a.TaskDefinition); got != original {
			problems = append(problems, fmt.Sprintf("%s runs %s, want the original %s", name, got, original))
		}
		if got, want := jsonOf(a.DeploymentConfiguration), jsonOf(b.DeploymentConfiguration); got != want {
			problems = append(problems, fmt.Sprintf("%s deployment configuration %s, want the original %s", name, got, want))
		}
		if active := e.activeRevisions(t, familyOf(original)); !slices.Equal(active, []string{original}) {
			problems = append(problems, fmt.Sprintf("family %s has ACTIVE revisions %v, want only the original", familyOf(original), active))
		}
	}
	return problems
}

func (e *simEnv) activeRevisions(t *testing.T, family string) []string {
	t.Helper()
	out, err := e.client.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive,
	})
	if err != nil {
		t.Fatalf("list task definitions of %s: %v", family, err)
	}
	return out.TaskDefinitionArns
}

func describeTaskDefinition(t *testing.T, e *simEnv, arn string) *types.TaskDefinition {
	t.Helper()
	out, err := e.client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatalf("describe task definition %s: %v", arn, err)
	}
	return out.TaskDefinition
}

// opCounts counts the simulator's requests per operation.
func opCounts(reqs []ecssim.Request) map[string]int {
	m := map[string]int{}
	for _, r := range reqs {
		m[r.Operation]++
	}
	return m
}

func mutatingCount(reqs []ecssim.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Mutating {
			n++
		}
	}
	return n
}

func familyOf(arn string) string {
	s := arn[strings.LastIndexByte(arn, '/')+1:]
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}

func jsonOf(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// reportText joins a report's run error and every service's error, warnings and manual steps, for matching
// messages.
func reportText(r *ecsimage.Report) string {
	var b strings.Builder
	if r.Err != nil {
		b.WriteString(r.Err.Error() + "\n")
	}
	for _, s := range r.Services {
		b.WriteString(s.Error + "\n")
		for _, w := range s.Warnings {
			b.WriteString(w + "\n")
		}
		for _, m := range s.Restore.ManualSteps {
			b.WriteString(m + "\n")
		}
	}
	return b.String()
}

// table renders rows as an aligned text table for t.Logf.
func table(header []string, rows [][]string) string {
	widths := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		for i, c := range row {
			fmt.Fprintf(&b, "| %-*s ", widths[i], c)
		}
		b.WriteString("|\n")
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", widths[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
