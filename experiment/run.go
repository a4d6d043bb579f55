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

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/alarms"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/awsclient"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/probe"
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
	// lookupEnv reads the environment (os.LookupEnv in the pod); probeDeps are the probes' Kubernetes clients.
	lookupEnv func(string) (string, bool)
	probeDeps probe.Deps
	// outsideCluster forces the file/stdout result even inside a pod (the demo).
	outsideCluster bool
	// alarmsAPI reads CloudWatch alarms for EXPECT_ALARMS; nil when none are expected.
	alarmsAPI alarms.API
}

// runCommand is the pod's entrypoint: tunables, AWS, result, fault, result, exit code.
func runCommand(ctx context.Context, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	log := newLogger(stderr, lookupEnv)
	cfg, err := tunables.Load(lookupEnv, tunables.OSFileSystem{})
	if err != nil {
		log.Errorf("invalid input, nothing was changed:\n%v", err)
		recordEarlyFailure(ctx, log, stdout, lookupEnv, "GENERIC_ERROR", "invalid input: "+err.Error())
		return int(ecsimage.OutcomeRefused)
	}
	configureLogger(log, cfg)
	s := &session{cfg: cfg, runID: newRunID(), log: log, clock: clock.Real{}, stdout: stdout, lookupEnv: lookupEnv}
	clients, err := s.awsClients(ctx, lookupEnv)
	if err != nil {
		log.Errorf("AWS configuration failed, nothing was changed: %v", err)
		recordEarlyFailure(ctx, log, stdout, lookupEnv, "GENERIC_ERROR", "AWS configuration: "+err.Error())
		return int(ecsimage.OutcomeRefused)
	}
	s.clients = clients
	return s.runFault(ctx)
}

// awsClients builds the two ECS clients from the tunables: one for the fault, one (with its own retry budget) for
// the restore.
func (s *session) awsClients(ctx context.Context, lookupEnv func(string) (string, bool)) (ecsimage.Clients, error) {
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
		return ecsimage.Clients{}, err
	}
	s.log.Infof("AWS credentials: %s", source)
	if len(s.cfg.ExpectAlarms) > 0 {
		s.alarmsAPI = cloudwatch.NewFromConfig(awsCfg)
	}
	return ecsimage.Clients{
		Chaos:   ecs.NewFromConfig(awsCfg, awsclient.ECSOptions("main")),
		Restore: ecs.NewFromConfig(awsCfg, awsclient.ECSOptions("restore")),
	}, nil
}

// runFault runs the fault with the session's clients and records the outcome; it returns the exit code.
func (s *session) runFault(ctx context.Context) int {
	image, err := taskdef.ResolveChaosImage(s.cfg.Image, s.runID)
	if err != nil {
		s.log.Errorf("IMAGE: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	rec, err := newOutcomeRecorder(ctx, s)
	if err != nil {
		s.log.Errorf("cannot start the run, nothing was changed: %v", err)
		// The failure must be visible where the platform looks, not only in the pod's log (best effort: when the
		// result itself cannot be written, this fails the same way).
		recordEarlyFailure(ctx, s.log, s.stdout, s.lookupEnv, "PRE_CHAOS_CHECK_ERROR", err.Error())
		return int(ecsimage.OutcomeRefused)
	}
	// Stops from the ChaosEngine (engineState: stop) and from stopOnFailure probes cancel the same context as a
	// signal does, each with its own cause.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rec.watchForStops(ctx, cancel)

	s.log.WithFields(logrus.Fields{
		"cluster": s.cfg.ClusterName, "services": strings.Join(s.cfg.Services, ","), "image": image.Reference,
		"duration": s.cfg.TotalChaosDuration, "interval": s.cfg.ChaosInterval, "run": s.runID,
	}).Info("starting the ECS invalid container image fault")
	report := ecsimage.Run(ctx, s.clients, ecsimage.Options{
		Cluster:            s.cfg.ClusterName,
		Services:           s.cfg.Services,
		Region:             s.cfg.Region,
		Image:              image,
		TargetContainers:   s.cfg.TargetContainers,
		AffectedPercent:    s.cfg.AffectedPercent,
		Duration:           s.cfg.TotalChaosDuration,
		Interval:           s.cfg.ChaosInterval,
		RampTime:           s.cfg.RampTime,
		Sequence:           ecsimage.Sequence(s.cfg.Sequence),
		StatusCheckTimeout: s.cfg.StatusCheckTimeout,
		StatusCheckDelay:   s.cfg.StatusCheckDelay,
		AbortDeadline:      abortDeadline(s.cfg.TerminationGracePeriod),
		RunID:              s.runID,
		Clock:              s.clock,
		Logger:             s.log,
		Hooks:              rec.hooks(ctx),
	})
	code := rec.finish(ctx, report)
	printSummary(s.log, report, code)
	return code
}

// abortDeadline keeps the restore after a stop inside the pod's grace period, leaving time to write the result
// and events before the kubelet's SIGKILL: a third of the grace period, at most 5 s, is kept back.
func abortDeadline(grace time.Duration) time.Duration {
	margin := min(5*time.Second, grace/3)
	return max(grace-margin, time.Second)
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
	if v, ok := lookupEnv("LOG_FORMAT"); ok && strings.EqualFold(v, "json") {
		log.SetFormatter(&logrus.JSONFormatter{})
	}
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
func printSummary(log logrus.FieldLogger, report *ecsimage.Report, code int) {
	log.Infof("summary: outcome %s (exit %d), run %s, %s", ecsimage.Outcome(code), code, report.RunID,
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
