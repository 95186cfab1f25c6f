#!/usr/bin/env python3
"""images/debian-minbase.py [--suite S] [--mirror URL] [--epoch T] ROOTFS OUTDIR

Builds an OCI image layout OUTDIR of a Debian minbase root filesystem, in
three gzip layers, for the pull benchmark (tests/bench/pull.sh):

  1. usr/lib and everything under it
  2. the rest of usr
  3. everything else

ROOTFS is the tree `debootstrap --variant=minbase SUITE ROOTFS MIRROR`
makes (as root); when ROOTFS does not exist it is made so first (in
ROOTFS.tmp, renamed at the end; default suite bookworm, mirror
http://deb.debian.org/debian). debootstrap itself is not reproducible (it
stamps files with the time it ran), so keep ROOTFS to rebuild the same
image: from the same ROOTFS this recipe writes byte-identical blobs. Tar
members are sorted by path, owners kept as numbers without names, mtimes
clamped to --epoch (default 2025-05-20T00:00:00Z), hardlinks kept within a
layer, xattrs kept as SCHILY.xattr records; gzip -n (no name, no time).

Left out, as Debian's own container images leave them out: the device
nodes in /dev (runtimes make their own), the .deb files debootstrap
downloaded (var/cache/apt/archives), apt's package lists and its binary
caches (var/lib/apt/lists, var/cache/apt/*.bin).

The image is tagged org.opencontainers.image.ref.name = SUITE. OUTDIR is
written as OUTDIR.tmp and renamed at the end.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile

PROG = "images/debian-minbase.py"
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
        "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(
            platform.machine(), platform.machine())


def die(msg):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    sys.exit(1)


def excluded(rel, st):
    """True for what the image leaves out (see the module doc)."""
    if rel.startswith("dev/"):
        return True
    if rel.startswith("var/cache/apt/archives/") and rel.endswith(".deb"):
        return True
    if rel.startswith("var/cache/apt/") and rel.endswith(".bin") and rel.count("/") == 3:
        return True
    if rel.startswith("var/lib/apt/lists/") and stat.S_ISREG(st.st_mode) \
            and rel != "var/lib/apt/lists/lock":
        return True
    return False


def layer_of(rel):
    """0, 1 or 2: the layer a path belongs to. usr itself is in 0 and 1."""
    if rel == "usr/lib" or rel.startswith("usr/lib/"):
        return 0
    if rel.startswith("usr/"):
        return 1
    return 2


def walk(root):
    """Every path under root (relative, without "./"), sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    out.sort()
    return out


def write_layer(root, paths, epoch, tar_path):
    """An uncompressed tar of paths (relative to root) at tar_path."""
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as t:
        for rel in paths:
            full = os.path.join(root, rel)
            ti = t.gettarinfo(full, arcname=rel)
            if ti is None:          # a socket: nothing a layer can carry
                continue
            ti.mtime = min(int(ti.mtime), epoch)
            ti.uname = ti.gname = ""
            xattrs = {}
            if not ti.issym():
                for k in sorted(os.listxattr(full, follow_symlinks=False)):
                    v = os.getxattr(full, k, follow_symlinks=False)
                    xattrs["SCHILY.xattr." + k] = v.decode("utf-8", "surrogateescape")
            if xattrs:
                ti.pax_headers = xattrs
            if ti.isreg():
                with open(full, "rb") as f:
                    t.addfile(ti, f)
            else:
                t.addfile(ti)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def jdump(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser(prog=PROG)
    ap.add_argument("--suite", default="bookworm")
    ap.add_argument("--mirror", default="http://deb.debian.org/debian")
    ap.add_argument("--epoch", type=int, default=1747699200)
    ap.add_argument("rootfs")
    ap.add_argument("outdir")
    a = ap.parse_args()
    root = os.path.abspath(a.rootfs)
    out = os.path.abspath(a.outdir.rstrip("/"))
    tmp = out + ".tmp"

    if not os.path.isdir(root):
        if os.geteuid() != 0:
            die("%s does not exist and debootstrap needs root to make it" % root)
        if shutil.which("debootstrap") is None:
            die("'debootstrap' is needed to make %s but is not installed" % root)
        shutil.rmtree(root + ".tmp", ignore_errors=True)
        r = subprocess.run(["debootstrap", "--variant=minbase", a.suite, root + ".tmp", a.mirror])
        if r.returncode != 0:
            shutil.rmtree(root + ".tmp", ignore_errors=True)
            die("debootstrap %s from %s failed (status %d)" % (a.suite, a.mirror, r.returncode))
        os.rename(root + ".tmp", root)
    if not os.path.isfile(os.path.join(root, "etc", "debian_version")):
        die("%s has no etc/debian_version: is it a debootstrap tree?" % root)
    if shutil.which("gzip") is None:
        die("'gzip' is needed but is not installed")

    shutil.rmtree(tmp, ignore_errors=True)
    blobs = os.path.join(tmp, "blobs", "sha256")
    os.makedirs(blobs)
    try:
        layers = [[], [], []]
        for rel in walk(root):
            st = os.lstat(os.path.join(root, rel))
            if excluded(rel, st):
                continue
            if rel == "usr":
                layers[0].append(rel)
                layers[1].append(rel)
            else:
                layers[layer_of(rel)].append(rel)

        names = ["usr/lib", "usr without usr/lib", "everything but usr"]
        descs, diff_ids, history = [], [], []
        created = datetime.datetime.fromtimestamp(a.epoch, datetime.timezone.utc) \
            .strftime("%Y-%m-%dT%H:%M:%SZ")
        for i, paths in enumerate(layers):
            tar_path = os.path.join(tmp, "layer.tar")
            write_layer(root, paths, a.epoch, tar_path)
            diff_ids.append("sha256:" + sha256_file(tar_path))
            gz_path = os.path.join(tmp, "layer.tar.gz")
            with open(gz_path, "wb") as f:
                r = subprocess.run(["gzip", "-n", "-6", "-c", tar_path], stdout=f)
            if r.returncode != 0:
                die("gzip failed on layer %d" % (i + 1))
            os.unlink(tar_path)
            d = sha256_file(gz_path)
            size = os.path.getsize(gz_path)
            os.rename(gz_path, os.path.join(blobs, d))
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                          "digest": "sha256:" + d, "size": size})
            history.append({"created": created,
                            "created_by": "%s: layer %d, %s" % (PROG, i + 1, names[i])})

        def blob(data):
            d = hashlib.sha256(data).hexdigest()
            with open(os.path.join(blobs, d), "wb") as f:
                f.write(data)
            return "sha256:" + d, len(data)

        config = {"architecture": ARCH, "os": "linux", "created": created,
                  "config": {"Cmd": ["bash"],
                             "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                     "/usr/bin:/sbin:/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": history}
        cd, cs = blob(jdump(config))
        manifest = {"schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": cd, "size": cs},
                    "layers": descs}
        md, ms = blob(jdump(manifest))
        index = {"schemaVersion": 2,
                 "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "digest": md, "size": ms,
                                "annotations": {"org.opencontainers.image.ref.name": a.suite}}]}
        with open(os.path.join(tmp, "index.json"), "wb") as f:
            f.write(jdump(index))
        with open(os.path.join(tmp, "oci-layout"), "wb") as f:
            f.write(jdump({"imageLayoutVersion": "1.0.0"}))
        shutil.rmtree(out, ignore_errors=True)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for i, dsc in enumerate(descs):
        print("layer %d (%s): %s, %d bytes" % (i + 1, names[i], dsc["digest"], dsc["size"]))


if __name__ == "__main__":
    main()
