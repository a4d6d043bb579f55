#!/usr/bin/env bash
# The full benchmark (`make bench`): builds the experiment as the image does, then measures it against the ECS
# simulator with an injected round trip, 1, 10, 100 and 500 services under ECS's rate limits, and the aws CLI
# comparison, and the fault's timing with the Kubernetes writer behind a slow kube-apiserver (slowapi: needs the
# kube binaries that `make prepare` builds); prints progress on stderr and the markdown report on stdout and into $OUT. The 500-service run is
# bounded by ECS's task definition modify bucket, which its 500 registrations and 500 deregistrations share (20,
# then 1/s: over 16 minutes), so the whole run takes 40 minutes or more (estimated from the bound).
#
# Environment: RTT (default 20ms), SERVICES (default 1,10,100,500), OUT (default bin/bench.md); further
# arguments go to ecsbench (go run ./bench/cmd/ecsbench -h lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/experiment-bench ./experiment
go build -o bin/ecsbench ./bench/cmd/ecsbench
bin/ecsbench -binary "$PWD/bin/experiment-bench" -rtt "${RTT:-20ms}" -services "${SERVICES:-1,10,100,500}" \
	-out "${OUT:-bin/bench.md}" "$@"
