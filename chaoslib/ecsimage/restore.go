package ecsimage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// restorePlan is everything a restore needs about one service, fixed before anything changes: a run fills it at
// preflight (the chaos revision once it is registered), recover from a chaos revision's marker (planFromMarker).
// Restore is a function of the plan and of the service as read just before acting (compare-and-set).
type restorePlan struct {
	original   *types.TaskDefinition          // the revision the service goes back to
	originalDC *types.DeploymentConfiguration // the deployment configuration it goes back to
	// chaosDC is the configuration the fault set: the original goes back over it, and over no other. A run
	// computes it at preflight; recover takes the service's own when it has the shape the fault sets over the
	// marker's original (chaosConfigurationOf), and has none when it does not (nil: nothing is the fault's).
	chaosDC  *types.DeploymentConfiguration
	chaosARN string // the chaos revision; empty before its registration succeeded
}

// isChaosConfiguration reports whether dc is exactly what the fault set.
func (p *restorePlan) isChaosConfiguration(dc *types.DeploymentConfiguration) bool {
	return p.chaosDC != nil && sameDeploymentConfiguration(dc, p.chaosDC)
}

// restorer puts services back from their restore plans, compare-and-set. A run restores through it (run embeds
// one); recover builds one for the run named by a marker, with nothing else of a run.
type restorer struct {
	clients Clients // paced
	opts    Options
	log     logrus.FieldLogger
	// polled, when set, is told of every poll of the restore wait (Run reports it as progress; recover does not).
	polled func(t *target, svc types.Service)
}

func newRestorer(clients Clients, opts Options) restorer {
	return restorer{clients: pacedClients(clients, opts.Clock, opts.Rates), opts: opts, log: opts.Logger.WithField("run", opts.RunID)}
}

// RestoreError means the fault could not put a service back. Its message names the service and the revision to
// roll back to, and ManualSteps holds the commands that do it.
type RestoreError struct {
	Service     string
	Original    string
	ManualSteps []string
	Err         error
}

func (e *RestoreError) Error() string {
	return fmt.Sprintf("RESTORE FAILED for service %s: roll it back to %s by hand (%v); run: %s",
		e.Service, e.Original, e.Err, strings.Join(e.ManualSteps, " && "))
}

func (e *RestoreError) Unwrap() error { return e.Err }

// restoreContext gives restore its own context: not cancelled by the stop that ended the hold, and bounded by the
// abort deadline once the run has been stopped (measured from the stop, on the wall clock like the pod's grace
// period).
func (r *runState) restoreContext(work context.Context) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(work)
	if work.Err() != nil {
		return context.WithTimeout(base, r.opts.AbortDeadline)
	}
	ctx, cancel := context.WithCancel(base)
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(work, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(r.opts.AbortDeadline, cancel)
	})
	return ctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// restore puts one service back, compare-and-set: it acts only on what the fault itself set.
//   - still on this run's chaos revision: back to the original revision and the original configuration;
//   - already rolled back by ECS: the configuration is restored only if it still equals the chaos one;
//   - someone deployed a third revision: their revision and configuration are left alone.
//
// The caller then deregisters (deregisterChaos) every chaos revision the service no longer points at.
func (r *restorer) restore(ctx context.Context, t *target) {
	if t.watch.gone {
		return
	}
	found, missing, err := describeServices(ctx, r.clients.Restore, r.opts.Cluster, []string{t.serviceID()})
	r.restoreRead(ctx, t, found, missing, err)
}

// restoreRead restores one service given the compare-and-set read of its batch; it reports the service as read
// when the restore decision was taken on it.
func (r *restorer) restoreRead(ctx context.Context, t *target, found map[string]types.Service, missing map[string]string, err error) (types.Service, bool) {
	switch {
	case t.watch.gone:
	case err != nil:
		r.restoreFailed(t, fmt.Errorf("read the service before restoring it: %s", explainAPIError(err, "ecs:DescribeServices")))
	case missing[t.serviceID()] != "":
		r.serviceGone(t)
	default:
		svc := found[t.serviceID()]
		r.restoreWith(ctx, t, svc)
		return svc, true
	}
	return types.Service{}, false
}

