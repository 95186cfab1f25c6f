#!/usr/bin/env python3
"""images/test-images.py OUTDIR OUTSIDE

Builds one OCI image layout OUTDIR holding the test images of
tests/integration/image-local.t, each named by org.opencontainers.image.ref.name:

  multi      three gzip layers: whiteouts (a file and a directory), an opaque
             directory, hardlinks, symlinks, a setuid file, owners other than
             root, an xattr, fixed mtimes
  abs, dotdot, symlink, hardlink, hardlink-abs, root, root-dot
             hostile layers that try to write to OUTSIDE (an absolute path, "..",
             a path through a symlink, hardlinks out of the layer, the layer
             root replaced by a symlink)
  flatten-escape
             layers fine alone whose stack writes through a lower layer's
             symlinks to OUTSIDE (a file, a directory, a whiteout)
  digest     a layer whose blob does not match its digest
  truncated  a layer blob cut in half (size and digest as of the whole)
  diffid     a config whose diff_id does not match the layer
  huge       a manifest of 5 MiB
  schema1    a Docker schema 1 manifest
  artifact   an OCI artifact (not an image)

Everything is deterministic: mtime 0 unless a test needs another, gzip
without name or time, JSON with sorted keys.
"""
import gzip
import hashlib
import io
import json
import os
import platform
import sys
import tarfile

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
        "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(
            platform.machine(), platform.machine())


def die(msg):
    sys.stderr.write("images/test-images.py: %s\n" % msg)
    sys.exit(1)


if len(sys.argv) != 3:
    sys.stderr.write("usage: images/test-images.py OUTDIR OUTSIDE\n")
    sys.exit(2)
OUT, OUTSIDE = sys.argv[1], os.path.abspath(sys.argv[2])
os.makedirs(os.path.join(OUT, "blobs", "sha256"), exist_ok=True)


