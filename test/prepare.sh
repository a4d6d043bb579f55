#!/usr/bin/env bash
# Installs and builds what the integration tests need, so that `make test` works on a fresh machine with nothing
# installed by hand. Each step is skipped when its result is already there; each prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
	local name=$1; shift
	local start=$SECONDS
	"$@"
	echo "prepare: $name ready in $((SECONDS - start))s"
}

prometheus() {
	if ! command -v prometheus >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus ]; then
		bash test/prometheus/install.sh
	fi
}

chromium() {
	if [ ! -x /usr/bin/chromium ]; then
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
	fi
}

moto() {
	if ! command -v moto_server >/dev/null 2>&1; then
		echo "prepare: moto_server is missing; trying pip" >&2
		python3 -m pip install --quiet 'moto[server]' || {
			echo "prepare: moto_server is not installed and cannot be installed here" >&2
			exit 1
		}
	fi
}

kube() {
	bash test/kube/build.sh >/dev/null
}

step "Prometheus (Debian package)" prometheus
step "Chromium (Debian package, for test/report)" chromium
step "moto_server" moto
step "kube-apiserver, etcd and kubectl (built from source, cached)" kube
