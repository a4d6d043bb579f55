package ecsimage

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Defaults ECS applies when a service has no explicit percentages.
const (
	defaultMaximumPercent        = 200
	defaultMinimumHealthyPercent = 100
)

// cloneDeploymentConfiguration deep-copies a deployment configuration. A JSON round trip copies every exported
// field, including ones a newer SDK adds, which is what "always the whole configuration" needs.
func cloneDeploymentConfiguration(dc *types.DeploymentConfiguration) *types.DeploymentConfiguration {
	if dc == nil {
		return nil
	}
	var out types.DeploymentConfiguration
	mustRoundTrip(dc, &out)
	return &out
}

// mustRoundTrip copies from into to through JSON. A deployment configuration is plain data (strings, numbers,
// booleans, lists), so the round trip cannot fail; a failure would be a programming error.
func mustRoundTrip(from, to any) {
	data, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(data, to)
	}
	if err != nil {
		panic("deployment configuration does not round-trip through JSON: " + err.Error())
	}
}

// jsonValue is a deployment configuration as generic JSON values (maps keyed by the SDK's field names).
func jsonValue(dc *types.DeploymentConfiguration) any {
	var v any
	mustRoundTrip(dc, &v)
	return v
}

// encodeDeploymentConfiguration is the marker's lossless text form of a deployment configuration.
func encodeDeploymentConfiguration(dc *types.DeploymentConfiguration) string {
	if dc == nil {
		return "{}"
	}
	data, err := json.Marshal(dc)
	if err != nil {
		panic("deployment configuration does not marshal: " + err.Error())
	}
	return string(data)
}

// decodeDeploymentConfiguration reads what encodeDeploymentConfiguration wrote.
func decodeDeploymentConfiguration(s string) (*types.DeploymentConfiguration, error) {
	var dc types.DeploymentConfiguration
	if err := json.Unmarshal([]byte(s), &dc); err != nil {
		return nil, err
	}
	return &dc, nil
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
	if svc.SchedulingStrategy == types.SchedulingStrategyDaemon || !isRolling(dc) {
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
		return int(desired) // a daemon replaces its tasks in place, one per instance
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

// cliJSON renders a deployment configuration as the aws CLI's --deployment-configuration JSON: the API's
// lowerCamelCase member names, nulls left out, false kept (an explicit false is part of the configuration).
func cliJSON(dc *types.DeploymentConfiguration) string {
	out, err := json.Marshal(lowerCamel(jsonValue(dc)))
	if err != nil {
		panic("deployment configuration does not marshal: " + err.Error())
	}
	return string(out)
}

func lowerCamel(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range t {
			if val == nil {
				continue
			}
			out[strings.ToLower(k[:1])+k[1:]] = lowerCamel(val)
		}
		return out
	case []any:
		for i := range t {
			t[i] = lowerCamel(t[i])
		}
	}
	return v
}
