package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/sirupsen/logrus"
	"k8s.io/client-go/rest"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/experiment/recorder"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/result"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// session is what one run or recover of the binary works with; built once in runCommand and passed down.
type session struct {
	cfg     tunables.Config
	runID   string
	log     *logrus.Logger
	clock   clock.Clock
	clients ecsimage.Clients
	stdout  io.Writer
	// lookupEnv reads the environment (os.LookupEnv in the pod).
	lookupEnv func(string) (string, bool)
	// outsideCluster forces the file/stdout result even inside a pod (the demo).
	outsideCluster bool
	// alarmsAPI reads CloudWatch alarms for EXPECT_ALARMS; nil when none are expected.
	alarmsAPI alarms.API
	// report is the fault's report once runFault has run it (a rehearsal's prediction reads it).
	report *ecsimage.Report
}

// runCommand is the pod's entrypoint: tunables, outputs, AWS, the fault, the result, the exit status.
func runCommand(ctx context.Context, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	log := newLogger(stderr, lookupEnv)
	cfg, cfgErr := tunables.Load(lookupEnv, tunables.OSFileSystem{})
	configureLogger(log, cfg)
	s := &session{cfg: cfg, runID: newRunID(), log: log, clock: clock.Real{}, stdout: stdout, lookupEnv: lookupEnv}
	if cfgErr != nil {
		return s.refuse(ctx, "GENERIC_ERROR", "invalid input, nothing was changed", cfgErr)
	}
	clients, err := s.awsClients(ctx, lookupEnv)
	if err != nil {
		return s.refuse(ctx, "GENERIC_ERROR", "AWS configuration failed, nothing was changed", err)
	}
	s.clients = clients
	return s.runFault(ctx)
}

// refuse ends a run that could not start: the error goes to the log and, through the same writer as every other
// result, into the ChaosResult.
func (s *session) refuse(ctx context.Context, code, what string, err error) int {
	s.log.Errorf("%s:\n%v", what, err)
	recorded := false
	if out, oerr := s.outputs(); oerr != nil {
		s.log.Warnf("cannot record the failure in a ChaosResult: %v", oerr)
	} else if werr := recorder.RecordFailure(ctx, out, s.cfg, s.resultRun(), code, what+": "+err.Error()); werr != nil {
		s.log.Warnf("cannot record the failure in a ChaosResult: %v", werr)
	} else {
		recorded = out.InCluster()
	}
	return s.exitStatus(ecsimage.OutcomeRefused, recorded)
}

// outputs are where this run's result goes.
func (s *session) outputs() (recorder.Outputs, error) {
	var restCfg *rest.Config
	if !s.outsideCluster {
		var err error
		if restCfg, err = kubeConfig(s.lookupEnv); err != nil {
			return recorder.Outputs{}, err
		}
	}
	return recorder.Open(s.cfg, restCfg, s.stdout)
}

func (s *session) resultRun() result.Run {
	return result.Run{ID: s.runID, JobUID: s.cfg.JobUID, Pod: s.cfg.PodName}
}

// exitStatus is the process exit status. For a plain Job or a CLI run it is the outcome (DESIGN's table). Under a
// ChaosEngine it is 0 once the verdict is in the ChaosResult in Kubernetes (inCluster), as Litmus's own faults
// do: chaos-runner treats a failed experiment pod as a watch error and never reads the result (chaos-runner
// 3.18.0 pkg/utils/watchChaosContainer.go, GetChaosContainerStatus: "chaos pod status is Failed"), and the Job it
// builds keeps Kubernetes' default backoffLimit, so it retries a failed pod.
func (s *session) exitStatus(o ecsimage.Outcome, inCluster bool) int {
	if s.cfg.ChaosEngine != "" && inCluster {
		if o != ecsimage.OutcomePass {
			s.log.Infof("outcome %s (exit %d as a plain Job); under ChaosEngine %s the verdict is in the ChaosResult and the pod exits 0", o, int(o), s.cfg.ChaosEngine)
		}
		return 0
	}
	return int(o)
}

