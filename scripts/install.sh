#!/usr/bin/env bash
# Installs the CRM servers on a host: binaries, systemd units, example configurations, the TLS
# folder and its group, and the documentation (docs/OPERATIONS.md, "Install").
#
#   swift build -c release                 # as yourself, first
#   sudo scripts/install.sh                # then as root
#
# Options:
#   --from DIR    the built binaries (default .build/release)
#   --root DIR    install under DIR instead of / (packaging; no users, groups or systemctl)
#
# Existing configuration files and TLS files are never overwritten; binaries, units and docs are.
# Afterwards: put the certificates and keys in /etc/crm/tls, edit /etc/crm/*.json, then
#   systemctl enable --now crm-customer crm-servicedesk crm-marketing crm-gateway
set -euo pipefail
source_root=$(cd "$(dirname "$0")/.." && pwd)
from="$source_root/.build/release"
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=$(cd "$2" && pwd); shift 2 ;;
    --root) root=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (try --help)" >&2; exit 64 ;;
  esac
done
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (or give --root DIR)" >&2
  exit 77
fi

servers="crm-customer crm-marketing crm-servicedesk crm-gateway"
for binary in $servers crmctl crm-admin; do
  [ -x "$from/$binary" ] || { echo "install.sh: $from/$binary is missing: run swift build -c release first" >&2; exit 1; }
done

install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/local/share/doc/crm"
for binary in $servers crmctl crm-admin; do
  install -m 0755 "$from/$binary" "$root/usr/local/bin/$binary"
done
for unit in "$source_root"/deploy/systemd/*.service; do
  install -m 0644 "$unit" "$root/etc/systemd/system/"
done
for doc in README.md docs/OPERATIONS.md docs/PROTOCOL.md docs/ARCHITECTURE.md; do
  install -m 0644 "$source_root/$doc" "$root/usr/local/share/doc/crm/"
done

# Configuration: root's, readable by the services (no secrets in it; keys are separate files).
install -d -m 0755 "$root/etc/crm"
for name in customer marketing servicedesk gateway; do
  target="$root/etc/crm/$name.json"
  if [ -e "$target" ]; then
    echo "kept $target (the example is $source_root/deploy/config/$name.json)"
  else
    install -m 0644 "$source_root/deploy/config/$name.json" "$target"
  fi
done

# TLS: the services run as dynamic users and read the private keys through the crm-tls group.
install -d -m 0750 "$root/etc/crm/tls"
if [ -z "$root" ]; then
  getent group crm-tls >/dev/null || groupadd --system crm-tls
  chgrp crm-tls /etc/crm/tls
  for key in /etc/crm/tls/*.key; do
    [ -e "$key" ] || continue
    chgrp crm-tls "$key"
    chmod 0640 "$key"
  done
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi

echo "installed: $servers crmctl -> $root/usr/local/bin; units -> $root/etc/systemd/system; configuration -> $root/etc/crm"
echo "next: TLS files into /etc/crm/tls (keys root:crm-tls 0640; run this script again to fix their group), edit /etc/crm/*.json, then"
echo "  systemctl enable --now crm-customer crm-servicedesk crm-marketing crm-gateway"
