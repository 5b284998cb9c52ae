#!/bin/sh
# Makes the reference deployment's private CA and the certificates of slapd, the OpenID provider and
# the nginx gateway (certs/), once, before `docker compose up`. Fingerpost issues its own from its local CA (DATA/tls).
set -eu
cd "$(dirname "$0")"
DOMAIN="${REFERENCE_DOMAIN:-example.org}"
mkdir -p certs
[ -f certs/ca.pem ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
  -keyout certs/ca.key -out certs/ca.pem -subj "/CN=Reference deployment CA"
for name in ldap idp gateway; do
  host="$name.$DOMAIN"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "certs/$name.key" -out "certs/$name.csr" -subj "/CN=$host"
  printf 'subjectAltName=DNS:%s,DNS:%s\n' "$host" "$name" > "certs/$name.ext"
  openssl x509 -req -in "certs/$name.csr" -CA certs/ca.pem -CAkey certs/ca.key -CAcreateserial -days 825 \
    -extfile "certs/$name.ext" -out "certs/$name.pem"
  rm "certs/$name.csr" "certs/$name.ext"
done
# slapd runs as the openldap user, the provider as node and nginx as root: each reads its key.
chmod 644 certs/*.key
echo "certificates in $(pwd)/certs; clients trust certs/ca.pem"
