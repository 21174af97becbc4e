#!/usr/bin/python3
"""Writes tests/unit/sigv4/botocore.vec: requests signed by the real botocore.

taskgate must accept what the AWS CLI and boto3 send, byte for byte. This
script signs a handful of requests with botocore's own SigV4 code at a frozen
clock -- ECS JSON calls through a real client, STS query calls, a GET whose
path and query need every canonicalisation rule, a request dated by the Date
header, presigned URLs -- and records for each the request as it goes on the
wire, botocore's canonical request and string to sign, and the signature. The C
unit test (tests/unit/test_gw_sigv4.c) recomputes all three and verifies each
request. Nothing is sent anywhere: a before-send hook answers every call.

Run it with the system interpreter from the repository root when botocore
changes, and commit the result:

    /usr/bin/python3 tests/unit/sigv4/gen_botocore.py > tests/unit/sigv4/botocore.vec
"""

import datetime
import sys
import types
from urllib.parse import urlsplit

import botocore
import botocore.auth
import botocore.crt.auth
import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.crt.auth import CrtSigV4Auth, CrtSigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

SIGNED_AT = datetime.datetime(2026, 11, 25, 0, 22, 21)
CHECKED_AT = "20261125T002231Z"  # ten seconds later: well inside the window
ENDPOINT = "https://127.0.0.1:8443"

LONG_TERM = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None)
TEMPORARY = (
    "ASIAZ2TQXOGT7EXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+tokenEXAMPLE==",
)


class _FrozenDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return SIGNED_AT

    @classmethod
    def now(cls, tz=None):
        return SIGNED_AT if tz is None else SIGNED_AT.replace(tzinfo=tz)


def use_signer(kind):
    """botocore signs with the AWS CRT when awscrt is installed (as here), else
    in Python; taskgate must accept both, so every call is made with each."""
    botocore.auth.AUTH_TYPE_MAPS["v4"] = CrtSigV4Auth if kind == "crt" else SigV4Auth
    captured.clear()


def freeze_botocore_clock():
    shim = types.SimpleNamespace(datetime=_FrozenDateTime, timezone=datetime.timezone)
    botocore.auth.datetime = shim
    botocore.crt.auth.datetime = shim
    if hasattr(botocore.auth, "get_current_datetime"):
        botocore.auth.get_current_datetime = lambda *a, **k: SIGNED_AT


# botocore's canonical request and string to sign, as it computed them.
captured = {}
_orig_creq = SigV4Auth.canonical_request
_orig_sts = SigV4Auth.string_to_sign


def _creq(self, request):
    captured["creq"] = _orig_creq(self, request)
    return captured["creq"]


def _sts(self, request, canonical_request):
    captured["sts"] = _orig_sts(self, request, canonical_request)
    return captured["sts"]


SigV4Auth.canonical_request = _creq
SigV4Auth.string_to_sign = _sts


def esc(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    out = []
    for c in data:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 0x0A:
            out.append("\\n")
        elif c == 0x0D:
            out.append("\\r")
        elif c == 0x09:
            out.append("\\t")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def host_of(url):
    return urlsplit(url).netloc


def emit(name, method, url, headers, body, region, service, creds, expect_sig=None):
    parts = urlsplit(url)
    key_id, secret, token = creds
    lines = ["vector " + name, "method " + method, "path " + esc(parts.path or "/")]
    if parts.query:
        lines.append("query " + esc(parts.query))
    names = [n.lower() for n, _ in headers]
    if "host" not in names:
        lines.append("header Host:" + host_of(url))
    for n, v in headers:
        lines.append("header " + esc(n) + ":" + esc(v))
    if body:
        lines.append("body " + esc(body))
    lines += [
        "region " + region,
        "service " + service,
        "now " + CHECKED_AT,
        "key-id " + key_id,
        "secret " + secret,
        "kind " + ("temporary" if token else "long-term"),
    ]
    if token:
        lines.append("token " + esc(token))
    # The CRT signer does not show its canonical request; the signature and
    # verification are checked all the same.
    if "creq" in captured:
        lines += ["creq " + esc(captured["creq"]), "sts " + esc(captured["sts"])]
    if expect_sig is None:
        expect_sig = captured["signature"]
    lines += ["signature " + expect_sig, "verify ok", "end", ""]
    print("\n".join(lines))


def client_call(name, service, region, creds, op, params, signer):
    """Calls op through a real botocore client and records what it would send."""
    use_signer(signer)
    session = botocore.session.get_session()
    client = session.create_client(
        service,
        region_name=region,
        endpoint_url=ENDPOINT,
        aws_access_key_id=creds[0],
        aws_secret_access_key=creds[1],
        aws_session_token=creds[2],
    )
    sent = {}

    def before_send(request, **kwargs):
        sent["request"] = request
        if service == "sts":
            body = (
                b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                b"<GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/x</Arn>"
                b"<UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account>"
                b"</GetCallerIdentityResult></GetCallerIdentityResponse>"
            )
        else:
            body = b"{}"
        return AWSResponse(request.url, 200, {}, types.SimpleNamespace(stream=lambda: iter([body]), read=lambda *a: body))

    client.meta.events.register("before-send", before_send)
    try:
        getattr(client, op)(**params)
    except Exception:  # the canned answer may not parse; the request was captured
        pass
    req = sent["request"]
    auth = req.headers["Authorization"].decode() if isinstance(req.headers["Authorization"], bytes) else req.headers["Authorization"]
    captured["signature"] = auth.rsplit("Signature=", 1)[1]
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in req.headers.items()]
    body = req.body or b""
    if isinstance(body, str):
        body = body.encode()
    emit(name, req.method, req.url, headers, body, region, service, creds)


