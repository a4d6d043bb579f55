#!/bin/sh
# Installs Debian's Prometheus server, which the promProbe integration tests start on loopback.
# The tests start their own process with a temporary config and storage; the Debian service is not used.
set -eu
if [ -x /usr/bin/prometheus ]; then
	exit 0
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
