package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// demoTunables are the tunables a rehearsal takes from the environment, as a real run does. The target (cluster,
// service, region), AWS credentials and the Kubernetes identity are the rehearsal's own: it never leaves loopback.
var demoTunables = []string{
	"IMAGE", "TARGET_CONTAINERS", "TASK_REPLICA_AFFECTED_PERC", "TOTAL_CHAOS_DURATION", "CHAOS_INTERVAL", "RAMP_TIME",
	"SEQUENCE", "STATUS_CHECK_TIMEOUT", "STATUS_CHECK_DELAY", "TERMINATION_GRACE_PERIOD_SECONDS", "PROBES_FILE",
	"RESULT_FILE", "LOG_LEVEL", "LOG_FORMAT", "EXPECT_ROLLBACK_WITHIN", "EXPECT_HEALTHY_TASKS", "EXPECT_ALARMS",
}

// demoCommand rehearses the fault against a simulated service of one of ecssim's shapes (the fixtures the tests
// use), served on loopback and driven through the real AWS SDK, on a scaled clock: the same log, summary and
// ChaosResult as a real run, and the same exit code. It needs no AWS account and no Kubernetes cluster.
func demoCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	f, err := parseDemoFlags(args, stderr)
	if err != nil {
		return int(ecsimage.OutcomeRefused)
	}
	if f.list {
		listShapes(stdout)
		return 0
	}
	shape, ok := demoShape(f, stderr)
	if !ok {
		return int(ecsimage.OutcomeRefused)
	}
	env := demoEnv(shape, lookupEnv, f.duration)
	if f.reportPath != "" {
		env["REPORT_FILE"] = f.reportPath
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	log := newLogger(stderr, lookup)
	cfg, err := tunables.Load(lookup, tunables.OSFileSystem{})
	if err != nil {
		log.Errorf("demo: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	return rehearse(ctx, shape, cfg, log, lookup, stdout)
}

// demoFlags are the demo subcommand's flags.
type demoFlags struct {
	shape      string
	list       bool
	duration   int // seconds; 0: the environment's
	tasks      int // 0: the shape's
	reportPath string
}

// parseDemoFlags reads the flags; the flag package has already told stderr what is wrong when it fails.
func parseDemoFlags(args []string, stderr io.Writer) (demoFlags, error) {
	var f demoFlags
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&f.shape, "shape", "rolling", "service shape to rehearse (see --list-shapes)")
	flags.BoolVar(&f.list, "list-shapes", false, "list the service shapes, one line each, and exit")
	flags.IntVar(&f.duration, "duration", 0, "seconds of chaos (TOTAL_CHAOS_DURATION and CHAOS_INTERVAL); default: the environment's, else 30")
	flags.IntVar(&f.tasks, "tasks", 0, "desired tasks of a REPLICA shape's service; default: the shape's")
	flags.StringVar(&f.reportPath, "report", "", "also write the run as one HTML page here (REPORT_FILE)")
	return f, flags.Parse(args)
}

// demoShape is the shape the flags ask for, with their task count; false (after telling stderr why) when the
// shape is unknown or not in this build, or the flags do not fit it.
func demoShape(f demoFlags, stderr io.Writer) (ecssim.Shape, bool) {
	shape, ok := ecssim.ShapeNamed(f.shape)
	if !ok {
		fmt.Fprintf(stderr, "demo: unknown --shape %q; allowed: %s\n", f.shape, strings.Join(shapeNames(), ", "))
		return ecssim.Shape{}, false
	}
	if shape.Unavailable != "" {
		fmt.Fprintf(stderr, "demo: shape %s is not available in this build: %s\n", shape.Name, shape.Unavailable)
		return ecssim.Shape{}, false
	}
	if f.duration < 0 || f.duration > 0 && f.duration < 3 || f.tasks < 0 {
		fmt.Fprintln(stderr, "demo: --duration must be at least 3 (seconds) and --tasks at least 1")
		return ecssim.Shape{}, false
	}
	if f.tasks > 0 {
		if shape.Service.SchedulingStrategy == types.SchedulingStrategyDaemon {
			fmt.Fprintln(stderr, "demo: --tasks does not apply to a DAEMON shape: it runs one task per container instance")
			return ecssim.Shape{}, false
		}
		shape.Service.DesiredCount = int32(f.tasks)
	}
	return shape, true
}

// rehearse serves the shape's simulator, seeds it, runs the fault against it as a real run would, and logs what
// the service runs before and after; it returns the run's exit code.
func rehearse(ctx context.Context, shape ecssim.Shape, cfg tunables.Config, log *logrus.Logger, lookup func(string) (string, bool), stdout io.Writer) int {
	code, _ := rehearseShapes(ctx, "demo", []ecssim.Shape{shape}, cfg, log, lookup, stdout)
	return code
}

// rehearseShapes is rehearse for one or more shapes in one simulator, which takes the first shape's timing and
// scale; prefix starts its log lines. It also returns the fault's report, nil when the fault did not run.
func rehearseShapes(ctx context.Context, prefix string, shapes []ecssim.Shape, cfg tunables.Config, log *logrus.Logger, lookup func(string) (string, bool), stdout io.Writer) (int, *ecsimage.Report) {
	clk := clock.NewScaled(shapes[0].Scale)
	srv, err := ecssim.Serve(ecssim.Options{Clock: clk, Timing: shapes[0].Timing, Region: cfg.Region})
	if err != nil {
		log.Errorf("%s: %v", prefix, err)
		return int(ecsimage.OutcomeRefused), nil
	}
	defer srv.Close()
	client := ecs.NewFromConfig(staticAWS(cfg.Region, srv.URL))
	for _, shape := range shapes {
		log.Infof("%s: shape %s (%s); ECS simulator on %s, time runs %gx faster than the wall clock", prefix, shape.Name, shape.Summary, srv.URL, shapes[0].Scale)
		if err := shape.Seed(ctx, srv.Sim, client); err != nil {
			log.Errorf("%s: seeding the simulator: %v", prefix, err)
			return int(ecsimage.OutcomeRefused), nil
		}
	}
	before := make([]types.Service, len(shapes))
	for i, shape := range shapes {
		before[i] = describeDemo(ctx, client, shape.Service.Cluster, shape.Service.Service)
		log.Infof("%s: service %s runs %s with %d task(s); starting the fault", prefix, shape.Service.Service, aws.ToString(before[i].TaskDefinition), before[i].RunningCount)
	}

	s := &session{cfg: cfg, runID: newRunID(), log: log, clock: clk, stdout: stdout, lookupEnv: lookup, outsideCluster: true,
		clients: ecsimage.Clients{Chaos: client, Restore: ecs.NewFromConfig(staticAWS(cfg.Region, srv.URL))}}
	code := s.runFault(ctx)

	for i, shape := range shapes {
		logAfter(ctx, prefix, client, shape.Service, before[i], log)
	}
	return code, s.report
}

// logAfter logs what the service of spec runs after the fault, against what it ran before, and the family's
// INACTIVE revisions.
func logAfter(ctx context.Context, prefix string, client *ecs.Client, spec ecssim.SeedSpec, before types.Service, log *logrus.Logger) {
	after := describeDemo(ctx, client, spec.Cluster, spec.Service)
	original := aws.ToString(after.TaskDefinition) == aws.ToString(before.TaskDefinition)
	log.Infof("%s: service %s runs %s again (original: %v), %d task(s) RUNNING", prefix, spec.Service, aws.ToString(after.TaskDefinition), original, after.RunningCount)
	if out, err := client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(spec.Family), Status: types.TaskDefinitionStatusInactive}); err == nil {
		log.Infof("%s: INACTIVE revisions of family %s: %v", prefix, spec.Family, out.TaskDefinitionArns)
	}
}

