#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/TARGET/.

  tests/fuzz/seed-corpus.py SRCDIR

Seeds come from what the tests already use: the documents and layers of
images/test-images.py (the multi image, hostile layers, broken manifests),
the config.json fixtures of tests/unit (and each bad-inputs.json patch
applied to runc-spec.json), and hand-written references, sources and
platforms.  Each seed is named seed-SHA1 of its content.  Beside them:
cov-SHA1, inputs the fuzzers found that reach code the seeds do not (kept
from a libFuzzer -merge=1 run, so the replay in make check covers them
too), and regress-NAME, inputs that once crashed a target.  This script
leaves those alone.  Run it again when the test images change."""
import glob
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile

if len(sys.argv) != 2:
    sys.stderr.write(__doc__)
    sys.exit(2)
SRC = sys.argv[1]
CORPUS = os.path.join(SRC, "tests", "fuzz", "corpus")
MAX = 256 << 10


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX:
        return
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


for t in ("reference", "source", "platform", "manifest", "spec", "layer"):
    for f in glob.glob(os.path.join(CORPUS, t, "seed-*")):
        os.unlink(f)

D64 = "0123456789abcdef" * 4
for r in ["alpine", "alpine:3.19", "library/alpine", "docker.io/library/alpine:latest",
          "index.docker.io/alpine", "localhost/busybox", "localhost:5000/a/b/c:tag",
          "[::1]:5000/x:y", "registry.example.com:443/org/img@sha256:" + D64,
          "img:tag@sha256:" + D64, "a__b/c.d-e", "UPPER", "a//b", "x:", "@sha256:",
          ":tag", "a:" + "t" * 129, "x" * 300, "sha256:" + D64, "sha512:" + D64,
          "host:0/x", "host:65536/x", "-a/b", "a/b.", ""]:
    put("reference", r)
for s in ["docker://alpine", "docker://localhost:5000/a:b", "oci:/tmp/layout",
          "oci:/tmp/layout:ref", "oci:dir:example.com/x:1.0", "oci-archive:f.tar",
          "oci-archive:f.tar:ref", "docker-archive:f.tar", "docker-archive:f.tar:@0",
          "docker-archive:f.tar:name:tag", "dir:/x", "containers-storage:x", "oci:",
          "docker://", "alpine", "oci::", "docker-archive:f.tar:@-1"]:
    put("source", s)
for p in ["linux/amd64", "linux/arm64/v8", "linux/arm/v7", "windows/amd64", "/", "linux//",
          "a/b/c/d", "linux", "LINUX/AMD64", "linux/amd64/"]:
    put("platform", p)

with tempfile.TemporaryDirectory() as tmp:
    ti = os.path.join(tmp, "ti")
    subprocess.run([sys.executable, os.path.join(SRC, "images", "test-images.py"), ti,
                    "/tmp/skiff-fuzz-outside"], check=True, stdout=subprocess.DEVNULL)
    files = [os.path.join(ti, "index.json")] + sorted(glob.glob(os.path.join(ti, "blobs", "sha256", "*")))
    for f in files:
        data = open(f, "rb").read()
        if data[:1] == b"{":
            put("manifest", data)
            continue
        try:
            tar = gzip.decompress(data)
        except Exception:
            put("layer", data)      # the corrupt blobs, as they are
            continue
        put("layer", tar)
    # One layer compressed, as blobs are.
    put("layer", open(sorted(f for f in files if open(f, "rb").read(2) == b"\x1f\x8b")[0], "rb").read())
put("layer", b"")
put("layer", b"\0" * 1024)

fx = os.path.join(SRC, "tests", "unit", "fixtures")
base = json.load(open(os.path.join(fx, "runc-spec.json")))
for name in ("runc-spec.json", "runc-spec-rootless.json", "podman.json"):
    put("spec", open(os.path.join(fx, name), "rb").read())


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


for case in json.load(open(os.path.join(fx, "bad-inputs.json"))):
    put("spec", json.dumps(merge_patch(base, case["patch"]), sort_keys=True))
put("spec", json.dumps(base["linux"].get("resources", {"memory": {"limit": 1}})))
put("spec", "{")
put("spec", "[]")