// restoreBatch restores several services with one compare-and-set read per ten of them. lastLook, when set, is
// given each service as read just before its restore, so the hold's last observation costs no extra call.
func (r *runState) restoreBatch(ctx context.Context, ts []*target, lastLook func(t *target, svc types.Service)) {
	var names []string
	for _, t := range ts {
		if t.chaosARN == "" {
			// The registration's reply may have been lost to the stop: look for the revision by its marker.
			if arn, found := r.findOwnRevision(ctx, r.clients.Restore, t); found {
				t.chaosARN = arn
				t.report.ChaosTaskDefinitions = append(t.report.ChaosTaskDefinitions, arn)
			}
		}
		if !t.watch.gone {
			names = append(names, t.serviceID())
		}
	}
	if len(names) == 0 {
		return
	}
	found, missing, err := describeServices(ctx, r.clients.Restore, r.opts.Cluster, names)
	// The updates go out in parallel: in sequence, the tenth service of a batch would come back ten round
	// trips late.
	r.forEach(ts, func(t *target) bool {
		if svc, read := r.restoreRead(ctx, t, found, missing, err); read && lastLook != nil {
			lastLook(t, svc)
		}
		return true
	})
}

// restoreWith is the compare-and-set decision for one service, given the service as just read.
func (r *restorer) restoreWith(ctx context.Context, t *target, svc types.Service) {
	log := r.log.WithField("service", t.name)
	c := r.clients.Restore
	current := aws.ToString(svc.TaskDefinition)
	ours := current != "" && (current == t.chaosARN || slices.Contains(t.report.ChaosTaskDefinitions, current) || r.carriesOwnMarker(ctx, c, current, t))
	t.learnChaosDeployment(svc)
	switch {
	case ours && r.stopChaosDeployment(ctx, t, svc):
		// ECS returns to the previous service revision with the digests it ran; the deployment configuration is
		// not part of a service revision, so it goes back with UpdateService (compare-and-set as after a rollback).
		t.report.Restore.Action = RestoreReverted
		t.report.Restore.Method = RestoreMethodStopDeployment
		log.WithField("revision", t.originalARN()).Info("rolled the chaos deployment back with StopServiceDeployment: the service returns to its previous service revision and image digests")
		if !configurationDeferred(t) { // a DAEMON keeps its raised bound until the rollback is done (restored.go)
			r.restoreConfiguration(ctx, t, svc)
		}
	case ours:
		_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster:                 aws.String(r.opts.Cluster),
			Service:                 aws.String(t.serviceID()),
			TaskDefinition:          aws.String(t.originalARN()),
			DeploymentConfiguration: restoreDeploymentConfiguration(t), // restored.go: DAEMON keeps its bound
		})
		if err != nil {
			r.restoreFailed(t, fmt.Errorf("point the service back at %s: %s", t.originalARN(), explainAPIError(err, "ecs:UpdateService")))
			return
		}
		t.report.Restore.Action = RestoreReverted
		t.report.Restore.Method = RestoreMethodUpdateService
		t.report.Restore.DeploymentConfigurationRestored = !configurationDeferred(t)
		log.WithField("revision", t.originalARN()).Info("service points at its original revision again")
	case current == t.originalARN():
		if hasDeploymentOf(svc, t.report.ChaosTaskDefinitions) || t.report.Observations.RolledBackByECS || t.report.Observations.RevertedBySomeoneElse {
			r.judgeRevert(ctx, t, svc, r.opts.Clock.Now())
		}
		switch {
		case t.report.Observations.RolledBackByECS:
			t.report.Restore.Action = RestoreRolledBackByECS
		case t.report.Observations.RevertedBySomeoneElse:
			t.report.Restore.Action = RestoreRevertedBySomeoneElse
		default:
			t.report.Restore.Action = RestoreNotNeeded
		}
		r.restoreConfiguration(ctx, t, svc)
	default:
		t.report.Restore.Action = RestoreLeftToThirdParty
		log.Warn(t.report.warn("service now runs %s, deployed by someone else during the fault: their revision is left alone", current))
		// A deploy that names no configuration inherits the fault's narrowed one: it goes back under the same
		// compare-and-set rule as after an ECS rollback (only while it is exactly what the fault set).
		r.restoreConfiguration(ctx, t, svc)
	}
	t.report.State = StateRestored
	t.report.Restore.At = timeAt(r.opts.Clock.Now())
}

