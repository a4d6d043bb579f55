package main

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ecschaos/ecs-invalid-container-image/chaoslib/ecsimage"
	"github.com/ecschaos/ecs-invalid-container-image/experiment/recorder"
)

// retryState says whether this pod is a retry of an earlier pod of the same Job, and how that one ended.
type retryState int

const (
	// retryNone: the first pod of its Job, or no Job (JOB_UID unset), or nothing recorded by this Job yet.
	retryNone retryState = iota
	// retryEnded: an earlier pod of this Job ran and recorded its verdict. Kubernetes retries a pod that exits
	// non-zero (chaos-runner's Job keeps the default backoffLimit of 6), so this pod must change nothing.
	retryEnded
	// retryInterrupted: an earlier pod of this Job started a run and never recorded its end (killed, evicted,
	// OOM, node lost). It may have left a chaos revision; this pod restores that and injects nothing.
	retryInterrupted
)

// retryOf reads the ChaosResult before this run resets it. A result whose status.run names this pod's Job was
// written by an earlier pod of the same Job. A new Job of the same engine has another uid and runs as usual.
// When the result cannot be read the run goes on: preflight still finds a chaos revision of this Job by its
// marker (Report.LeftByThisJob).
func (s *session) retryOf(ctx context.Context, rec *recorder.Recorder) retryState {
	if s.cfg.JobUID == "" {
		return retryNone
	}
	prev, found, err := rec.Previous(ctx)
	if err != nil {
		s.log.Warnf("cannot read the ChaosResult %s to tell a retried pod of Job %s (the marker check still applies): %v", rec.Name(), s.cfg.JobUID, err)
		return retryNone
	}
	if !found || prev.Result.Run.JobUID != s.cfg.JobUID {
		return retryNone
	}
	if prev.Result.Phase.Ended() {
		s.log.Infof("a previous pod of this Job (%s) already ran run %s and recorded %s/%s in ChaosResult %s: this retry changes nothing and records nothing",
			s.cfg.JobUID, prev.Result.Run.ID, prev.Result.Phase, prev.Result.Verdict, rec.Name())
		return retryEnded
	}
	s.log.Warnf("a previous pod of this Job (%s, pod %s) started run %s and never recorded its end: restoring what it left, injecting nothing",
		s.cfg.JobUID, prev.Result.Run.Pod, prev.Result.Run.ID)
	return retryInterrupted
}

// recoverPredecessor restores the chaos revisions this Job's earlier pod left, the way `recover` does but only
// for this Job's markers, and records an Error verdict that says so.
func (s *session) recoverPredecessor(ctx context.Context, rec *recorder.Recorder, inCluster bool, opts ecsimage.Options, why string) int {
	s.log.Warnf("%s: restoring its services (Job %s) and not injecting again", why, s.cfg.JobUID)
	// Like recover, this is cleanup: a signal must not cut it short, only the timeouts bound it.
	report := ecsimage.Recover(context.WithoutCancel(ctx), s.clients, opts)
	final := rec.FinishRecovery(ctx, report, fmt.Sprintf("%s (Job %s): this pod restored what it left and did not inject again", why, s.cfg.JobUID))
	printSummary(s.log, report, final.Outcome)
	return s.exitStatus(final.Outcome, final.Recorded && inCluster)
}

// kubeConfig returns the cluster's client configuration when the binary runs in a pod or KUBECONFIG is set, else
// nil: outside a cluster the result goes to a file or stdout.
func kubeConfig(lookupEnv func(string) (string, bool)) (*rest.Config, error) {
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	path, ok := lookupEnv("KUBECONFIG")
	if !ok || path == "" {
		return nil, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("KUBECONFIG %s: %w", path, err)
	}
	return cfg, nil
}
