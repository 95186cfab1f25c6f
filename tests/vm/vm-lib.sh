# shellcheck shell=bash disable=SC2034 # VM_* variables are for the callers
# tests/vm/vm-lib.sh — sourced by tests/vm/run and tests/vm/check-env.
#
# Finds what the guest is made of (qemu, Debian's kernel and its modules,
# busybox-static), says why the VM cannot run when something is missing,
# and builds (once, cached) the unpacked kernel and the initramfs.
#
# Environment: SKIFF_VM_KERNEL (a kernel version under /boot, default the
# newest with its modules), SKIFF_VM_QEMU (default qemu-system-x86_64),
# SKIFF_VM_CACHE (default tests/vm/cache of SKIFF_BUILDDIR, or of the repo).  VM_TMP: the
# caller's temporary directory (the cache's fallback).

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
VM_TOP=$(cd "$VM_DIR/../.." && pwd -P)
VM_QEMU=${SKIFF_VM_QEMU:-qemu-system-x86_64}
VM_CACHE=${SKIFF_VM_CACHE:-${SKIFF_BUILDDIR:-$VM_TOP}/tests/vm/cache}
VM_TMP=${VM_TMP:-${TMPDIR:-/tmp}}
# What a build in progress has made so far: the caller removes it if it
# is interrupted.
VM_PARTIAL=()
VM_BUSYBOX=/bin/busybox
# Modules the guest needs before it can mount anything (their dependencies
# come from modules.dep); anything else loads later from the host's
# /usr/lib/modules over 9p.
VM_MODULES="virtio_pci virtio_blk 9pnet_virtio 9p overlay ${SKIFF_VM_EXTRA_MODULES:-}"