def raw_sign(name, method, url, headers, body, region, service, creds, signer):
    """Signs an AWSRequest directly (for shapes no API call makes)."""
    use_signer(signer)
    cred = Credentials(creds[0], creds[1], creds[2])
    req = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    (CrtSigV4Auth if signer == "crt" else SigV4Auth)(cred, service, region).add_auth(req)
    auth = req.headers["Authorization"]
    captured["signature"] = auth.rsplit("Signature=", 1)[1]
    emit(name, method, url, list(req.headers.items()), body, region, service, creds)


def presign(name, region, creds, expires, signer):
    use_signer(signer)
    cred = Credentials(creds[0], creds[1], creds[2])
    query = percent_encode_sequence({"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    req = AWSRequest(method="GET", url=ENDPOINT + "/?" + query, headers={})
    cls = CrtSigV4QueryAuth if signer == "crt" else SigV4QueryAuth
    cls(cred, "sts", region, expires=expires).add_auth(req)
    captured["signature"] = req.url.rsplit("X-Amz-Signature=", 1)[1]
    emit(name, "GET", req.url, [], b"", region, "sts", creds)


def main():
    freeze_botocore_clock()
    print("# Requests signed by botocore %s at 20261125T002221Z, in Python (SigV4Auth," % botocore.__version__)
    print("# SigV4QueryAuth: with its canonical request and string to sign) and through the")
    print("# AWS CRT (CrtSigV4Auth, what the AWS CLI uses when awscrt is installed). Written by")
    print("# tests/unit/sigv4/gen_botocore.py; checked at %s. Format: see" % CHECKED_AT)
    print("# tests/unit/test_gw_sigv4.c (read_vectors).")
    print()
    run_task = {
        "cluster": "prod",
        "taskDefinition": "orders:7",
        "count": 2,
        "overrides": {"containerOverrides": [{"name": "app", "command": ["echo", "h\u00e9llo  w\u00f6rld", "a&b=c"]}]},
    }
    query = percent_encode_sequence(
        [("b", "2"), ("a", "~x y"), ("a", "1"), ("c", "x+y/z"), ("empty", ""), ("\u00fc", "\u00e9\u20ac"), ("Z", "upper")]
    )
    for signer in ("python", "crt"):
        tag = "botocore-" + signer
        client_call(tag + "-ecs-list-clusters", "ecs", "us-east-1", LONG_TERM, "list_clusters", {}, signer)
        client_call(tag + "-ecs-run-task-temporary", "ecs", "eu-west-1", TEMPORARY, "run_task", run_task, signer)
        client_call(tag + "-sts-get-caller-identity", "sts", "us-east-1", LONG_TERM, "get_caller_identity", {}, signer)
        client_call(
            tag + "-sts-get-caller-identity-temporary", "sts", "us-east-1", TEMPORARY, "get_caller_identity", {}, signer
        )
        raw_sign(
            tag + "-get-tricky-path-and-query",
            "GET",
            ENDPOINT + "/v1/a%20b/./c//d/%E2%82%AC/?" + query,
            [("X-Amz-Meta-Note", "  two   spaces\tand tab  "), ("Accept", "application/json")],
            b"",
            "us-east-1",
            "ecs",
            LONG_TERM,
            signer,
        )
        presign(tag + "-presigned-sts-get-caller-identity", "us-east-1", LONG_TERM, 900, signer)
        presign(tag + "-presigned-sts-temporary", "us-east-1", TEMPORARY, 60, signer)
    raw_sign(
        "botocore-python-post-dated-by-date-header",
        "POST",
        ENDPOINT + "/",
        [("Date", "ignored: botocore rewrites it"), ("Content-Type", "application/x-amz-json-1.1"),
         ("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")],
        b"{}",
        "us-east-1",
        "ecs",
        LONG_TERM,
        "python",
    )


if __name__ == "__main__":
    sys.exit(main())
