#!/usr/bin/python3
"""sigv4_tamper.py - sign an STS request with botocore's own SigV4 signer, then
change one thing after signing, and send it (identity tests).

    sigv4_tamper.py URL ACCESS_KEY SECRET CA_FILE MODE [SESSION_TOKEN]

MODE: none (send as signed), body (one byte of the body), header (a signed
header's value), date (X-Amz-Date one second later), token (another session
token). Prints "<http status> <error code or OK>".
"""
import sys
import ssl
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import botocore.auth
import botocore.awsrequest
import botocore.credentials

url, key, secret, ca, mode = sys.argv[1:6]
token = sys.argv[6] if len(sys.argv) > 6 else None
body = "Action=GetCallerIdentity&Version=2011-06-15"
req = botocore.awsrequest.AWSRequest(
    method="POST", url=url + "/", data=body,
    headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret, token),
                        "sts", "us-east-1").add_auth(req)
headers = {k: v for k, v in req.headers.items()}
if mode == "body":
    body = body.replace("GetCallerIdentity", "GetCallerIdentitx")
elif mode == "header":
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=latin-1"
elif mode == "date":
    d = headers["X-Amz-Date"]
    s = int(d[13:15]) + 1
    headers["X-Amz-Date"] = d[:13] + ("%02d" % (s % 60)) + "Z" if s < 60 else d[:11] + "0000Z"
elif mode == "token":
    headers["X-Amz-Security-Token"] = "A" + headers["X-Amz-Security-Token"][1:]
ctx = ssl.create_default_context(cafile=ca)
r = urllib.request.Request(url + "/", data=body.encode(), headers=headers, method="POST")
try:
    with urllib.request.urlopen(r, context=ctx) as resp:
        print(resp.status, "OK")
except urllib.error.HTTPError as e:
    root = ET.fromstring(e.read())
    code = root.find(".//{https://sts.amazonaws.com/doc/2011-06-15/}Code")
    print(e.code, code.text if code is not None else "?")