# vm_kernel_version: the kernel to boot, into VM_KVER; 1 if there is none.
vm_kernel_version() {
    local v f
    VM_KVER=
    if [ -n "${SKIFF_VM_KERNEL:-}" ]; then
        VM_KVER=$SKIFF_VM_KERNEL
        return 0
    fi
    for f in /boot/vmlinuz-*; do
        [ -e "$f" ] || continue
        v=${f#/boot/vmlinuz-}
        [ -f "/lib/modules/$v/modules.dep" ] || continue
        VM_KVER=$(printf '%s\n%s\n' "$VM_KVER" "$v" | sed '/^$/d' | sort -V | tail -n 1)
    done
    [ -n "$VM_KVER" ]
}

# vm_is_static FILE: FILE is a 64-bit little-endian ELF without a program
# interpreter (no PT_INTERP among its program headers).
vm_is_static() {
    od -An -v -t u1 -N 4096 "$1" 2>/dev/null | awk '
        { for (i = 1; i <= NF; i++) b[n++] = $i }
        function u(off, len,   v, i) { v = 0; for (i = len - 1; i >= 0; i--) v = v * 256 + b[off + i]; return v }
        END {
            if (n < 64 || b[0] != 127 || b[1] != 69 || b[2] != 76 || b[3] != 70 || b[4] != 2 || b[5] != 1) exit 1
            phoff = u(32, 8); phentsize = u(54, 2); phnum = u(56, 2)
            if (phoff + phnum * phentsize > n) exit 1
            for (i = 0; i < phnum; i++) if (u(phoff + i * phentsize, 4) == 3) exit 1
            exit 0
        }'
}

# vm_check: 0 if the VM can run here; else 1 with the reason in VM_WHY.
vm_check() {
    VM_WHY=
    if ! command -v "$VM_QEMU" >/dev/null 2>&1; then
        VM_WHY="$VM_QEMU is not installed (Debian package qemu-system-x86)"
        return 1
    fi
    if ! vm_kernel_version; then
        VM_WHY="no kernel in /boot with its modules in /lib/modules (Debian package linux-image-amd64)"
        return 1
    fi
    if [ ! -r "/boot/vmlinuz-$VM_KVER" ]; then
        VM_WHY="/boot/vmlinuz-$VM_KVER is missing or not readable (Debian package linux-image-amd64)"
        return 1
    fi
    if [ ! -r "/lib/modules/$VM_KVER/modules.dep" ]; then
        VM_WHY="/lib/modules/$VM_KVER/modules.dep is missing (Debian package linux-image-$VM_KVER)"
        return 1
    fi
    if [ ! -x "$VM_BUSYBOX" ] || ! vm_is_static "$VM_BUSYBOX"; then
        VM_WHY="$VM_BUSYBOX is missing or not static (Debian package busybox-static)"
        return 1
    fi
    local d
    for d in bin sbin lib; do
        if [ "$(readlink "/$d")" != "usr/$d" ]; then
            VM_WHY="/$d is not a link to usr/$d: the guest shares only the host's /usr and /etc (merged /usr)"
            return 1
        fi
    done
    if [ ! -x /usr/bin/setpriv ]; then
        VM_WHY="/usr/bin/setpriv is missing (Debian package util-linux)"
        return 1
    fi
    return 0
}

# vm_accel: kvm where a real KVM is loaded and usable, else tcg
# (SKIFF_VM_ACCEL overrides).
vm_accel() {
    if [ -n "${SKIFF_VM_ACCEL:-}" ]; then
        echo "$SKIFF_VM_ACCEL"
    elif { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } &&
        [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
        echo kvm
    else
        echo tcg
    fi
}

# vm_cache_dir: the cache directory, made if needed; when it cannot be
# written (the tree is another user's), the user's own cache, or else a
# temporary one (VM_TMP).
vm_cache_dir() {
    local d
    for d in "$VM_CACHE" "${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/skiff-vm" "$VM_TMP/cache"; do
        if mkdir -p "$d" 2>/dev/null && [ -w "$d" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# vm_key WORDS...: a short hash of the words.
vm_key() {
    printf '%s\n' "$@" | sha256sum | cut -c1-16
}

# vm_drop_stale PREFIX KEEP: remove the cached files PREFIX* but KEEP
# (built from inputs that have changed since).
vm_drop_stale() {
    local f
    for f in "$1"*; do
        [ -e "$f" ] && [ "$f" != "$2" ] && rm -f "$f"
    done
    return 0
}

# vm_vmlinux: the kernel unpacked (an ELF with a PVH entry, which boots in
# a fraction of the time of the compressed bzImage under TCG), in
# VM_KERNEL_IMAGE.  Like the kernel's scripts/extract-vmlinux: try each
# place where a compressed stream's magic appears until one unpacks to an
# ELF.  Falls back to the bzImage if none does.
vm_vmlinux() {
    local src=/boot/vmlinuz-$VM_KVER cache key out tmp magic tool off
    cache=$(vm_cache_dir) || return 1
    key=$(vm_key "$(stat -c '%s %Y %i' "$src")")
    out=$cache/vmlinux-$VM_KVER-$key
    if [ -s "$out" ]; then
        VM_KERNEL_IMAGE=$out
        return 0
    fi
    tmp=$(mktemp "$cache/.vmlinux.XXXXXX") || return 1
    VM_PARTIAL=("$tmp")
    # magic (a grep -P pattern) and the decompressor, most likely first.
    for pair in '\xfd7zXZ\x00|xz -dc' '\x1f\x8b\x08|gzip -dc' '\x28\xb5\x2f\xfd|zstd -dcq' \
        '\x02\x21\x4c\x18|lz4 -dc' '\x5d\x00\x00\x00|xz -dc --format=lzma' 'BZh|bzip2 -dc'; do
        magic=${pair%%|*}
        tool=${pair#*|}
        command -v "${tool%% *}" >/dev/null 2>&1 || continue
        for off in $(LC_ALL=C grep -obUaP "$magic" "$src" 2>/dev/null | cut -d: -f1 | head -n 5); do
            # shellcheck disable=SC2086 # tool is a command and its options
            tail -c "+$((off + 1))" "$src" | $tool >"$tmp" 2>/dev/null
            if [ "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
                vm_drop_stale "$cache/vmlinux-$VM_KVER-" "$out"
                mv -f "$tmp" "$out" || return 1
                VM_PARTIAL=()
                VM_KERNEL_IMAGE=$out
                return 0
            fi
        done
    done
    rm -f "$tmp"
    VM_PARTIAL=()
    VM_KERNEL_IMAGE=$src
    return 0
}

# vm_module_order: the modules of VM_MODULES and their dependencies, each
# after what it needs, as paths relative to /lib/modules/VERSION.
vm_module_order() {
    awk -v want="$VM_MODULES" '
        function name(p,   n) {
            n = p; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n); gsub(/-/, "_", n)
            return n
        }
        function load(n,   i, k, d) {
            if (n in done) return
            done[n] = 1
            if (!(n in path)) { missing = missing " " n; return }
            k = split(deps[n], d, " ")
            for (i = k; i >= 1; i--) load(name(d[i]))
            print path[n]
        }
        {
            p = $1; sub(/:$/, "", p)
            n = name(p); path[n] = p
            $1 = ""; deps[n] = $0
        }
        END {
            k = split(want, w, " ")
            for (i = 1; i <= k; i++) { m = w[i]; gsub(/-/, "_", m); load(m) }
            if (missing != "") { print "missing modules:" missing > "/dev/stderr"; exit 1 }
        }' "/lib/modules/$VM_KVER/modules.dep"
}

# vm_initramfs: the initramfs (uncompressed cpio: nothing to unpack under
# TCG) with busybox, its applets in /.vm/bin, the modules (decompressed:
# busybox's insmod may not read .ko.xz) and tests/vm/init, in
# VM_INITRAMFS.  Cached by its inputs.
vm_initramfs() {
    local cache order key out stage m base a
    cache=$(vm_cache_dir) || return 1
    order=$(vm_module_order) || return 1
    key=$(vm_key "$VM_KVER" "$order" "$(cat "$VM_DIR/init")" "$(stat -c '%s %Y %i' "$VM_BUSYBOX")" \
        "$(stat -c '%s %Y' "/lib/modules/$VM_KVER/modules.dep")")
    out=$cache/initramfs-$VM_KVER-$key.cpio
    if [ -s "$out" ]; then
        VM_INITRAMFS=$out
        return 0
    fi
    stage=$(mktemp -d "$cache/.initramfs.XXXXXX") || return 1
    VM_PARTIAL=("$stage" "$stage.cpio")
    if ! { mkdir -p "$stage/.vm/bin" "$stage/modules" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/newroot" &&
        cp "$VM_BUSYBOX" "$stage/.vm/busybox" && install -m 0755 "$VM_DIR/init" "$stage/init"; }; then
        rm -rf "$stage"
        return 1
    fi
    for a in $("$VM_BUSYBOX" --list); do
        ln -s ../busybox "$stage/.vm/bin/$a"
    done
    : >"$stage/modules/order"
    while IFS= read -r m; do
        base=${m##*/}
        case $m in
        *.ko.xz) base=${base%.xz}; xz -dc "/lib/modules/$VM_KVER/$m" >"$stage/modules/$base" ;;
        *.ko.zst) base=${base%.zst}; zstd -dcq "/lib/modules/$VM_KVER/$m" >"$stage/modules/$base" ;;
        *.ko.gz) base=${base%.gz}; gzip -dc "/lib/modules/$VM_KVER/$m" >"$stage/modules/$base" ;;
        *) cp "/lib/modules/$VM_KVER/$m" "$stage/modules/$base" ;;
        esac || { rm -rf "$stage"; return 1; }
        echo "$base" >>"$stage/modules/order"
    done <<<"$order"
    if command -v cpio >/dev/null 2>&1; then
        (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$stage.cpio"
    else
        (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$VM_BUSYBOX" cpio -o -H newc) >"$stage.cpio" 2>/dev/null
    fi || { rm -rf "$stage" "$stage.cpio"; return 1; }
    rm -rf "$stage"
    vm_drop_stale "$cache/initramfs-$VM_KVER-" "$out"
    mv -f "$stage.cpio" "$out" || return 1
    VM_PARTIAL=()
    VM_INITRAMFS=$out
}
