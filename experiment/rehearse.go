package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/ecssim"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// describeServicesBatch is the most services one DescribeServices call accepts.
const describeServicesBatch = 10

// targetReader is everything a rehearsal may ask of the real account: two reads. The ECS client of the real
// endpoint reaches the rehearsal only as this interface (realReader returns nothing else), so no call that changes
// anything can be made with it.
type targetReader interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// rehearseCommand predicts what a real run would do to the real services the environment names: it reads each one
// and its task definition with the run's credentials (DescribeServices and DescribeTaskDefinition, nothing else),
// runs the fault against a simulated copy of them on a scaled clock as `demo` does, prints the log, summary and
// ChaosResult of that run and a prediction drawn from its report, and exits with that run's exit code.
func rehearseCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	reportPath, err := parseRehearseFlags(args, stderr)
	if err != nil {
		return int(ecsimage.OutcomeRefused)
	}
	log := newLogger(stderr, lookupEnv)
	cfg, err := tunables.Load(lookupEnv, tunables.OSFileSystem{})
	configureLogger(log, cfg)
	if err != nil {
		log.Errorf("rehearse: invalid input, nothing was read:\n%v", err)
		return int(ecsimage.OutcomeRefused)
	}
	reader, err := realReader(ctx, cfg, log, lookupEnv)
	if err != nil {
		log.Errorf("rehearse: AWS configuration failed, nothing was read: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	shapes, err := readShapes(ctx, reader, cfg.ClusterName, cfg.Services)
	if err != nil {
		log.Errorf("rehearse: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	shareInstances(shapes)
	env := rehearseEnv(shapes, cfg.Region, lookupEnv, reportPath)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	simCfg, err := tunables.Load(lookup, tunables.OSFileSystem{})
	if err != nil {
		log.Errorf("rehearse: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	log.Infof("rehearse: read %d service(s) of cluster %s with DescribeServices and DescribeTaskDefinition; nothing in AWS is changed, the fault runs against a simulated copy", len(shapes), cfg.ClusterName)
	code, report := rehearseShapes(ctx, "rehearse", shapes, simCfg, log, lookup, stdout)
	printPrediction(log, shapes, report, code)
	return code
}

// parseRehearseFlags reads the flags; the flag package has already told stderr what is wrong when it fails.
func parseRehearseFlags(args []string, stderr io.Writer) (reportPath string, err error) {
	flags := flag.NewFlagSet("rehearse", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&reportPath, "report", "", "also write the rehearsed run as one HTML page here (REPORT_FILE)")
	if err := flags.Parse(args); err != nil {
		return "", err
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "rehearse: unexpected arguments %q: the target comes from the environment (CLUSTER_NAME, SERVICE_NAME)\n", flags.Args())
		return "", errors.New("unexpected arguments")
	}
	return reportPath, nil
}

// realReader is the real account's ECS as the run's credentials reach it (pkg/awsclient, as a real run), narrowed
// to the two reads.
func realReader(ctx context.Context, cfg tunables.Config, log *logrus.Logger, lookupEnv func(string) (string, bool)) (targetReader, error) {
	s := &session{cfg: cfg, runID: "rehearse-" + newRunID(), log: log}
	awsCfg, err := s.awsConfig(ctx, lookupEnv)
	if err != nil {
		return nil, err
	}
	return ecs.NewFromConfig(awsCfg, awsclient.ECSOptions(awsclient.PurposeMain)), nil
}

// readShapes reads every service and its task definition from the real account and copies each one
// (ecssim.ShapeOf); any service it cannot read or copy is an error, and nothing is rehearsed.
func readShapes(ctx context.Context, api targetReader, cluster string, services []string) ([]ecssim.Shape, error) {
	var shapes []ecssim.Shape
	for batch := range slices.Chunk(services, describeServicesBatch) {
		out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		if err != nil {
			return nil, fmt.Errorf("read services %s of cluster %s (ecs:DescribeServices): %w", strings.Join(batch, ", "), cluster, err)
		}
		if len(out.Failures) > 0 {
			var failures []string
			for _, f := range out.Failures {
				failures = append(failures, strings.TrimSpace(aws.ToString(f.Arn)+" "+aws.ToString(f.Reason)+" "+aws.ToString(f.Detail)))
			}
			return nil, fmt.Errorf("read services of cluster %s: %s", cluster, strings.Join(failures, "; "))
		}
		for _, svc := range out.Services {
			shape, err := readShape(ctx, api, svc)
			if err != nil {
				return nil, err
			}
			shapes = append(shapes, shape)
		}
	}
	if len(shapes) == 0 {
		return nil, fmt.Errorf("DescribeServices returned none of the services %s of cluster %s", strings.Join(services, ", "), cluster)
	}
	return shapes, nil
}

// readShape reads the task definition of svc, with its tags as the fault reads them, and copies both.
func readShape(ctx context.Context, api targetReader, svc types.Service) (ecssim.Shape, error) {
	name, arn := aws.ToString(svc.ServiceName), aws.ToString(svc.TaskDefinition)
	if arn == "" {
		return ecssim.Shape{}, fmt.Errorf("service %s has no task definition", name)
	}
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return ecssim.Shape{}, fmt.Errorf("read task definition %s of service %s (ecs:DescribeTaskDefinition): %w", arn, name, err)
	}
	if out.TaskDefinition == nil {
		return ecssim.Shape{}, fmt.Errorf("DescribeTaskDefinition returned no task definition for %s", arn)
	}
	return ecssim.ShapeOf(svc, *out.TaskDefinition, out.Tags)
}

// shareInstances lets the DAEMON copies of one cluster share their container instances as the real services do:
// each copy registers only the instances the copies before it have not.
func shareInstances(shapes []ecssim.Shape) {
	registered := 0
	for i := range shapes {
		n := shapes[i].Service.ContainerInstances
		shapes[i].Service.ContainerInstances = max(0, n-registered)
		registered = max(registered, n)
	}
}

// rehearseEnv is the simulated run's environment: the copies' cluster and services, the real run's region and its
// tunables as `demo` takes them, but not PROBES_FILE (a probe would check the real service, which is not under
// chaos) nor the real run's credentials and Kubernetes identity.
func rehearseEnv(shapes []ecssim.Shape, region string, lookupEnv func(string) (string, bool), reportPath string) map[string]string {
	names := make([]string, 0, len(shapes))
	for _, sh := range shapes {
		names = append(names, sh.Service.Service)
	}
	env := map[string]string{
		"CLUSTER_NAME": shapes[0].Service.Cluster, "SERVICE_NAME": strings.Join(names, ","), "REGION": region,
		"EXPERIMENT_NAME": faultName,
	}
	for _, k := range append(slices.Clone(demoTunables), "EXPERIMENT_NAME", "REPORT_FILE") {
		if v, ok := lookupEnv(k); ok && k != "PROBES_FILE" {
			env[k] = v
		}
	}
	if reportPath != "" {
		env["REPORT_FILE"] = reportPath
	}
	return env
}
