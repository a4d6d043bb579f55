#!/usr/bin/env bash
# A short run of the benchmark harness for CI, so it cannot rot: the built binary against the ECS simulator with
# 1 and 10 services, no injected round trip, one run per scenario, 2-second holds, the slow-apiserver comparison
# (slowapi: a real kube-apiserver, which `make test` has built), and the aws CLI comparison with
# one service. About a minute. It fails when a run does not do what its scenario needs; it asserts no timing.
set -euo pipefail
cd "$(dirname "$0")/.."
workdir=$(mktemp -d)
trap 'status=$?; if [ $status -ne 0 ]; then tail -n 30 "$workdir"/*.stderr "$workdir"/*.log 2>/dev/null || true; fi; rm -rf "$workdir"' EXIT
go build -o "$workdir/ecsbench" ./bench/cmd/ecsbench
# Without -binary, ecsbench builds the experiment into the work directory as the image does (test/binary.Image),
# so this run checks that build too.
"$workdir/ecsbench" -workdir "$workdir" -keep \
	-rtt 0 -repeat 1 -duration 2 -services 1,10 -quiet-services 10 -manual-services 1 >"$workdir/report.md"
cat "$workdir/report.md"
