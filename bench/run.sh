#!/usr/bin/env bash
# Benchmark: what one STARTTLS probe costs, side by side in one run — the bare
# dialogue, the HTTP floor (bench/floor), that floor built with the exporter's
# libraries (bench/floorlibs), smtp_exporter and blackbox_exporter
# (Debian package prometheus-blackbox-exporter, installed when missing and apt
# is there) — on loopback only; then the Go micro-benchmarks.
# Usage: bench/run.sh [-n PROBES] [-rounds R] [-c 1,16] [-full] [-json] [-perf DIR]
#   (bench/main.go lists every flag; make bench-full = -full, make bench-profile = -perf)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! [ -x /usr/bin/prometheus-blackbox-exporter ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  # Keep the package from starting a system blackbox_exporter.
  created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-blackbox-exporter >/dev/null || true
  [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
case " $* " in
  *" -perf "*|*" --perf "*)
    if ! command -v perf >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null || true
    fi ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/smtp_exporter" .
go build -o "$tmp/bench" ./bench
go build -o "$tmp/floor" ./bench/floor
go build -o "$tmp/floorlibs" ./bench/floorlibs
"$tmp/bench" -exporter "$tmp/smtp_exporter" -floor "$tmp/floor" -floorlibs "$tmp/floorlibs" "$@"
case " $* " in *" -json "*|*" --json "*|*" -perf "*|*" --perf "*) exit 0 ;; esac
echo
echo "Go micro-benchmarks (hot paths):"
go test -run '^$' -bench . -benchmem ./prober/ ./collector/ 2>/dev/null | grep -E '^(Benchmark|ok)' || true
