package ecsimage

import (
	"encoding/json"
	"reflect"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecschaos/ecs-invalid-container-image/pkg/taskdef"
)

// Defaults ECS applies when a service has no explicit percentages.
const (
	defaultMaximumPercent        = 200
	defaultMinimumHealthyPercent = 100
)

// cloneDeploymentConfiguration deep-copies a deployment configuration through the SDK's own wire codec, so that
// every member a newer SDK adds is copied too, and lifecycle hooks keep their hookDetails documents (encoding/json
// cannot decode a document.Interface: copying through it crashed the run on services with hooks).
func cloneDeploymentConfiguration(dc *types.DeploymentConfiguration) *types.DeploymentConfiguration {
	if dc == nil {
		return nil
	}
	out, err := taskdef.CloneDeploymentConfiguration(dc)
	if err != nil {
		// The SDK's serializer cannot fail on a configuration it decoded itself; should it ever, a shallow copy
		// still carries every member to UpdateService, which is what matters.
		shallow := *dc
		return &shallow
	}
	return out
}

// jsonValue is a deployment configuration as generic JSON values, keyed by the API's member names.
func jsonValue(dc *types.DeploymentConfiguration) any {
	body, err := taskdef.MarshalDeploymentConfiguration(dc)
	if err != nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil
	}
	return v
}

// encodeDeploymentConfiguration is the marker's lossless text form of a deployment configuration: ECS's wire form,
// hook details included.
func encodeDeploymentConfiguration(dc *types.DeploymentConfiguration) string {
	body, err := taskdef.MarshalDeploymentConfiguration(dc)
	if err != nil {
		return "{}"
	}
	return string(body)
}

// decodeDeploymentConfiguration reads what encodeDeploymentConfiguration wrote, and also the form older binaries
// wrote (encoding/json of the SDK struct, Go field names such as "MaximumPercent"; those never held hook documents).
func decodeDeploymentConfiguration(s string) (*types.DeploymentConfiguration, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &members); err != nil {
		return nil, err
	}
	for name := range members {
		if name != "" && unicode.IsUpper(rune(name[0])) {
			var dc types.DeploymentConfiguration
			if err := json.Unmarshal([]byte(s), &dc); err != nil {
				return nil, err
			}
			return &dc, nil
		}
	}
	return taskdef.UnmarshalDeploymentConfiguration([]byte(s))
}

// isRolling reports whether the service deploys with ECS's rolling update, the only strategy whose
// maximumPercent the fault narrows; blue/green, linear and canary keep theirs so ECS's own rollback shows.
func isRolling(dc *types.DeploymentConfiguration) bool {
	return dc == nil || dc.Strategy == "" || dc.Strategy == types.DeploymentStrategyRolling
}

// chaosDeploymentConfiguration is the configuration the chaos deployment runs with: the original, whole, with
// maximumPercent narrowed to min(the service's own, 100+affectedPercent) for rolling replica services.
// TASK_REPLICA_AFFECTED_PERC narrows, never widens.
func chaosDeploymentConfiguration(svc *types.Service, affectedPercent int) *types.DeploymentConfiguration {
	dc := cloneDeploymentConfiguration(svc.DeploymentConfiguration)
	if dc == nil {
		dc = &types.DeploymentConfiguration{}
	}
	if svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		return daemonChaosConfiguration(dc, affectedPercent)
	}
	if !isRolling(dc) {
		return dc
	}
	maxPct := int32(defaultMaximumPercent)
	if dc.MaximumPercent != nil {
		maxPct = *dc.MaximumPercent
	}
	if limit := int32(100 + affectedPercent); limit < maxPct {
		maxPct = limit
	}
	dc.MaximumPercent = aws.Int32(maxPct)
	if dc.MinimumHealthyPercent == nil {
		dc.MinimumHealthyPercent = aws.Int32(defaultMinimumHealthyPercent)
	}
	return dc
}