// awsClients builds the two ECS clients from the tunables: one for the fault, one (with its own retry budget) for
// the restore.
func (s *session) awsClients(ctx context.Context, lookupEnv func(string) (string, bool)) (ecsimage.Clients, error) {
	awsCfg, err := s.awsConfig(ctx, lookupEnv)
	if err != nil {
		return ecsimage.Clients{}, err
	}
	if len(s.cfg.ExpectAlarms) > 0 {
		s.alarmsAPI = cloudwatch.NewFromConfig(awsCfg)
	}
	return ecsimage.Clients{
		Chaos:   ecs.NewFromConfig(awsCfg, awsclient.ECSOptions(awsclient.PurposeMain)),
		Restore: ecs.NewFromConfig(awsCfg, awsclient.ECSOptions(awsclient.PurposeRestore)),
	}, nil
}

// awsConfig is the AWS configuration of the tunables' credentials, region and role; it makes no AWS call.
func (s *session) awsConfig(ctx context.Context, lookupEnv func(string) (string, bool)) (aws.Config, error) {
	awsCfg, source, err := awsclient.Load(ctx, awsclient.Options{
		Region:                s.cfg.Region,
		Profile:               s.cfg.Profile,
		SharedCredentialsFile: s.cfg.SharedCredentialsFile,
		SecretConfigured:      s.cfg.AuthenticationSecret != "",
		AssumeRoleARN:         s.cfg.AssumeRoleARN,
		RunID:                 s.runID,
		Version:               version,
		Logger:                s.log,
		Getenv: func(k string) string {
			v, _ := lookupEnv(k)
			return v
		},
	})
	if err != nil {
		return aws.Config{}, err
	}
	s.log.Infof("AWS credentials: %s", source)
	return awsCfg, nil
}

// runFault runs the fault with the session's clients and records the outcome; it returns the exit status.
func (s *session) runFault(ctx context.Context) int {
	image, err := s.cfg.ImageRef.ForRun(s.runID)
	if err != nil {
		return s.refuse(ctx, "GENERIC_ERROR", "IMAGE cannot be used, nothing was changed", err)
	}
	out, err := s.outputs()
	if err != nil {
		return s.refuse(ctx, "PRE_CHAOS_CHECK_ERROR", "cannot start the run, nothing was changed", err)
	}
	retry := s.retryOf(ctx, out)
	if retry == retryEnded {
		return 0
	}
	rec, err := recorder.New(ctx, out, recorder.Params{Config: s.cfg, Run: s.resultRun(), Clock: s.clock, Log: s.log, Alarms: s.alarmsAPI,
		Image: image.Reference, Version: versionString(), StopBudget: stopBudget(s.cfg.TerminationGracePeriod)})
	if err != nil {
		return s.refuse(ctx, "PRE_CHAOS_CHECK_ERROR", "cannot start the run, nothing was changed", err)
	}
	if rec.EngineStopped() && retry != retryInterrupted {
		return s.refuse(ctx, "PRE_CHAOS_CHECK_ERROR", "cannot start the run, nothing was changed",
			fmt.Errorf("ChaosEngine %s/%s is set to stop: not starting", s.cfg.ChaosNamespace, s.cfg.ChaosEngine))
	}
	if err := rec.Start(ctx); err != nil {
		return s.refuse(ctx, "PRE_CHAOS_CHECK_ERROR", "cannot start the run, nothing was changed", err)
	}
	opts := s.faultOptions(image)
	if retry == retryInterrupted {
		return s.recoverPredecessor(ctx, rec, out.InCluster(), opts, "a previous pod of this Job was interrupted during its run")
	}
	// Stops from the ChaosEngine (engineState: stop) and from stopOnFailure probes cancel the same context as a
	// signal does, each with its own cause.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rec.WatchForStops(ctx, cancel)
	opts.Hooks = rec.Hooks(ctx)

	s.log.WithFields(logrus.Fields{
		"cluster": s.cfg.ClusterName, "services": strings.Join(s.cfg.Services, ","), "image": image.Reference,
		"duration": s.cfg.TotalChaosDuration, "interval": s.cfg.ChaosInterval, "run": s.runID,
		"abortDeadline": opts.AbortDeadline, "gracePeriod": s.cfg.TerminationGracePeriod,
	}).Info("starting the ECS invalid container image fault")
	report := ecsimage.Run(ctx, s.clients, opts)
	s.report = report
	if report.LeftByThisJob() {
		return s.recoverPredecessor(ctx, rec, out.InCluster(), opts, "a previous pod of this Job left a chaos revision behind")
	}
	final := rec.Finish(ctx, report)
	printSummary(s.log, report, final.Outcome)
	return s.exitStatus(final.Outcome, final.Recorded && out.InCluster())
}

