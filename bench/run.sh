#!/usr/bin/env bash
# Benchmark: CPU per STARTTLS probe for the floor (net/smtp), smtp_exporter and
# blackbox_exporter (Debian package prometheus-blackbox-exporter, installed when
# missing and apt is there), alternating, on loopback only.
# Usage: bench/run.sh [-n PROBES] [-rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -x /usr/bin/prometheus-blackbox-exporter ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  # Keep the package from starting a system blackbox_exporter.
  created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-blackbox-exporter >/dev/null || true
  [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/smtp_exporter" .
go build -o "$tmp/bench" ./bench
"$tmp/bench" -exporter "$tmp/smtp_exporter" "$@"
echo
echo "Go micro-benchmarks (hot paths):"
go test -run '^$' -bench . -benchmem ./prober/ ./collector/ 2>/dev/null | grep -E '^(Benchmark|ok)' || true
