package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/clock"
	"github.com/ecschaos/ecs-invalid-container-image/pkg/tunables"
)

// recoverCommand restores the services of CLUSTER_NAME/SERVICE_NAME that a killed run left under chaos, from the
// marker on the chaos revision alone, and prints what it did as JSON on stdout.
func recoverCommand(ctx context.Context, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	log := newLogger(stderr, lookupEnv)
	cfg, err := tunables.Load(lookupEnv, tunables.OSFileSystem{})
	if err != nil {
		log.Errorf("invalid input, nothing was changed:\n%v", err)
		return int(ecsimage.OutcomeRefused)
	}
	configureLogger(log, cfg)
	s := &session{cfg: cfg, runID: "recover-" + newRunID(), log: log, clock: clock.Real{}, stdout: stdout, lookupEnv: lookupEnv}
	clients, err := s.awsClients(ctx, lookupEnv)
	if err != nil {
		log.Errorf("AWS configuration failed, nothing was changed: %v", err)
		return int(ecsimage.OutcomeRefused)
	}
	// recover is itself the cleanup: a signal must not cut it short, only the status-check timeout bounds it.
	report := ecsimage.Recover(context.WithoutCancel(ctx), clients, ecsimage.Options{
		Cluster: cfg.ClusterName, Services: cfg.Services, Region: cfg.Region, Clock: s.clock, Logger: log,
		StatusCheckTimeout: cfg.StatusCheckTimeout, StatusCheckDelay: cfg.StatusCheckDelay,
		AbortDeadline: abortDeadline(cfg.TerminationGracePeriod),
	})
	code := int(report.RecoverOutcome())
	if report.Err != nil {
		log.Error(report.Err)
	}
	for _, svc := range report.Services {
		switch {
		case svc.Error != "":
			log.Errorf("recover %s: %s", svc.Service, svc.Error)
		case svc.Changed:
			log.Infof("recover %s: %s; deregistered %v", svc.Service, svc.Restore.Action, svc.Restore.Deregistered)
		}
		for _, step := range svc.Restore.ManualSteps {
			log.Errorf("MANUAL STEP for %s: %s", svc.Service, step)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		fmt.Fprintf(stderr, "printing the recover report: %v\n", err)
	}
	return code
}
