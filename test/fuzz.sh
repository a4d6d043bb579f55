#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a short while each. The budget is a number of executions (default
# 20000x, a few seconds per target on an idle machine) rather than a duration: a duration turns a worker starved of CPU
# at the deadline into a spurious "context deadline exceeded" failure. The targets are found by name, so a new
# `func FuzzX(f *testing.F)` is fuzzed without editing this file. Found inputs land in testdata/fuzz and then run as
# plain tests with `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-20000x}
total=0
while IFS=: read -r file target; do
	pkg=./$(dirname "$file")
	start=$SECONDS
	# One worker: the machine has two cores and the fuzzer's coordinator needs one.
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 1 -timeout 15m "$pkg" >/tmp/fuzz-$target.log 2>&1 || {
		cat /tmp/fuzz-$target.log
		echo "fuzz: $target in $pkg FAILED"
		exit 1
	}
	echo "fuzz: $target ($pkg) ok in $((SECONDS - start))s: $(grep -o 'execs: [0-9]*' /tmp/fuzz-$target.log | tail -1)"
	total=$((total + 1))
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' pkg chaoslib experiment 2>/dev/null | sed 's/func //')
echo "fuzz: $total targets fuzzed for $fuzztime each"
