package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// startReal serves a simulator that plays the real account, with shape's service seeded, and forgets the seeding's
// requests.
func startReal(t *testing.T, ctx context.Context, shape ecssim.Shape) (*ecssim.Simulator, targetReader) {
	t.Helper()
	real, client, _ := ecssim.StartServer(t, ecssim.Options{Timing: ecssim.FastTiming()})
	if err := shape.Seed(ctx, real, client); err != nil {
		t.Fatalf("seed the real account: %v", err)
	}
	real.ResetRequests()
	return real, client
}

// assertOnlyReads fails the test unless every request the real account answered is a DescribeServices or a
// DescribeTaskDefinition, and both were made.
func assertOnlyReads(t *testing.T, real *ecssim.Simulator) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range real.Requests() {
		seen[r.Operation]++
		if r.Mutating || r.Operation != "DescribeServices" && r.Operation != "DescribeTaskDefinition" {
			t.Errorf("the rehearsal called %s on the real account (mutating %v)", r.Operation, r.Mutating)
		}
	}
	if seen["DescribeServices"] == 0 || seen["DescribeTaskDefinition"] == 0 {
		t.Errorf("the rehearsal read %v of the real account, want DescribeServices and DescribeTaskDefinition", seen)
	}
}

// A rehearsal reads the real service with the two describes only, and its prediction says whether ECS rolls the
// chaos deployment back, as the fault saw it happen to the copy.
func TestRehearsePredictsFromACopy(t *testing.T) {
	cases := []struct {
		shape string
		want  []string
	}{
		{"rolling-breaker", []string{"ECS may start 2 chaos task(s) at once", "rolled back by ECS after", "first failure after", "lowest count of original tasks RUNNING: 4 of 4", "effect: confirmed", "restore rolled-back-by-ecs"}},
		{"rolling", []string{"ECS may start 1 chaos task(s) at once", "not rolled back by ECS (no deployment circuit breaker)", "lowest count of original tasks RUNNING: 3 of 3", "effect: confirmed", "restore reverted by stop-service-deployment, completed after"}},
	}
	for _, tc := range cases {
		t.Run(tc.shape, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			shape, _ := ecssim.ShapeNamed(tc.shape)
			real, reader := startReal(t, ctx, shape)
			shapes, err := readShapes(ctx, reader, shape.Service.Cluster, []string{shape.Service.Service})
			if err != nil {
				t.Fatalf("readShapes: %v", err)
			}
			assertOnlyReads(t, real)
			shapes[0].Scale = 60 // the copy's Fargate timing, faster than a rehearsal runs it
			env := rehearseEnv(shapes, "eu-west-1", mapEnv(map[string]string{
				"TASK_REPLICA_AFFECTED_PERC": "50", "TOTAL_CHAOS_DURATION": "180", "CHAOS_INTERVAL": "180", "STATUS_CHECK_DELAY": "5",
				"STATUS_CHECK_TIMEOUT": "600", "PROBES_FILE": "/nonexistent/probes.yaml",
			}), "")
			code, logs, stdout := runRehearsal(t, ctx, shapes, env)
			if code != int(ecsimage.OutcomePass) || !strings.Contains(stdout.String(), "verdict: Pass") {
				t.Fatalf("exit %d, want a Pass:\n%s\n%s", code, logs.String(), stdout.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(logs.String(), "prediction: service web: "+want) {
					t.Errorf("no prediction says %q:\n%s", want, logs.String())
				}
			}
			if !strings.Contains(logs.String(), "prediction: service web assumes: timing: a typical FARGATE task") {
				t.Errorf("the prediction does not say what it assumes:\n%s", logs.String())
			}
		})
	}
}

