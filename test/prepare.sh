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

# The steps' names are not the commands they look for: `command -v prometheus` would find a shell function named
# prometheus and never install the binary. `type -P` looks at PATH only.
ensure_prometheus() {
	if ! type -P prometheus >/dev/null && [ ! -x /usr/bin/prometheus ]; then
		bash test/prometheus/install.sh
	fi
}

ensure_chromium() {
	if [ ! -x /usr/bin/chromium ]; then
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
	fi
}

ensure_moto() {
	if ! type -P moto_server >/dev/null; then
		echo "prepare: moto_server is missing; trying pip" >&2
		python3 -m pip install --quiet 'moto[server]' || {
			echo "prepare: moto_server is not installed and cannot be installed here" >&2
			exit 1
		}
	fi
}

ensure_kube() {
	bash test/kube/build.sh >/dev/null
}

step "Prometheus (Debian package)" ensure_prometheus
step "Chromium (Debian package, for test/report)" ensure_chromium
step "moto_server" ensure_moto
step "kube-apiserver, etcd and kubectl (built from source, cached)" ensure_kube