// restoreConfiguration is the compare-and-set half of a restore after ECS rolled back: the original deployment
// configuration goes back only while the service still has exactly the one the fault set.
func (r *restorer) restoreConfiguration(ctx context.Context, t *target, svc types.Service) {
	log := r.log.WithField("service", t.name)
	switch {
	case sameDeploymentConfiguration(svc.DeploymentConfiguration, t.originalDC):
		t.report.Restore.DeploymentConfigurationRestored = true
	case t.isChaosConfiguration(svc.DeploymentConfiguration):
		t.report.Changed = true
		_, err := r.clients.Restore.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster:                 aws.String(r.opts.Cluster),
			Service:                 aws.String(t.serviceID()),
			DeploymentConfiguration: cloneDeploymentConfiguration(t.originalDC),
		})
		if err != nil {
			r.restoreFailed(t, fmt.Errorf("restore the deployment configuration: %s", explainAPIError(err, "ecs:UpdateService")))
			return
		}
		t.report.Restore.DeploymentConfigurationRestored = true
		log.Info("restored the original deployment configuration")
	default:
		log.Warn(t.report.warn("the deployment configuration was changed by someone else during the fault: left alone (the original was %s)", cliJSON(t.originalDC)))
	}
}

func hasDeploymentOf(svc types.Service, revisions []string) bool {
	for _, d := range svc.Deployments {
		if slices.Contains(revisions, aws.ToString(d.TaskDefinition)) {
			return true
		}
	}
	return false
}

// carriesOwnMarker reports whether a revision the run does not know by ARN carries this run's marker.
func (r *restorer) carriesOwnMarker(ctx context.Context, c ECS, arn string, t *target) bool {
	if arn == t.originalARN() {
		return false
	}
	out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil || out.TaskDefinition == nil {
		return false
	}
	m, ok, err := taskdef.ReadMarker(out.TaskDefinition)
	return err == nil && ok && m.RunID == r.opts.RunID
}

// deregistration is what deregisterARNs did, kept apart from the report so that it can run behind the restores
// and the wait without sharing their data; applyDeregistration records it once both are over.
type deregistration struct {
	done   []string
	failed []deregistrationFailure
}

type deregistrationFailure struct {
	arn string
	err error
}

// deregisterChaos deregisters this run's chaos revisions that the service no longer points at; never the original.
func (r *restorer) deregisterChaos(ctx context.Context, t *target) {
	result := &deregistration{}
	r.deregisterARNs(ctx, t.name, r.toDeregister(t), result)
	t.dereg = result
	r.applyDeregistration(t)
}

// toDeregister lists the chaos revisions of this run the service no longer uses.
func (r *restorer) toDeregister(t *target) []string {
	if t.report.State == StateRestoreFailed {
		return nil // the service may still use its chaos revision; the manual steps deregister it afterwards
	}
	var arns []string
	for _, arn := range t.report.ChaosTaskDefinitions {
		if arn != t.originalARN() && !slices.Contains(t.report.Restore.Deregistered, arn) {
			arns = append(arns, arn)
		}
	}
	return arns
}

func (r *restorer) deregisterARNs(ctx context.Context, service string, arns []string, result *deregistration) {
	for _, arn := range arns {
		if _, err := r.clients.Restore.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			result.failed = append(result.failed, deregistrationFailure{arn: arn, err: err})
			continue
		}
		result.done = append(result.done, arn)
		r.log.WithField("service", service).WithField("revision", arn).Info("deregistered the chaos revision")
	}
}

// applyDeregistration records a finished deregistration in the report. A chaos revision left ACTIVE stays the
// family's newest (pipelines deploying "latest" pick it up) and every later preflight refuses: not a pass.
func (r *restorer) applyDeregistration(t *target) {
	if t.dereg == nil {
		return
	}
	t.report.Restore.Deregistered = append(t.report.Restore.Deregistered, t.dereg.done...)
	for _, f := range t.dereg.failed {
		t.report.Restore.DeregisterFailed = append(t.report.Restore.DeregisterFailed, f.arn)
		step := fmt.Sprintf("aws ecs deregister-task-definition --task-definition %s --region %s", f.arn, r.opts.Region)
		t.report.Restore.ManualSteps = append(t.report.Restore.ManualSteps, step)
		t.report.fail(fmt.Errorf("chaos revision %s is still ACTIVE: %s; run: %s", f.arn, explainAPIError(f.err, "ecs:DeregisterTaskDefinition"), step))
		r.log.WithField("service", t.name).Error(t.report.Error)
	}
	t.dereg = nil
}