// Several services of one cluster are read and rehearsed together, as a real run injects them together: a Fargate
// REPLICA service and an EC2 DAEMON service, whose copies share the simulator (and the first one's timing).
func TestRehearseSeveralServices(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	real, client, _ := ecssim.StartServer(t, ecssim.Options{Timing: ecssim.FastTiming()})
	for _, name := range []string{"rolling", "daemon"} {
		shape, _ := ecssim.ShapeNamed(name)
		if err := shape.Seed(ctx, real, client); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
	}
	real.ResetRequests()
	shapes, err := readShapes(ctx, client, "demo", []string{"web", "node-agent"})
	if err != nil || len(shapes) != 2 {
		t.Fatalf("readShapes: %d shapes, %v", len(shapes), err)
	}
	assertOnlyReads(t, real)
	shareInstances(shapes)
	for i := range shapes {
		shapes[i].Timing, shapes[i].Scale = ecssim.DemoTiming(), 20
	}
	env := rehearseEnv(shapes, "us-east-1", mapEnv(map[string]string{"TASK_REPLICA_AFFECTED_PERC": "50", "TOTAL_CHAOS_DURATION": "20", "CHAOS_INTERVAL": "20"}), "")
	code, logs, _ := runRehearsal(t, ctx, shapes, env)
	if code != int(ecsimage.OutcomePass) {
		t.Fatalf("exit %d, want a Pass:\n%s", code, logs.String())
	}
	for _, want := range []string{"prediction: service web: effect: confirmed", "prediction: service node-agent: effect: confirmed",
		"prediction: service node-agent: lowest count of original tasks RUNNING: 2 of 4", "prediction: service node-agent assumes: EC2 capacity is unknown"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no prediction says %q:\n%s", want, logs.String())
		}
	}
}

// A service the simulator cannot model, or that is missing, ends the rehearsal before anything runs, saying why.
func TestRehearseRefusesWhatItCannotCopy(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	real, client, _ := ecssim.StartServer(t, ecssim.Options{Timing: ecssim.FastTiming()})
	if _, err := real.SeedService(ctx, client, ecssim.SeedSpec{Cluster: "prod", Service: "legacy", Family: "legacy", DesiredCount: 1,
		Controller: "CODE_DEPLOY"}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	real.ResetRequests()
	for services, want := range map[string]string{"legacy": "CODE_DEPLOY deployment controller", "gone": "gone MISSING"} {
		if _, err := readShapes(ctx, client, "prod", []string{services}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("readShapes(%s): %v, want an error saying %q", services, err, want)
		}
	}
	assertOnlyReads(t, real)
}

// The simulated run takes the copies' names and the user's tunables, but no probe of the real service.
func TestRehearseEnv(t *testing.T) {
	shapes := []ecssim.Shape{{Service: ecssim.SeedSpec{Cluster: "prod", Service: "web"}}, {Service: ecssim.SeedSpec{Cluster: "prod", Service: "api"}}}
	env := rehearseEnv(shapes, "eu-west-1", mapEnv(map[string]string{
		"CLUSTER_NAME": "arn:aws:ecs:eu-west-1:111122223333:cluster/prod", "SERVICE_NAME": "arn:aws:ecs:eu-west-1:111122223333:service/prod/web,api",
		"PROBES_FILE": "/probes.yaml", "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/chaos", "TASK_REPLICA_AFFECTED_PERC": "50",
	}), "out.html")
	want := map[string]string{"CLUSTER_NAME": "prod", "SERVICE_NAME": "web,api", "REGION": "eu-west-1", "TASK_REPLICA_AFFECTED_PERC": "50",
		"REPORT_FILE": "out.html", "EXPERIMENT_NAME": faultName}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"PROBES_FILE", "AWS_ROLE_ARN"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s reaches the simulated run", k)
		}
	}
}

func mapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// DAEMON copies of one cluster run on the same container instances, registered once.
func TestShareInstances(t *testing.T) {
	shapes := []ecssim.Shape{{Service: ecssim.SeedSpec{ContainerInstances: 3}}, {}, {Service: ecssim.SeedSpec{ContainerInstances: 5}}, {Service: ecssim.SeedSpec{ContainerInstances: 4}}}
	shareInstances(shapes)
	for i, want := range []int{3, 0, 2, 0} {
		if got := shapes[i].Service.ContainerInstances; got != want {
			t.Errorf("shape %d registers %d instances, want %d", i, got, want)
		}
	}
}

// runRehearsal runs the fault against the copies as rehearseCommand does, with the rehearsal's environment env,
// and prints the prediction into the returned log.
func runRehearsal(t *testing.T, ctx context.Context, shapes []ecssim.Shape, env map[string]string) (code int, logs, stdout *bytes.Buffer) {
	t.Helper()
	cfg, err := tunables.Load(mapEnv(env), tunables.OSFileSystem{})
	if err != nil {
		t.Fatalf("tunables: %v", err)
	}
	logs, stdout = &bytes.Buffer{}, &bytes.Buffer{}
	log := logrus.New()
	log.SetOutput(logs)
	code, report := rehearseShapes(ctx, "rehearse", shapes, cfg, log, mapEnv(env), stdout)
	printPrediction(log, shapes, report, code)
	return code, logs, stdout
}
