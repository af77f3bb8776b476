#!/usr/bin/env bash
# Creates a development PKI with openssl (EC P-256, 30 days), for local runs, tests and benchmarks.
#
#   scripts/dev-pki.sh [DIR]     (default: var/pki)
#
# DIR/ca.pem, ca.key            the CA that signs everything below (the only trust root)
# DIR/server.pem, server.key    server certificate for 127.0.0.1 and localhost (serverAuth)
# DIR/client.pem, client.key    a client certificate, CN=client (clientAuth)
# DIR/san-client.*              a client known by its alternative name DNS:reporting.bank.internal
# DIR/other-ca.pem, stranger.*  a second CA and a client it signed, which the first CA does not trust
# DIR/expired.*, not-yet-valid.*, server-only.*, revoked.*
#                               client certificates the gateway must refuse: out of date, serverAuth
#                               key usage only, and listed in DIR/ca.crl (the CA's signed CRL)
# DIR/internal-ca.pem           the internal CA between the gateway and the services
# DIR/service.*                 a service's certificate for 127.0.0.1 (serverAuth), from internal-ca
# DIR/gateway-internal.*        the gateway's client certificate towards the services, CN=crm-gateway
# DIR/feed-client.*             the services' client certificate for subscribing to each other's
#                               change feeds (clientAuth), from internal-ca
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

# A client certificate with chosen dates (openssl x509 cannot backdate), signed through
# `openssl ca`, whose database also records revocations for the CRL.
ca_db() {
  [ -f ca-db/ca.cnf ] && return
  mkdir -p ca-db
  : > ca-db/index.txt
  echo 1000 > ca-db/crlnumber
  cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = dev
[dev]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
crlnumber = ca-db/crlnumber
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 30
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
  openssl rand -hex 8 > ca-db/serial
}

dated() {
  [ -f "$1.pem" ] && return
  ca_db
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  printf '%b' "$4" > "$1.ext"
  openssl ca -batch -notext -config ca-db/ca.cnf -in "$1.csr" -out "$1.pem" -startdate "$2" -enddate "$3" \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca
ca other-ca
ca internal-ca
leaf server ca "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature"
leaf client ca "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
leaf san-client ca "subjectAltName=DNS:reporting.bank.internal\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
leaf stranger other-ca "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
leaf service internal-ca "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature"
leaf gateway-internal internal-ca "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
leaf feed-client internal-ca "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"

client_ext="extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature"
now=$(date -u +%Y%m%d%H%M%SZ)
later=$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)
dated expired 20200101000000Z 20210101000000Z "$client_ext"
dated not-yet-valid "$(date -u -d '+5 years' +%Y%m%d%H%M%SZ)" "$(date -u -d '+6 years' +%Y%m%d%H%M%SZ)" "$client_ext"
dated server-only "$now" "$later" "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature"
if [ ! -f revoked.pem ]; then
  dated revoked "$now" "$later" "$client_ext"
  openssl ca -config ca-db/ca.cnf -revoke revoked.pem 2>/dev/null
fi
[ -f ca.crl ] || openssl ca -config ca-db/ca.cnf -gencrl -out ca.crl 2>/dev/null
echo "development PKI in $dir"
