#!/usr/bin/python3
"""tests/integration/registry_v2.py - a tiny private image registry for tests.

Serves one image, built at start from a root file system tar, through the
part of the Registry HTTP API v2 that dockerd uses for a pull:

  GET  /v2/                              401 + WWW-Authenticate: Basic without
                                         the right credentials, 200 with them
  HEAD|GET /v2/<name>/manifests/<ref>    an image manifest (schema 2) for any
                                         tag in --tags, or by its digest
  HEAD|GET /v2/<name>/blobs/<digest>     the config blob and the one layer

Every /v2/ request needs HTTP Basic credentials (user from --user, password
from the file --password-file names, so that it is in no process's argv).
It is plain HTTP on loopback: dockerd treats 127.0.0.0/8 registries as
insecure and talks HTTP to them. One line per request goes to --log:
method, path, status and whether credentials were good, bad or absent,
never the Authorization header itself.

Not a registry: no push, no catalogue, no token auth, one repository.
"""
import argparse
import base64
import gzip
import hashlib
import hmac
import http.server
import json
import platform
import sys
import threading

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
        "s390x": "s390x", "i686": "386"}


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def build(rootfs_tar):
    raw = open(rootfs_tar, "rb").read()
    layer = gzip.compress(raw, mtime=0)
    config = json.dumps({
        "architecture": ARCH.get(platform.machine(), platform.machine()),
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [sha(raw)]},
        "history": [{"created_by": "taskgate tests/integration/registry_v2.py"}],
    }, separators=(",", ":")).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": sha(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer), "digest": sha(layer)}],
    }, indent=2).encode()
    blobs = {sha(config): config, sha(layer): layer}
    return manifest, blobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--rootfs-tar", required=True)
    ap.add_argument("--name", default="private/app")
    ap.add_argument("--tags", default="1")
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready-file")
    a = ap.parse_args()

    password = open(a.password_file, "rb").read().strip()
    want = b"Basic " + base64.b64encode(a.user.encode() + b":" + password)
    manifest, blobs = build(a.rootfs_tar)
    mdigest = sha(manifest)
    refs = set(a.tags.split(",")) | {mdigest}
    log = open(a.log, "a", buffering=1)
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"", ctype="application/json", extra=None):
            self.send_response(status)
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def route(self):
            got = self.headers.get("Authorization")
            creds = "none" if got is None else (
                "good" if hmac.compare_digest(got.encode(), want) else "bad")
            path = self.path.split("?", 1)[0]
            status = self.serve(path, creds)
            with lock:
                log.write("%s %s %d creds=%s\n" % (self.command, path, status, creds))

        def serve(self, path, creds):
            if not path.startswith("/v2/"):
                self.answer(404, b'{"errors":[{"code":"NOT_FOUND"}]}')
                return 404
            if creds != "good":
                self.answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":'
                                 b'"authentication required"}]}',
                            extra={"WWW-Authenticate": 'Basic realm="taskgate-test"'})
                return 401
            if path == "/v2/":
                self.answer(200, b"{}")
                return 200
            prefix = "/v2/" + a.name + "/"
            rest = path[len(prefix):] if path.startswith(prefix) else None
            if rest and rest.startswith("manifests/") and rest[10:] in refs:
                self.answer(200, manifest, manifest_type(),
                            {"Docker-Content-Digest": mdigest})
                return 200
            if rest and rest.startswith("blobs/") and rest[6:] in blobs:
                d = rest[6:]
                self.answer(200, blobs[d], "application/octet-stream",
                            {"Docker-Content-Digest": d})
                return 200
            self.answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return 404

        do_GET = route
        do_HEAD = route

    def manifest_type():
        return "application/vnd.docker.distribution.manifest.v2+json"

    srv = http.server.ThreadingHTTPServer((a.listen, a.port), H)
    if a.ready_file:
        with open(a.ready_file, "w") as f:
            f.write("%d\n" % srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
