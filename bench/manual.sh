#!/usr/bin/env bash
# The manual way, for comparison with the fault: the aws CLI commands of the spec's "Fault execution in brief",
# typed by a user for each service in SERVICES (comma list): read the service and its task definition, register a
# revision with every container's image swapped to IMAGE, point the service at it, sleep DURATION seconds, point
# it back at the original revision and deregister the chaos revision. No observation, no restore wait, no
# safety checks: what a runbook would do. ecsbench runs it against the simulator with fake credentials.
#
# Environment: AWS_CLI ENDPOINT CLUSTER SERVICES REGION DURATION IMAGE WORKDIR (all required).
set -euo pipefail
: "${AWS_CLI:?}" "${ENDPOINT:?}" "${CLUSTER:?}" "${SERVICES:?}" "${REGION:?}" "${DURATION:?}" "${IMAGE:?}" "${WORKDIR:?}"

ecs() { "$AWS_CLI" ecs --endpoint-url "$ENDPOINT" --region "$REGION" --output json "$@"; }

IFS=, read -r -a services <<<"$SERVICES"
declare -A original chaos
for svc in "${services[@]}"; do
	original[$svc]=$(ecs describe-services --cluster "$CLUSTER" --services "$svc" --query 'services[0].taskDefinition' --output text)
	ecs describe-task-definition --task-definition "${original[$svc]}" --query taskDefinition |
		jq --arg image "$IMAGE" 'del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
			.registeredAt, .registeredBy, .deregisteredAt) | .containerDefinitions |= map(.image = $image)' \
			>"$WORKDIR/manual-$svc.json"
	chaos[$svc]=$(ecs register-task-definition --cli-input-json "file://$WORKDIR/manual-$svc.json" \
		--query taskDefinition.taskDefinitionArn --output text)
	ecs update-service --cluster "$CLUSTER" --service "$svc" --task-definition "${chaos[$svc]}" >/dev/null
	echo "injected $svc: ${chaos[$svc]}"
done

sleep "$DURATION"

for svc in "${services[@]}"; do
	ecs update-service --cluster "$CLUSTER" --service "$svc" --task-definition "${original[$svc]}" >/dev/null
	ecs deregister-task-definition --task-definition "${chaos[$svc]}" >/dev/null
	echo "restored $svc: ${original[$svc]}"
done