func (r *restorer) restoreFailed(t *target, err error) {
	dc := encodeDeploymentConfiguration(t.originalDC)
	steps := []string{fmt.Sprintf("aws ecs update-service --cluster %s --service %s --task-definition %s --deployment-configuration '%s' --region %s",
		r.opts.Cluster, t.name, t.originalARN(), awsCLIDeploymentConfiguration(t.originalDC, dc), r.opts.Region)}
	for _, arn := range t.report.ChaosTaskDefinitions {
		steps = append(steps, fmt.Sprintf("aws ecs deregister-task-definition --task-definition %s --region %s", arn, r.opts.Region))
	}
	rerr := &RestoreError{Service: t.name, Original: t.originalARN(), ManualSteps: steps, Err: err}
	t.report.State = StateRestoreFailed
	t.report.Restore.ManualSteps = steps
	t.report.fail(rerr)
	r.log.WithField("service", t.name).Error(rerr.Error())
}

// waitRestored waits until every restored service's restore deployment completed with no chaos task left: one
// deployment, on the original revision, running = desired. For a service left to a third party it waits only
// until no chaos deployment remains. A wait that times out is reported; it does not undo the restore.
func (r *restorer) waitRestored(ctx context.Context, targets []*target) {
	defer r.restoreDeferredConfigurations(ctx, targets) // restored.go
	pending := map[*target]bool{}
	for _, t := range targets {
		if t.report.State == StateRestored && !t.watch.gone {
			pending[t] = true
		}
	}
	start := r.opts.Clock.Now()
	deadline := r.opts.Clock.NewTimer(r.opts.StatusCheckTimeout)
	defer deadline.Stop()
	for len(pending) > 0 {
		var names []string
		for t := range pending {
			names = append(names, t.serviceID())
		}
		found, missing, err := describeServices(ctx, r.clients.Restore, r.opts.Cluster, names)
		if err != nil && ctx.Err() == nil {
			r.log.Warnf("checking the restore deployments failed (still waiting): %v", err)
		}
		for t := range pending {
			if err != nil {
				break
			}
			if _, gone := missing[t.serviceID()]; gone {
				r.serviceGone(t)
				delete(pending, t)
				continue
			}
			if r.polled != nil {
				r.polled(t, found[t.serviceID()])
			}
			if restoreDone(t, found[t.serviceID()]) {
				t.report.Restore.Completed, t.report.Restore.CompletedAt = true, timeAt(r.opts.Clock.Now())
				t.report.Restore.WaitSeconds = r.opts.Clock.Now().Sub(start).Seconds()
				r.log.WithField("service", t.name).Infof("restore deployment completed after %.0fs", t.report.Restore.WaitSeconds)
				delete(pending, t)
			}
		}
		if len(pending) == 0 {
			break
		}
		poll := r.opts.Clock.NewTimer(r.opts.StatusCheckDelay)
		select {
		case <-ctx.Done():
			poll.Stop()
			r.waitFailed(pending, fmt.Sprintf("the abort deadline (%s) ended the wait", r.opts.AbortDeadline))
			return
		case <-deadline.C():
			poll.Stop()
			r.waitFailed(pending, fmt.Sprintf("STATUS_CHECK_TIMEOUT (%s) passed", r.opts.StatusCheckTimeout))
			return
		case <-poll.C():
		}
	}
	r.recordDigests(ctx, targets, false)
}

func (r *restorer) waitFailed(pending map[*target]bool, why string) {
	for t := range pending {
		t.report.fail(fmt.Errorf("the restore deployment of service %s did not complete before %s; the service already points at %s and ECS keeps deploying it%s", t.name, why, t.originalARN(), restoreHeldNote(t)))
		r.log.WithField("service", t.name).Error(t.report.Error)
	}
}

func restoreDone(t *target, svc types.Service) bool {
	done, note := restoredState(t, svc) // restored.go
	t.report.Restore.InProgress = note
	return done
}

// awsCLIDeploymentConfiguration renders the original configuration for the aws CLI's JSON argument.
func awsCLIDeploymentConfiguration(dc *types.DeploymentConfiguration, fallback string) string {
	if dc == nil {
		return fallback
	}
	return cliJSON(dc)
}
