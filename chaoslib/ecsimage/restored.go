package ecsimage

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// restoredState is the "restored" rule, whatever the deployment strategy: the service points at the original
// revision, the original revision's tasks run at the desired count, and no task of any other revision (the chaos
// one) is RUNNING or PENDING. A ROLLING restore deployment has no bake time and completes as soon as its tasks run,
// so for ROLLING the rule also waits for that single COMPLETED deployment. A BLUE_GREEN, LINEAR or CANARY restore
// keeps both revisions through its traffic shift and bake time (SDK doc of DeploymentConfiguration.BakeTimeInMinutes:
// "both blue and green service revisions are running simultaneously"): that part is reported in the returned note,
// not waited on. A service left to a third party is done once no chaos deployment remains.
func restoredState(t *target, svc types.Service) (done bool, note string) {
	if t.report.Restore.Action == RestoreLeftToThirdParty {
		return !hasDeploymentOf(svc, t.report.ChaosTaskDefinitions), ""
	}
	original := t.originalARN()
	if aws.ToString(svc.TaskDefinition) != original {
		return false, ""
	}
	var running int32
	for _, d := range svc.Deployments {
		if aws.ToString(d.TaskDefinition) == original {
			running += d.RunningCount
			continue
		}
		if d.RunningCount+d.PendingCount > 0 {
			return false, ""
		}
	}
	if running < svc.DesiredCount {
		return false, ""
	}
	settled := len(svc.Deployments) == 1 && (svc.Deployments[0].RolloutState == "" || svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted)
	if settled {
		return true, ""
	}
	if isRolling(t.originalDC) {
		return false, ""
	}
	return true, stagedNote(t.originalDC)
}

// stagedNote says what a blue/green-family restore deployment still goes through after the fault stops waiting.
func stagedNote(dc *types.DeploymentConfiguration) string {
	parts := []string{fmt.Sprintf("the %s restore deployment is still in progress (the original revision already runs the desired count and no chaos task remains)", dc.Strategy)}
	if b := aws.ToInt32(dc.BakeTimeInMinutes); b > 0 {
		parts = append(parts, fmt.Sprintf("bake time %d min, not waited on", b))
	}
	if hooks := describeHooks(dc); hooks != "" {
		parts = append(parts, "lifecycle hooks may hold it: "+hooks)
	}
	return strings.Join(parts, "; ")
}

// describeHooks names each lifecycle hook of dc with its stages, for reports and errors.
func describeHooks(dc *types.DeploymentConfiguration) string {
	if dc == nil {
		return ""
	}
	var out []string
	for _, h := range dc.LifecycleHooks {
		target := aws.ToString(h.HookTargetArn)
		if target == "" {
			target = string(h.TargetType)
		}
		stages := make([]string, len(h.LifecycleStages))
		for i, s := range h.LifecycleStages {
			stages[i] = string(s)
		}
		out = append(out, fmt.Sprintf("%s at %s", target, strings.Join(stages, ",")))
	}
	return strings.Join(out, "; ")
}

// restoreHeldNote is added to a restore wait that timed out: the hooks that may be holding the restore deployment.
func restoreHeldNote(t *target) string {
	if hooks := describeHooks(t.originalDC); hooks != "" {
		return " (the restore deployment may be held by a lifecycle hook: " + hooks + ")"
	}
	return ""
}

// configurationDeferred reports whether the restore deployment of t runs with the chaos configuration and the
// original one goes back after it: a DAEMON service whose chaos deployment raised minimumHealthyPercent. Pointing it
// back with its own minimumHealthyPercent (the API default 0) would stop the daemon task on every instance, the
// instances TASK_REPLICA_AFFECTED_PERC protected included, before starting the original tasks again.
func configurationDeferred(t *target) bool {
	if t.service.SchedulingStrategy != types.SchedulingStrategyDaemon || t.chaosDC == nil {
		return false
	}
	orig := int32(0)
	if t.originalDC != nil {
		orig = aws.ToInt32(t.originalDC.MinimumHealthyPercent)
	}
	return aws.ToInt32(t.chaosDC.MinimumHealthyPercent) > orig
}

// restoreDeploymentConfiguration is the configuration the restore UpdateService sends with the original revision.
func restoreDeploymentConfiguration(t *target) *types.DeploymentConfiguration {
	if configurationDeferred(t) {
		return cloneDeploymentConfiguration(t.chaosDC)
	}
	return cloneDeploymentConfiguration(t.originalDC)
}

// restoreDeferredConfigurations puts the original configuration back on services whose restore deployment ran with
// the chaos one, once the wait is over (done or not: the configuration must not stay narrowed), compare-and-set as
// after an ECS rollback. A configuration-only UpdateService starts no deployment.
func (r *restorer) restoreDeferredConfigurations(ctx context.Context, targets []*target) {
	var pending []*target
	for _, t := range targets {
		if t.report.Restore.Action == RestoreReverted && !t.report.Restore.DeploymentConfigurationRestored && configurationDeferred(t) && !t.watch.gone {
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 {
		return
	}
	names := make([]string, len(pending))
	for i, t := range pending {
		names[i] = t.serviceID()
	}
	found, _, err := describeServices(ctx, r.clients.Restore, r.opts.Cluster, names)
	for _, t := range pending {
		svc, ok := found[t.serviceID()]
		if err != nil || !ok {
			r.restoreFailed(t, fmt.Errorf("restore the deployment configuration after the restore deployment: the service could not be read (%v)", err))
			continue
		}
		r.restoreConfiguration(ctx, t, svc)
	}
}