// demoEnv is the rehearsal's environment: the shape's target, the seed's defaults, the shape's own tunables, then
// the user's (so TASK_REPLICA_AFFECTED_PERC=50 works as in a real run), then --duration.
func demoEnv(shape ecssim.Shape, lookupEnv func(string) (string, bool), duration int) map[string]string {
	env := map[string]string{
		"CLUSTER_NAME": shape.Service.Cluster, "SERVICE_NAME": shape.Service.Service, "REGION": "us-east-1",
		"EXPERIMENT_NAME": faultName,
	}
	maps.Copy(env, shape.Env)
	for _, k := range demoTunables {
		if v, ok := lookupEnv(k); ok {
			env[k] = v
		}
	}
	if duration > 0 {
		env["TOTAL_CHAOS_DURATION"], env["CHAOS_INTERVAL"] = strconv.Itoa(duration), strconv.Itoa(duration)
	}
	return env
}

func listShapes(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, sh := range ecssim.Shapes() {
		line := sh.Summary
		if sh.Unavailable != "" {
			line += " [not in this build: " + sh.Unavailable + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\n", sh.Name, line)
	}
	tw.Flush()
}

func shapeNames() []string {
	var names []string
	for _, sh := range ecssim.Shapes() {
		names = append(names, sh.Name)
	}
	return slices.Clip(names)
}

func describeDemo(ctx context.Context, c *ecs.Client, cluster, service string) types.Service {
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil || len(out.Services) == 0 {
		return types.Service{}
	}
	return out.Services[0]
}
