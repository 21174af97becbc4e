#!/usr/bin/env bash
# certs/mkcerts.sh [DIR] [CLIENT...] - the development PKI, made with the openssl CLI.
#
# Makes in DIR (default certs/dev, which git ignores):
#   ca.key ca.crt                 the development CA (ECDSA P-256)
#   server.key server.crt         the gateway: DNS:localhost, IP:127.0.0.1, IP:::1, serverAuth
#   <client>.key <client>.crt     one per container host (clientAuth); default host-1 host-2
#   wrong-ca.key wrong-ca.crt     an unrelated CA, for tests that must fail verification
#   wrong-host.key wrong-host.crt a clientAuth certificate from the wrong CA
#
# Idempotent: an existing file is kept. A certificate is made again only when it is
# missing, expires within a day, does not match its key, or no longer chains to its CA
# (because the CA was made again). Private keys are created under umask 077, so they
# are never readable by others, not even for a moment. Not for production: these
# keys are unencrypted and the CA signs whatever this script asks.
set -euo pipefail

OPENSSL=${OPENSSL:-/usr/bin/openssl}
DIR=${1:-certs/dev}
shift || true
CLIENTS=("$@")
[ "${#CLIENTS[@]}" -gt 0 ] || CLIENTS=(host-1 host-2)

CA_DAYS=3650
LEAF_DAYS=397

mkdir -p "$DIR"
# One run at a time per folder: tests may call this in parallel.
exec 9>"$DIR/.lock"
flock 9

say() { printf 'mkcerts: %s\n' "$*" >&2; }

# key_ok KEY: the key exists and is a private key openssl can read.
key_ok() { [ -s "$1" ] && "$OPENSSL" pkey -in "$1" -noout 2>/dev/null; }

newkey() {
	local key=$1
	rm -f "$key"
	(umask 077 && "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$key" 2>/dev/null)
}

# cert_ok CERT KEY [CA]: exists, valid for at least a day, matches KEY, chains to CA.
cert_ok() {
	local cert=$1 key=$2 ca=${3:-}
	[ -s "$cert" ] || return 1
	key_ok "$key" || return 1
	"$OPENSSL" x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1 || return 1
	local a b
	a=$("$OPENSSL" x509 -in "$cert" -noout -pubkey 2>/dev/null) || return 1
	b=$("$OPENSSL" pkey -in "$key" -pubout 2>/dev/null) || return 1
	[ "$a" = "$b" ] || return 1
	if [ -n "$ca" ]; then
		"$OPENSSL" verify -CAfile "$ca" "$cert" >/dev/null 2>&1 || return 1
	fi
	return 0
}

# make_ca NAME SUBJECT
make_ca() {
	local name=$1 subj=$2
	local key="$DIR/$name.key" cert="$DIR/$name.crt"
	if cert_ok "$cert" "$key"; then
		return 0
	fi
	key_ok "$key" || newkey "$key"
	(umask 022 && "$OPENSSL" req -new -x509 -key "$key" -out "$cert" -days "$CA_DAYS" \
		-subj "$subj" -sha256 \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" 2>/dev/null)
	say "made $cert"
}

# make_leaf NAME CA SUBJECT EKU SAN
make_leaf() {
	local name=$1 ca=$2 subj=$3 eku=$4 san=$5
	local key="$DIR/$name.key" cert="$DIR/$name.crt"
	if cert_ok "$cert" "$key" "$DIR/$ca.crt"; then
		return 0
	fi
	key_ok "$key" || newkey "$key"
	local ext
	ext=$(mktemp)
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature"
		echo "extendedKeyUsage=$eku"
		echo "subjectKeyIdentifier=hash"
		echo "authorityKeyIdentifier=keyid"
		[ -z "$san" ] || echo "subjectAltName=$san"
	} >"$ext"
	local csr
	csr=$("$OPENSSL" req -new -key "$key" -subj "$subj" 2>/dev/null)
	(umask 022 && printf '%s\n' "$csr" | "$OPENSSL" x509 -req -CA "$DIR/$ca.crt" \
		-CAkey "$DIR/$ca.key" -CAcreateserial -CAserial "$DIR/$ca.srl" \
		-days "$LEAF_DAYS" -sha256 -extfile "$ext" -out "$cert" 2>/dev/null)
	rm -f "$ext"
	say "made $cert"
}

make_ca ca "/O=taskgate development/CN=taskgate development CA"
make_leaf server ca "/O=taskgate development/CN=localhost" serverAuth \
	"DNS:localhost,IP:127.0.0.1,IP:::1"
for c in "${CLIENTS[@]}"; do
	case "$c" in
	ca | server | wrong-ca | wrong-host | *[!A-Za-z0-9._-]* | .*)
		echo "mkcerts: '$c' cannot be a client name" >&2
		exit 2
		;;
	esac
	make_leaf "$c" ca "/O=taskgate development/CN=$c" clientAuth ""
done
make_ca wrong-ca "/O=unrelated/CN=wrong CA"
make_leaf wrong-host wrong-ca "/O=unrelated/CN=wrong-host" clientAuth ""
