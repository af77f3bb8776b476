#!/usr/bin/env bash
# Scans the gateway's TLS with sslyze (from PyPI) while presenting a client certificate, and fails
# unless: no SSL 2/3, TLS 1.0 or 1.1 is accepted; every accepted suite has forward secrecy (ECDHE
# or TLS 1.3) and is AEAD (no CBC); no compression; no insecure renegotiation; and Mozilla's
# "intermediate" profile passes, with the private CA given to sslyze so that the chain is validated
# against it. A control scan that trusts another CA must then fail that profile on path validation,
# which shows the profile check is live.
#
#   scripts/tls-scan.sh          (builds crm-gateway if needed; sslyze goes to .build/sslyze-venv)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

venv=.build/sslyze-venv
if [ ! -x "$venv/bin/sslyze" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q sslyze
fi
[ -x .build/debug/crm-gateway ] || swift build --product crm-gateway

work=$(mktemp -d)
gateway_pid=
cleanup() {
  [ -n "$gateway_pid" ] && kill -TERM "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
scripts/dev-pki.sh "$work/pki" >/dev/null
cat > "$work/gateway.json" <<JSON
{
  "listen": {"host": "127.0.0.1", "port": 0},
  "tls": {"certificate": "$work/pki/server.pem", "key": "$work/pki/server.key", "ca": "$work/pki/ca.pem", "crl": "$work/pki/ca.crl"},
  "backends": [{"name": "customer", "services": [2], "instances": ["127.0.0.1:9"]}],
  "callers": [{"identity": "client", "name": "scanner", "role": "none", "allow": ["Customer.Get"]}]
}
JSON
.build/debug/crm-gateway --config "$work/gateway.json" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(grep listening "$work/gateway.log" | grep -o '127.0.0.1:[0-9]*' | tail -1 | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/gateway.log"; echo "crm-gateway did not start"; exit 1; }

"$venv/bin/sslyze" --quiet --cert "$work/pki/client.pem" --key "$work/pki/client.key" \
  --certinfo --certinfo_ca_file "$work/pki/ca.pem" --sslv2 --sslv3 --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 --compression --reneg \
  --elliptic_curves --mozilla_config=intermediate --json_out "$work/scan.json" "127.0.0.1:$port" \
  >"$work/scan.txt" 2>&1 && mozilla=0 || mozilla=$?
sed -n '/COMPLIANCE AGAINST/,$p' "$work/scan.txt"

python3 - "$work/scan.json" <<'PY'
import json, sys
scan = json.load(open(sys.argv[1]))["server_scan_results"][0]
assert scan["scan_status"] == "COMPLETED", scan.get("connectivity_error_trace")
result = scan["scan_result"]
problems = []
accepted = {}
for version in ["ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1", "tls_1_2", "tls_1_3"]:
    suites = [s["cipher_suite"]["name"] for s in result[f"{version}_cipher_suites"]["result"]["accepted_cipher_suites"]]
    accepted[version] = suites
    if version in ("ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1") and suites:
        problems.append(f"{version} accepted: {suites}")
for suite in accepted["tls_1_2"]:
    if "ECDHE" not in suite: problems.append(f"no forward secrecy: {suite}")
    if "GCM" not in suite and "CHACHA20" not in suite: problems.append(f"not AEAD: {suite}")
    if "CBC" in suite: problems.append(f"CBC: {suite}")
if not accepted["tls_1_2"] and not accepted["tls_1_3"]:
    problems.append("no TLS 1.2 or 1.3 suite accepted: the scan did not get through (client certificate?)")
if result["tls_compression"]["result"]["supports_compression"]:
    problems.append("TLS compression supported")
renegotiation = result["session_renegotiation"]["result"]
if renegotiation["is_vulnerable_to_client_renegotiation_dos"]:
    problems.append("client-initiated renegotiation accepted")
print("TLS 1.3:", ", ".join(accepted["tls_1_3"]))
print("TLS 1.2:", ", ".join(accepted["tls_1_2"]))
print("compression:", result["tls_compression"]["result"]["supports_compression"],
      "| client renegotiation DoS:", renegotiation["is_vulnerable_to_client_renegotiation_dos"],
      "| secure renegotiation:", renegotiation["supports_secure_renegotiation"])
if problems:
    print("TLS scan FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print("TLS scan passed: TLS 1.2+ only, ECDHE + AEAD suites only, no compression, no client renegotiation")
PY

[ "$mozilla" = 0 ] || { echo "TLS scan FAILED: not compliant with Mozilla's intermediate profile"; exit 1; }

# The control: the same gateway judged against a CA that did not sign its certificate.
if "$venv/bin/sslyze" --quiet --cert "$work/pki/client.pem" --key "$work/pki/client.key" \
  --certinfo_ca_file "$work/pki/other-ca.pem" --mozilla_config=intermediate "127.0.0.1:$port" >"$work/control.txt" 2>&1 \
  || ! grep -q "certificate_path_validation" "$work/control.txt"; then
  cat "$work/control.txt"
  echo "TLS scan FAILED: the control scan against another CA did not fail path validation"
  exit 1
fi
grep -A1 "certificate_path_validation" "$work/control.txt" | sed "s/^/control: /"
echo "Mozilla intermediate: compliant with the private CA; the control scan against another CA fails path validation"