func (s *session) faultOptions(image taskdef.ChaosImage) ecsimage.Options {
	return ecsimage.Options{
		Cluster:            s.cfg.ClusterName,
		Services:           s.cfg.Services,
		Region:             s.cfg.Region,
		Image:              image,
		TargetContainers:   s.cfg.TargetContainers,
		AffectedPercent:    s.cfg.AffectedPercent,
		Duration:           s.cfg.TotalChaosDuration,
		Interval:           s.cfg.ChaosInterval,
		RampTime:           s.cfg.RampTime,
		Sequence:           s.cfg.Sequence,
		StatusCheckTimeout: s.cfg.StatusCheckTimeout,
		StatusCheckDelay:   s.cfg.StatusCheckDelay,
		AbortDeadline:      abortDeadline(s.cfg.TerminationGracePeriod),
		RunID:              s.runID,
		JobUID:             s.cfg.JobUID,
		Clock:              s.clock,
		Logger:             s.log,
	}
}

// abortDeadline keeps the restore after a stop inside the pod's grace period, leaving time to write the result
// and events before the kubelet's SIGKILL: a third of the grace period, at most 5 s, is kept back.
func abortDeadline(grace time.Duration) time.Duration {
	margin := min(5*time.Second, grace/3)
	return max(grace-margin, time.Second)
}

// stopBudget is what the end-of-test probes may take after an abort: half of what the abort deadline leaves of the
// grace period, the other half being the result's and the events' (writes are bounded by recorder.WriteTimeout).
func stopBudget(grace time.Duration) time.Duration {
	return max((grace-abortDeadline(grace))/2, 500*time.Millisecond)
}

// newRunID returns a short random id: it tags the chaos image and the marker of this run.
func newRunID() string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())[:10]
	}
	return hex.EncodeToString(b)
}

func newLogger(stderr io.Writer, lookupEnv func(string) (string, bool)) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(stderr)
	log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: time.RFC3339})
	return log
}

func configureLogger(log *logrus.Logger, cfg tunables.Config) {
	if lvl, err := logrus.ParseLevel(cfg.LogLevel); err == nil {
		log.SetLevel(lvl)
	}
	if cfg.LogFormat == "json" {
		log.SetFormatter(&logrus.JSONFormatter{})
	}
}

// printSummary is the short end-of-run summary in the log.
func printSummary(log logrus.FieldLogger, report *ecsimage.Report, outcome ecsimage.Outcome) {
	log.Infof("summary: outcome %s, run %s, %s", outcome, report.RunID,
		report.EndedAt.Sub(report.StartedAt).Truncate(100*time.Millisecond))
	if report.Stop != nil {
		log.Infof("summary: stopped: %s", report.Stop.Reason)
	}
	for _, s := range report.Services {
		o := s.Observations
		line := fmt.Sprintf("summary: service %s: %s", s.Service, s.State)
		if s.Changed {
			line += fmt.Sprintf("; restore %s (completed %v); failed chaos tasks %d; first failure %s; original RUNNING lowest %d of %d",
				s.Restore.Action, s.Restore.Completed, o.FailedTasks, orNone(o.FirstFailureReason), o.OriginalRunningLowest, o.OriginalRunningAtStart)
			if o.RolledBackByECS {
				line += fmt.Sprintf("; ECS rolled back after %.0fs", o.RollbackSeconds)
			}
		}
		if s.NotEffectiveReason != "" {
			line += "; not effective: " + s.NotEffectiveReason
		}
		if s.Error != "" {
			line += "; error: " + s.Error
		}
		log.Info(line)
		for _, step := range s.Restore.ManualSteps {
			log.Errorf("MANUAL STEP for %s: %s", s.Service, step)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// staticAWS is the AWS configuration of the demo and of tests: fixed fake credentials and one endpoint.
func staticAWS(region, endpoint string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo-secret-not-used", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}
