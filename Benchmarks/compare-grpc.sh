#!/usr/bin/env bash
# Customer.GetView and System.Echo (also issued from the event loop: echo-loop) in one run: our protocol through the gateway (two hops, mutual
# TLS on both) and direct, beside the same view served over grpc-swift-2 (one hop, mutual TLS) from
# a copy of the same database by the same CustomerService code, and the same echo, driven by the
# same load shape. Prints the tables and the ratios against gRPC; the JSON of both runs stays
# in var/bench/compare/. (Through the gateway, System.Echo is answered by the gateway itself.)
#
#   Benchmarks/compare-grpc.sh                 # 100,000 customers, 1, 16 and 256 in flight, 10 s a row
#   LEVELS=1,256 DURATION=5 Benchmarks/compare-grpc.sh
#
# The caller reads unmasked (role servicing) on both sides, so every view also commits its read
# audit row in a write transaction with synchronous=FULL, as crm-customer does for such a caller.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
levels=${LEVELS:-1,16,256}
duration=${DURATION:-10}
count=${COUNT:-100000}
out=var/bench/compare
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.jsonl

# SwiftPM keeps the build plan of a path dependency: a source file added to the main package since
# the last build would be missing from it, so the plan is made anew each time.
rm -f Benchmarks/grpc-baseline/.build/release.yaml
(cd Benchmarks/grpc-baseline && swift build -c release >/dev/null)
baseline=Benchmarks/grpc-baseline/.build/release/grpc-baseline

echo "== ours: crm-bench run (floor, echo and view; through the gateway and direct)" >&2
scripts/bench-system.sh --count "$count" -- --workload floor,echo,echo-loop,view --via gateway,direct \
  --in-flight "$levels" --duration "$duration" --json "$out/crm.json" | tee "$out/crm.md"

echo "== grpc-swift-2: the same view, one hop" >&2
rm -f "$out"/grpc.sqlite*
.build-release/release/crm-admin backup --database var/bench/system/customer.sqlite --to "$out/grpc.sqlite" >/dev/null
"$baseline" serve --database "$out/grpc.sqlite" --pki var/pki --port 7601 --role servicing 2>"$out/grpc-serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q listening "$out/grpc-serve.log" 2>/dev/null && break
  sleep 0.1
done
for method in echo view; do
  "$baseline" load --port 7601 --pki var/pki --count "$count" --duration "$duration" --in-flight "$levels" --method "$method" \
    --json "$out/grpc.jsonl" | tee -a "$out/grpc.md"
done

python3 - "$out/crm.json" "$out/grpc.jsonl" <<'EOF'
import json, sys
crm = json.load(open(sys.argv[1]))["rows"]
grpc = {(row["method"], row["in_flight"]): row for row in map(json.loads, open(sys.argv[2]))}
def ours(workload, path, level):
    return next(r for r in crm if r["workload"] == workload and r["path"] == path and r.get("in_flight") == level)
for workload in ["echo", "view"]:
    print()
    print(f"{workload}: ours through the gateway (two hops) and direct beside grpc-swift-2 (one hop)")
    print("| in flight | gRPC ops/s | gateway ops/s | gateway / gRPC | direct ops/s | gateway / direct | gRPC p50 us | gateway p50 us | gateway p50 / gRPC p50 | gateway p99 us |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (method, level), base in sorted(grpc.items()):
        if method != workload:
            continue
        gateway, direct = ours(workload, "gateway", level), ours(workload, "direct", level)
        print(f"| {level} | {base['throughput']:.0f} | {gateway['throughput']:.0f} | {gateway['throughput'] / base['throughput']:.2f} | "
              f"{direct['throughput']:.0f} | {gateway['throughput'] / direct['throughput']:.2f} | {base['p50_us']} | {gateway['p50_us']} | "
              f"{gateway['p50_us'] / base['p50_us']:.2f} | {gateway['p99_us']} |")
EOF
