#!/usr/bin/python3
"""mkjwt.py - make a compact JWT for the identity tests, with the standard
library and the openssl command (no third-party JOSE package).

    mkjwt.py ALG KEY KID CLAIMS_JSON

ALG is RS256, ES256, HS256 (KEY: a file whose bytes are the HMAC secret) or
none (KEY ignored, empty signature). KID "-" leaves the kid out. Claims may
use "@now+N" / "@now-N" strings for times relative to now. The token is
printed on stdout.
"""
import base64
import json
import subprocess
import sys
import time
import hmac
import hashlib


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_to_raw(der, size):
    # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += v.rjust(size, b"\x00")
        i += 2 + n
    return out


def main():
    alg, key, kid, claims = sys.argv[1:5]
    now = int(time.time())
    c = json.loads(claims)
    for k, v in list(c.items()):
        if isinstance(v, str) and v.startswith("@now"):
            c[k] = now + int(v[4:] or "0")
    h = {"alg": alg, "typ": "JWT"}
    if kid != "-":
        h["kid"] = kid
    signing = (b64u(json.dumps(h, separators=(",", ":")).encode()) + "." +
               b64u(json.dumps(c, separators=(",", ":")).encode())).encode()
    if alg == "none":
        sig = b""
    elif alg.startswith("HS"):
        sig = hmac.new(open(key, "rb").read(), signing, hashlib.sha256).digest()
    else:
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                             input=signing, capture_output=True, check=True).stdout
        sig = der_to_raw(der, 32) if alg == "ES256" else der
    print(signing.decode() + "." + b64u(sig))


main()
