#!/usr/bin/python3
"""boto3_sts.py - the STS flows of the identity test through boto3 (Debian's
python3-boto3): GetCallerIdentity with an access key, AssumeRole with a
session policy, the session's own identity, and AssumeRoleWithWebIdentity.

    boto3_sts.py ENDPOINT CA_FILE ACCESS_KEY SECRET ROLE_ARN WEB_ROLE_ARN JWT

Prints one JSON object with what each call answered (no secrets).
"""
import json
import sys

import boto3
from botocore import UNSIGNED
from botocore.config import Config

ep, ca, key, secret, role, web_role, jwt = sys.argv[1:8]
cfg = Config(retries={"max_attempts": 1}, region_name="us-east-1")


def client(**kw):
    return boto3.session.Session().client("sts", endpoint_url=ep, verify=ca, config=cfg, **kw)


out = {}
dev = client(aws_access_key_id=key, aws_secret_access_key=secret)
out["user"] = dev.get_caller_identity()["Arn"]
policy = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]})
ar = dev.assume_role(RoleArn=role, RoleSessionName="boto-session", Policy=policy,
                     DurationSeconds=900)
c = ar["Credentials"]
out["expiration_type"] = type(c["Expiration"]).__name__
out["packed"] = ar.get("PackedPolicySize")
sess = client(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
              aws_session_token=c["SessionToken"])
out["session"] = sess.get_caller_identity()["Arn"]
try:
    sess.assume_role(RoleArn=role, RoleSessionName="chained")
    out["chained"] = "allowed"
except dev.exceptions.ClientError as e:
    out["chained"] = e.response["Error"]["Code"]
    out["chained_message"] = e.response["Error"]["Message"]
anon = boto3.session.Session().client(
    "sts", endpoint_url=ep, verify=ca, config=cfg.merge(Config(signature_version=UNSIGNED)))
wi = anon.assume_role_with_web_identity(RoleArn=web_role, RoleSessionName="boto-web",
                                        WebIdentityToken=jwt)
out["web_subject"] = wi["SubjectFromWebIdentityToken"]
out["web_provider"] = wi["Provider"]
out["web_audience"] = wi["Audience"]
w = wi["Credentials"]
web = client(aws_access_key_id=w["AccessKeyId"], aws_secret_access_key=w["SecretAccessKey"],
             aws_session_token=w["SessionToken"])
out["web_session"] = web.get_caller_identity()["Arn"]
print(json.dumps(out))
