#!/bin/sh
# Makes the webhook's serving certificate: a private CA and a server certificate for the
# Service's DNS names, signed by it. The API server trusts the CA through the caBundle of the
# ValidatingWebhookConfiguration.
#
#   deploy/make-cert.sh OUT_DIR [SERVICE] [NAMESPACE]
#
# Writes OUT_DIR/ca.crt, ca.key, tls.crt, tls.key (keys mode 0600) and prints the caBundle.
set -eu
out=${1:?usage: make-cert.sh OUT_DIR [SERVICE] [NAMESPACE]}
svc=${2:-cleanimg}
ns=${3:-cleanimg}
mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
  -subj "/CN=cleanimg webhook CA" -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=$svc.$ns.svc" -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n' \
  "$svc" "$svc" "$ns" "$svc" "$ns" "$svc" "$ns" >"$out/tls.ext"
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 365 -extfile "$out/tls.ext" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/tls.ext" "$out/ca.srl"
chmod 0644 "$out/ca.crt" "$out/tls.crt"
base64 -w0 <"$out/ca.crt"
echo
