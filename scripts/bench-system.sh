#!/usr/bin/env bash
# Starts the whole system from release builds on the benchmark data and runs `crm-bench run` against it.
#
#   scripts/bench-system.sh [--count N] [--keep] -- [crm-bench run options]
#
# --count N   customers in the customer database (default 100000). var/bench/customer-<N>.sqlite is
#             made with `crm-bench load-customers` if it does not exist (100,000 take about a minute and a half).
# --keep      reuse var/bench/system/ from the previous run instead of fresh copies (the mirrors of
#             ServiceDesk and Marketing are then already caught up).
#
# The four servers run with the development configurations (deploy/dev/*.json, dev PKI in var/pki,
# synchronous=FULL) on copies under var/bench/system/, logging at warning level to var/bench/system/*.log.
# They are stopped when the run ends. Everything after -- goes to `crm-bench run`, for example:
#
#   scripts/bench-system.sh -- --workload floor,echo,view --via gateway,direct --in-flight 1,16,256
#   scripts/bench-system.sh -- --workload mix --via gateway --rate 500,1000,2000 --json var/bench/mix.json
#
# BENCH_BIN=FOLDER runs the executables in FOLDER as they are, without building: for A/B runs of
# two builds (copy one build's crm-* and crmctl aside, rebuild, alternate).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

count=100000
keep=no
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --keep) keep=yes; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench-system: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done

bin=${BENCH_BIN:-.build-release/release}
if [ -z "${BENCH_BIN:-}" ]; then
  for product in crm-customer crm-servicedesk crm-marketing crm-gateway crm-bench crmctl crm-admin; do
    swift build -c release --scratch-path .build-release --product "$product" >/dev/null
  done
fi
scripts/dev-pki.sh var/pki >/dev/null

source_db=var/bench/customer-$count.sqlite
if [ ! -f "$source_db" ]; then
  mkdir -p var/bench
  "$bin/crm-bench" load-customers --count "$count" --database "$source_db"
fi

data=var/bench/system
if [ "$keep" = no ] || [ ! -f "$data/customer.sqlite" ]; then
  rm -rf "$data"
  mkdir -p "$data"
  # The source may be open elsewhere in WAL mode: copy it through SQLite's backup, consistent.
  "$bin/crm-admin" backup --database "$source_db" --to "$data/customer.sqlite" >/dev/null
fi

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

export CRM_LOG_LEVEL=warning CRM_LIMITS_MAX_CONCURRENT_CALLS=4096
for service in customer servicedesk marketing; do
  CRM_DATABASE_PATH="$data/$service.sqlite" "$bin/crm-$service" --config "deploy/dev/$service.json" >"$data/$service.log" 2>&1 &
  pids+=($!)
done
"$bin/crm-gateway" --config deploy/dev/gateway.json >"$data/gateway.log" 2>&1 &
pids+=($!)

export CRM_ADDRESS=127.0.0.1:7443 CRM_TLS_CERT=var/pki/client.pem CRM_TLS_KEY=var/pki/client.key CRM_TLS_CA=var/pki/ca.pem
for _ in $(seq 1 100); do
  if "$bin/crmctl" health >/dev/null 2>&1; then break; fi
  sleep 0.2
done
"$bin/crmctl" health >&2

# How many customer events the slower of ServiceDesk and Marketing has still to apply (as far as
# its last acknowledgement, sent once a second, says); "none" if the log is empty, "?" if unknown.
feed_behind() {
  local status
  status=$("$bin/crmctl" feeds status --address 127.0.0.1:7101 --tls-cert var/pki/gateway-internal.pem \
    --tls-key var/pki/gateway-internal.key --tls-ca var/pki/internal-ca.pem 2>/dev/null || true)
  python3 -c '
import json, sys
try:
    status = json.loads(sys.argv[1])
except ValueError:
    print("?"); sys.exit(0)
last = int(status.get("lastSequence", "0"))
consumers = [int(c.get("acknowledgedSequence", "0")) for c in status.get("consumers", [])]
if last == 0:
    print("none")
elif len(consumers) < 2:
    print("?")
else:
    print(max(last - ack for ack in consumers))
' "$status"
}

# ServiceDesk and Marketing learn of the customers from the customer feed: wait until both have
# applied all of it, so that cases and segments find every customer.
echo "bench-system: waiting for the customer feed's consumers to catch up" >&2
for _ in $(seq 1 900); do
  behind=$(feed_behind)
  if [ "$behind" = none ]; then
    echo "bench-system: the customer database has no change events (made before load-customers published them): the mirrors stay empty" >&2
    break
  fi
  if [ "$behind" = 0 ]; then break; fi
  sleep 1
done

"$bin/crm-bench" run --count "$count" --pki var/pki "$@"

# What the run left the mirrors to do: events behind at its end, and how long they took to catch up.
behind=$(feed_behind)
at_end=$behind
started=$(date +%s.%N)
while [ "$behind" != 0 ] && [ "$behind" != none ] && [ "$behind" != "?" ]; do
  sleep 0.5
  behind_now=$(feed_behind)
  if [ "$behind_now" = 0 ]; then
    echo "bench-system: the mirrors were $at_end customer events behind at the end of the run and caught up $(python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$started") s later" >&2
  fi
  behind=$behind_now
  if python3 -c "import sys, time; sys.exit(0 if time.time() - float(sys.argv[1]) > 600 else 1)" "$started"; then
    echo "bench-system: the mirrors are still $behind events behind 600 s after the run" >&2
    break
  fi
done
