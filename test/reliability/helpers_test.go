package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/test/simenv"
)

const (
	clusterName = "prod"
	// caseTimeout bounds one in-process run, so that a hang fails its case instead of the suite.
	caseTimeout = 90 * time.Second
)

// simEnv is the shared simulator environment (test/simenv) as the spec's IAM policy sees it, with the fault's
// clients as ecsimage.Clients.
type simEnv struct {
	sim     *ecssim.Simulator
	client  *ecs.Client
	clients ecsimage.Clients
	clock   clock.Clock
	url     string
	logs    *simenv.Log
	log     *logrus.Logger
	// shared builds more fault clients (FaultClients).
	shared *simenv.Env
}

func newSimEnv(t *testing.T, o simenv.Options) *simEnv {
	t.Helper()
	s := simenv.New(t, o)
	// Credentials with exactly the spec's IAM policy, which has no ecs:StopServiceDeployment: the restore is an
	// UpdateService, as for most users. Tests of the StopServiceDeployment restore are in chaoslib/ecsimage.
	s.Sim.Deny("StopServiceDeployment")
	return &simEnv{sim: s.Sim, client: s.Client, clients: ecsimage.Clients{Chaos: s.Chaos, Restore: s.Restore},
		clock: s.Clock, url: s.URL, logs: s.Log, log: s.Log.Logger, shared: s}
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