def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(OUT, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def jdump(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def entry(name, kind="file", data=b"", mode=0o644, uid=0, gid=0, link="", mtime=0,
          xattrs=None):
    ti = tarfile.TarInfo(name)
    ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, mtime
    if kind == "dir":
        ti.type = tarfile.DIRTYPE
    elif kind == "symlink":
        ti.type, ti.linkname = tarfile.SYMTYPE, link
    elif kind == "hardlink":
        ti.type, ti.linkname = tarfile.LNKTYPE, link
    else:
        ti.size = len(data)
    if xattrs:
        ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    return ti, (io.BytesIO(data) if kind == "file" else None)


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, f in entries:
            t.addfile(ti, f)
    return buf.getvalue()


def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as g:
        g.write(data)
    return buf.getvalue()


index = []


def image(ref, layers, config_edit=None, manifest_edit=None, blob_edit=None):
    """layers: list of uncompressed tars.  blob_edit(i, gz) -> bytes stored."""
    descs, diff_ids = [], []
    for i, t in enumerate(layers):
        z = gz(t)
        diff_ids.append("sha256:" + hashlib.sha256(t).hexdigest())
        digest = "sha256:" + hashlib.sha256(z).hexdigest()
        stored = blob_edit(i, z) if blob_edit else z
        with open(os.path.join(OUT, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(stored)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": digest, "size": len(z)})
    config = {"architecture": ARCH, "os": "linux", "created": "1970-01-01T00:00:00Z",
              "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if config_edit:
        config_edit(config)
    cd, cs = blob(jdump(config))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cd, "size": cs},
                "layers": descs}
    if manifest_edit:
        manifest_edit(manifest)
    md, ms = blob(jdump(manifest))
    index.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "digest": md, "size": ms,
                  "annotations": {"org.opencontainers.image.ref.name": ref}})


# ---- multi: what overlayfs layers carry ----------------------------------------
l1 = tar([
    entry("etc", "dir", mode=0o755),
    entry("etc/hostname", data=b"skiff-test\n", mtime=1234567890),
    entry("a", "dir", mode=0o755),
    entry("a/keep", data=b"keep\n"),
    entry("a/old", data=b"old\n"),
    entry("gone", "dir", mode=0o755),
    entry("gone/file", data=b"gone\n"),
    entry("opq", "dir", mode=0o755),
    entry("opq/x", data=b"x\n"),
    entry("opq/y", data=b"y\n"),
    entry("usr", "dir", mode=0o755),
    entry("usr/bin", "dir", mode=0o555),
    entry("usr/bin/tool", data=b"#!/bin/sh\necho tool\n", mode=0o4755),
    entry("data", "dir", mode=0o750, uid=1000, gid=1000),
    entry("data/f", data=b"user data\n", mode=0o600, uid=1000, gid=1000),
    entry("hl", "dir", mode=0o755),
    entry("hl/orig", data=b"linked\n"),
    entry("hl/link", "hardlink", link="hl/orig"),
    entry("s", "dir", mode=0o755),
    entry("s/rel", "symlink", link="../a/keep"),
    entry("s/abs", "symlink", link="/etc/hostname"),
    entry("s/dangling", "symlink", link="/nowhere"),
])
l2 = tar([
    entry(".wh.gone"),
    entry("a", "dir", mode=0o755),
    entry("a/.wh.old"),
    entry("opq", "dir", mode=0o755),
    entry("opq/.wh..wh..opq"),
    entry("opq/new", data=b"new\n"),
    entry("data", "dir", mode=0o750, uid=1000, gid=1000),
    entry("data/f2", data=b"second\n", mode=0o640, uid=1000, gid=100),
])
l3 = tar([
    entry("x", "dir", mode=0o755),
    entry("x/attr", data=b"xattr\n", xattrs={"user.skiff": "yes"}),
    entry("x/gid", data=b"setgid\n", mode=0o2755, gid=100),
    entry("x/hl2", "hardlink", link="x/attr"),
])
image("multi", [l1, l2, l3])

# ---- an /etc the container's own files cannot simply be written into -------------
# (job/files.c: they are bind-mounted over these instead)
image("etc-link", [tar([entry("usr", "dir", mode=0o755),
                        entry("usr/etc", "dir", mode=0o755),
                        entry("usr/etc/hostname", data=b"image\n"),
                        entry("etc", "symlink", link="usr/etc")])])
image("etc-owned", [tar([entry("etc", "dir", mode=0o750, uid=1000, gid=1000),
                         entry("etc/hostname", data=b"image\n")])])

# ---- hostile layers --------------------------------------------------------------
def ok():
    return entry("ok", data=b"ok\n")


image("abs", [tar([ok(), entry(OUTSIDE + "/abs", data=b"evil\n")])])
image("dotdot", [tar([ok(), entry("a/../../../../../../.." + OUTSIDE + "/dotdot", data=b"evil\n")])])
image("symlink", [tar([ok(), entry("link", "symlink", link=OUTSIDE),
                       entry("link/symlink", data=b"evil\n")])])
image("symlink-rel", [tar([entry("d", "dir", mode=0o755),
                           entry("d/up", "symlink", link="../../../../../../../.." + OUTSIDE),
                           entry("d/up/symlink-rel", data=b"evil\n")])])
image("hardlink", [tar([ok(), entry("hl", "hardlink", link="../../../../../../.." + OUTSIDE + "/target")])])
image("hardlink-abs", [tar([ok(), entry("hl", "hardlink", link=OUTSIDE + "/target")])])
image("hardlink-via-symlink", [tar([entry("l", "symlink", link=OUTSIDE),
                                    entry("hl", "hardlink", link="l/target")])])
image("root", [tar([entry(".", "symlink", link=OUTSIDE), entry("root", data=b"evil\n")])])
image("root-dot", [tar([entry("./", "symlink", link=OUTSIDE)])])
image("chmod-symlink", [tar([entry("l", "symlink", link=OUTSIDE + "/target"),
                             entry("l", "dir", mode=0o777)])])

# Each layer is harmless alone; stacked, the upper one writes where the lower
# one has symlinks to OUTSIDE (flattening must replace them, not follow).
image("flatten-escape", [
    tar([entry("link", "symlink", link=OUTSIDE),
         entry("d", "dir", mode=0o755),
         entry("d/up", "symlink", link="../../../../../../../.." + OUTSIDE),
         entry("f", "symlink", link=OUTSIDE + "/f"),
         entry("w", "symlink", link=OUTSIDE)]),
    tar([entry("link", "dir", mode=0o755),
         entry("link/evil", data=b"evil\n"),
         entry("d", "dir", mode=0o755),
         entry("d/up", "dir", mode=0o755),
         entry("d/up/evil2", data=b"evil\n"),
         entry("f", data=b"inside\n"),
         entry("w", "dir", mode=0o755),
         entry("w/.wh.victim")]),
])

# ---- broken blobs and documents ---------------------------------------------------------
def good(what):
    return tar([entry("f", data=what.encode() + b"\n" * 1000)])


def regzip(z):
    """The same tar, compressed again with another gzip header: valid, but
    not the blob the manifest names."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=1, filename="") as g:
        g.write(gzip.decompress(z))
    return buf.getvalue()


image("digest", [good("digest")], blob_edit=lambda i, z: regzip(z))
image("truncated", [good("truncated")], blob_edit=lambda i, z: z[: len(z) // 2])
image("diffid", [good("diffid")], config_edit=lambda c: c["rootfs"].__setitem__(
    "diff_ids", ["sha256:" + "0" * 64]))
image("huge", [good("huge")], manifest_edit=lambda m: m.__setitem__(
    "annotations", {"pad": "x" * (5 << 20)}))
image("schema1", [good("schema1")], manifest_edit=lambda m: (m.clear(), m.update(
    {"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []})))
image("artifact", [good("artifact")], manifest_edit=lambda m: (
    m["config"].__setitem__("mediaType", "application/vnd.example.thing+json"),
    m.__setitem__("artifactType", "application/vnd.example.thing")))

with open(os.path.join(OUT, "index.json"), "wb") as f:
    f.write(jdump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": index}))
with open(os.path.join(OUT, "oci-layout"), "wb") as f:
    f.write(b'{"imageLayoutVersion":"1.0.0"}')
