#!/usr/bin/env bash
# Opt-in smoke test against a REAL AWS account (`make smoke-aws`); CI never runs it. It runs the fault on a
# disposable ECS service that you name, and checks the spec's "Verify the fault execution effect" steps with the aws
# CLI while the fault holds and after it restores:
#   1. during the fault the service has two deployments, the chaos one PRIMARY with failed tasks;
#   2. stopped tasks of the chaos revision say CannotPullContainerError;
#   3. afterwards the service runs its pre-fault task definition again and the chaos revision is INACTIVE.
#
# Required: CLUSTER_NAME, SERVICE_NAME, REGION of a service you can afford to break, credentials for the aws CLI
# and the fault (the usual AWS_* variables or AWS_PROFILE), with the IAM policy of the README.
# Optional: TOTAL_CHAOS_DURATION (default 120: real image pulls are retried for tens of seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CLUSTER_NAME:?name the cluster of a disposable service}" "${SERVICE_NAME:?name a disposable service}" "${REGION:?set REGION}"
export TOTAL_CHAOS_DURATION=${TOTAL_CHAOS_DURATION:-120} CHAOS_INTERVAL=${CHAOS_INTERVAL:-${TOTAL_CHAOS_DURATION:-120}}
export RESULT_FILE=${RESULT_FILE:-$(mktemp -d)/chaosresult.yaml}
unset KUBECONFIG
aws_ecs() { aws ecs "$@" --region "$REGION" --output text; }

before=$(aws_ecs describe-services --cluster "$CLUSTER_NAME" --services "$SERVICE_NAME" --query 'services[0].taskDefinition')
echo "smoke: $SERVICE_NAME runs $before; starting the fault for ${TOTAL_CHAOS_DURATION}s"
CGO_ENABLED=0 go build -trimpath -o bin/experiment ./experiment
bin/experiment run &
fault=$!
trap 'kill -TERM $fault 2>/dev/null || true; wait $fault || true' INT TERM

fail=0
check() { if eval "$2"; then echo "smoke: ok: $1"; else echo "smoke: FAILED: $1"; fail=1; fi; }

# Look at the effect two thirds into the hold, when ECS has had time to retry the pull.
sleep $((TOTAL_CHAOS_DURATION * 2 / 3))
deployments=$(aws_ecs describe-services --cluster "$CLUSTER_NAME" --services "$SERVICE_NAME" \
	--query 'services[0].deployments[].[status,taskDefinition,failedTasks]')
echo "$deployments"
check "two deployments during the fault" '[ "$(echo "$deployments" | wc -l)" -ge 2 ]'
check "the PRIMARY deployment has failed tasks" 'echo "$deployments" | awk '\''$1=="PRIMARY" && $3>0'\'' | grep -q .'
chaos=$(echo "$deployments" | awk '$1=="PRIMARY"{print $2}')
stopped=$(aws_ecs list-tasks --cluster "$CLUSTER_NAME" --service-name "$SERVICE_NAME" --desired-status STOPPED --query 'taskArns[0:20]')
reasons=""
if [ -n "$stopped" ] && [ "$stopped" != "None" ]; then
	# shellcheck disable=SC2086
	reasons=$(aws_ecs describe-tasks --cluster "$CLUSTER_NAME" --tasks $stopped \
		--query "tasks[?taskDefinitionArn=='$chaos'].[stoppedReason,containers[0].reason]")
fi
check "stopped chaos tasks say CannotPullContainerError" 'echo "$reasons" | grep -q CannotPullContainerError'

wait $fault && code=0 || code=$?
trap - INT TERM
after=$(aws_ecs describe-services --cluster "$CLUSTER_NAME" --services "$SERVICE_NAME" --query 'services[0].taskDefinition')
check "the fault exited 0 (Pass), got $code" '[ "$code" -eq 0 ]'
check "the service runs its pre-fault revision again ($after)" '[ "$after" = "$before" ]'
if [ -n "$chaos" ]; then
	status=$(aws_ecs describe-task-definition --task-definition "$chaos" --query 'taskDefinition.status')
	check "the chaos revision $chaos is INACTIVE ($status)" '[ "$status" = "INACTIVE" ]'
fi
echo "smoke: ChaosResult in $RESULT_FILE"
exit $fail
