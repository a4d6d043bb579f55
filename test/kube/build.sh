#!/usr/bin/env bash
# build.sh builds kube-apiserver, etcd and kubectl from source (module
# test/kube/tools) once per machine into a cache folder outside the checkout,
# so a fresh clone on the same machine finds them. It prints the bin directory
# on stdout; progress and timing go to stderr.
#
#   test/kube/build.sh            # build if missing
#   ECSCHAOS_KUBE_REBUILD=1 ...   # build even if present
set -euo pipefail

tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/tools" && pwd)"
cd "$tools_dir"

# Versions come from the tools module so the cache folder changes when it does.
kube_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/ecschaos/kube-${kube_version}-etcd-${etcd_version}/bin"

binaries=(kube-apiserver etcd kubectl)
missing=0
for b in "${binaries[@]}"; do
	[[ -x "$bin_dir/$b" ]] || missing=1
done
if [[ $missing == 0 && -z "${ECSCHAOS_KUBE_REBUILD:-}" ]]; then
	echo "kube binaries already built in $bin_dir" >&2
	echo "$bin_dir"
	exit 0
fi

mkdir -p "$bin_dir"
# Build into a temporary folder and move each binary in only when complete, so
# an interrupted build never leaves a half-written binary that looks usable.
staging="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

major="${kube_version#v}"; major="${major%%.*}"
minor="${kube_version#v*.}"; minor="${minor%%.*}"
version_pkg=k8s.io/component-base/version
ldflags="-s -w -X ${version_pkg}.gitVersion=${kube_version} -X ${version_pkg}.gitMajor=${major} -X ${version_pkg}.gitMinor=${minor} -X ${version_pkg}.gitTreeState=clean"

start=$(date +%s)
echo "building kube-apiserver ${kube_version}, etcd ${etcd_version}, kubectl into $bin_dir (this takes 10+ minutes cold)" >&2
for b in "${binaries[@]}"; do
	b_start=$(date +%s)
	CGO_ENABLED=0 GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=2" \
		go build -trimpath -ldflags="$ldflags" -o "$staging/$b" "./cmd/$b"
	mv "$staging/$b" "$bin_dir/$b"
	echo "built $b in $(( $(date +%s) - b_start ))s" >&2
done
echo "built all in $(( $(date +%s) - start ))s" >&2
echo "$bin_dir"