// chaosTasksAllowed is how many chaos tasks ECS may run at once for a rolling deployment of desired tasks: the
// room above the healthy floor up to the ceiling (maximumPercent rounded down, minimumHealthyPercent rounded up).
func chaosTasksAllowed(desired int32, dc *types.DeploymentConfiguration, daemon bool) int {
	if desired <= 0 {
		return 0
	}
	if daemon {
		// A daemon replaces its tasks in place, stop before start: as many instances as minimumHealthyPercent lets
		// go (rounded up, the API default for DAEMON being 0) lose their task to a chaos one.
		return int(desired) - daemonKept(desired, dc)
	}
	maxPct, minPct := int32(defaultMaximumPercent), int32(defaultMinimumHealthyPercent)
	if dc != nil && dc.MaximumPercent != nil {
		maxPct = *dc.MaximumPercent
	}
	if dc != nil && dc.MinimumHealthyPercent != nil {
		minPct = *dc.MinimumHealthyPercent
	}
	ceiling := int(maxPct) * int(desired) / 100
	floor := (int(minPct)*int(desired) + 99) / 100
	allowed := ceiling - floor
	if allowed > int(desired) {
		allowed = int(desired)
	}
	if allowed < 0 {
		allowed = 0
	}
	return allowed
}

// sameDeploymentConfiguration compares two configurations as ECS means them: an absent block equals one whose
// fields are all zero (ECS echoes disabled blocks that were never set).
func sameDeploymentConfiguration(a, b *types.DeploymentConfiguration) bool {
	return reflect.DeepEqual(normalized(a), normalized(b))
}

func normalized(dc *types.DeploymentConfiguration) any {
	if dc == nil {
		return map[string]any{}
	}
	if dc.Strategy == types.DeploymentStrategyRolling {
		// A configuration that names no strategy is a rolling one (isRolling): ECS reports ROLLING for it, and
		// markers written before the strategies existed hold none.
		unnamed := *dc
		unnamed.Strategy = ""
		dc = &unnamed
	}
	return prune(jsonValue(dc))
}

// prune drops zero values (null, false, "", 0-length) recursively, so that presence differences vanish.
func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range t {
			if p := prune(val); p != nil {
				out[k] = p
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(t) == 0 {
			return nil
		}
		out := make([]any, 0, len(t))
		for _, e := range t {
			out = append(out, prune(e))
		}
		return out
	case bool:
		if !t {
			return nil
		}
	case string:
		if t == "" {
			return nil
		}
	case nil:
		return nil
	}
	return v
}

// differsOnlyInMaximumPercent reports whether current is original with a lower maximumPercent: the shape of
// what the fault sets, used by recover when the marker cannot say what exactly the chaos value was.
func differsOnlyInMaximumPercent(original, current *types.DeploymentConfiguration) bool {
	if original == nil || current == nil || current.MaximumPercent == nil {
		return false
	}
	probe := cloneDeploymentConfiguration(original)
	probe.MaximumPercent = current.MaximumPercent
	if !sameDeploymentConfiguration(probe, current) || sameDeploymentConfiguration(original, current) {
		return false
	}
	origMax := int32(defaultMaximumPercent)
	if original.MaximumPercent != nil {
		origMax = *original.MaximumPercent
	}
	return *current.MaximumPercent < origMax
}

// cliJSON renders a deployment configuration as the aws CLI's --deployment-configuration JSON, which is ECS's wire
// form: the API's lowerCamelCase member names, absent members left out, an explicit false kept.
func cliJSON(dc *types.DeploymentConfiguration) string {
	return encodeDeploymentConfiguration(dc)
}

// daemonChaosConfiguration raises minimumHealthyPercent to at least 100-affectedPercent for a DAEMON service, so
// that TASK_REPLICA_AFFECTED_PERC bounds the share of instances whose daemon task is stopped for a chaos one (a
// daemon deployment stops tasks before starting new ones, within minimumHealthyPercent; SDK doc of
// types.DeploymentConfiguration.MinimumHealthyPercent: "The default minimumHealthyPercent value for a service using
// the DAEMON service schedule is 0%" for the API). Narrowing, never widening: a higher value of the service's own
// stays. maximumPercent is left as it is.
func daemonChaosConfiguration(dc *types.DeploymentConfiguration, affectedPercent int) *types.DeploymentConfiguration {
	minPct := aws.ToInt32(dc.MinimumHealthyPercent) // absent means the API's DAEMON default, 0
	if floor := int32(100 - affectedPercent); floor > minPct {
		minPct = floor
	}
	dc.MinimumHealthyPercent = aws.Int32(minPct)
	return dc
}

// daemonKept is how many daemon tasks keep running during a deployment under dc: minimumHealthyPercent of the
// instance count, rounded up.
func daemonKept(desired int32, dc *types.DeploymentConfiguration) int {
	minPct := 0
	if dc != nil {
		minPct = int(aws.ToInt32(dc.MinimumHealthyPercent))
	}
	return (minPct*int(desired) + 99) / 100
}
