#!/usr/bin/env bash
# tests/integration/test_mkcerts.sh - certs/mkcerts.sh: what it makes, the
# private keys' modes, and that running it again keeps what is sound and
# remakes only what is missing or broken.
. "$(dirname "$0")/lib.sh"

D="$TG_TMP/pki"
MK="$TOP/certs/mkcerts.sh"
x509() { "$OPENSSL" x509 -in "$1" -noout "${@:2}"; }
sums() { (cd "$D" && sha256sum ./*.crt ./*.key); }

check "mkcerts.sh makes a PKI in a new folder" "$MK" "$D"
for f in ca server host-1 host-2 wrong-ca wrong-host; do
	[ -s "$D/$f.crt" ] && [ -s "$D/$f.key" ] || fail "mkcerts.sh makes $f.crt and $f.key"
done
ok "mkcerts.sh makes the CA, the server, two hosts and the wrong CA with its host"
modes=$(stat -c '%a %n' "$D"/*.key | grep -v '^600 ' || true)
check "every private key is mode 0600" test -z "$modes"
check "every certificate is readable by others (0644)" sh -c "! stat -c '%a' '$D'/*.crt | grep -vx 644"
check "the CA key is ECDSA P-256" sh -c "'$OPENSSL' pkey -in '$D/ca.key' -noout -text | grep -q 'NIST CURVE: P-256'"
has_text() { x509 "$1" -text | grep -q "$2"; }
eku_is() { x509 "$1" -ext extendedKeyUsage | grep -A1 'Extended Key Usage' | tail -n1 | grep -qx " *$2"; }
check "the CA certificate is a CA" has_text "$D/ca.crt" 'CA:TRUE'
check "the server certificate names localhost, 127.0.0.1 and ::1" \
	has_text "$D/server.crt" 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'
check "the server certificate is for serverAuth only" eku_is "$D/server.crt" 'TLS Web Server Authentication'
check "a host certificate is for clientAuth only" eku_is "$D/host-1.crt" 'TLS Web Client Authentication'
check "the server and host certificates chain to the CA" \
	"$OPENSSL" verify -CAfile "$D/ca.crt" "$D/server.crt" "$D/host-1.crt" "$D/host-2.crt"
check_fails "the server certificate does not chain to the wrong CA" \
	"$OPENSSL" verify -CAfile "$D/wrong-ca.crt" "$D/server.crt"
check "the wrong host chains to the wrong CA" "$OPENSSL" verify -CAfile "$D/wrong-ca.crt" "$D/wrong-host.crt"
check_fails "the wrong host does not chain to the CA" "$OPENSSL" verify -CAfile "$D/ca.crt" "$D/wrong-host.crt"

sums >"$TG_TMP/before"
"$MK" "$D" 2>"$TG_TMP/again.err"
sums >"$TG_TMP/after"
check "running it again changes nothing" diff "$TG_TMP/before" "$TG_TMP/after"
check "running it again says nothing was made" test ! -s "$TG_TMP/again.err"

# unchanged NAME: NAME.crt has the bytes it had before the re-runs.
unchanged() { grep -F "./$1.crt" "$TG_TMP/before" | cmp -s - <(cd "$D" && sha256sum "./$1.crt"); }
matches_key() { cmp -s <(x509 "$D/$1.crt" -pubkey) <("$OPENSSL" pkey -in "$D/$1.key" -pubout); }

rm "$D/server.key"
"$MK" "$D" 2>/dev/null
check "a certificate whose key is missing gets a new key" test -s "$D/server.key"
check "and is made again for that key" matches_key server
check_fails "so it is not the old certificate" unchanged server
check "the others are kept" unchanged host-1

rm "$D/ca.key"
"$MK" "$D" 2>/dev/null
check "after the CA is remade, every certificate it signed is remade to chain to it" \
	"$OPENSSL" verify -CAfile "$D/ca.crt" "$D/server.crt" "$D/host-1.crt" "$D/host-2.crt"
check "the wrong CA is not touched when the CA is remade" unchanged wrong-ca

check "client names can be given as arguments" "$MK" "$D" node-a
check "a named client gets a clientAuth certificate from the CA" \
	"$OPENSSL" verify -CAfile "$D/ca.crt" "$D/node-a.crt"
"$MK" "$D" '../evil' 2>/dev/null
check "a client name that is not a plain file name is refused (exit 2)" test $? = 2
check_fails "and nothing is written outside the folder" test -e "$TG_TMP/evil.key"

tg_done
