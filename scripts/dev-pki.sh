#!/usr/bin/env bash
# Creates a development PKI with openssl (EC P-256, 30 days), for local runs, tests and benchmarks.
#
#   scripts/dev-pki.sh [DIR]     (default: var/pki)
#
# DIR/ca.pem, ca.key            the CA that signs everything below (the only trust root)
# DIR/server.pem, server.key    server certificate for 127.0.0.1 and localhost (serverAuth)
# DIR/client.pem, client.key    a client certificate, CN=client (clientAuth)
# DIR/other-ca.pem, stranger.*  a second CA and a client it signed, which the first CA does not trust
#
# Existing files are kept; delete DIR to start over. Not for production: keys are unencrypted.
set -euo pipefail
dir=${1:-var/pki}
mkdir -p "$dir"
cd "$dir"
umask 077

ca() {
  [ -f "$1.pem" ] && return
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "/CN=$1" -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() {
  [ -f "$1.pem" ] && return
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  printf '%b' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 30 -sha256 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca
ca other-ca
leaf server ca "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature"
leaf client ca "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
leaf stranger other-ca "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
echo "development PKI in $dir"
