#!/bin/sh
# Builds the test guest: a Debian cloud kernel (unpacked from its package, /boot untouched) and a small initramfs
# with busybox, the virtio modules, e2fsprogs and fio with their libraries, and init.sh as /init.
# Prints two lines: "kernel PATH" and "initramfs PATH". Results are cached under $JBLK_GUEST_CACHE
# (default ~/.cache/jblk-guest), keyed by the kernel package and a hash of the guest files.
#
#   guest/build.sh [--install]
#
# --install installs what is missing with apt-get (qemu-system-x86, busybox-static, e2fsprogs, fio), as jblk-test
# does; without it a missing package is an error that names the package.
set -eu
PATH=$PATH:/usr/sbin:/sbin # e2fsprogs live there; not every caller has them on its PATH
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
cache=${JBLK_GUEST_CACHE:-${HOME:-/root}/.cache/jblk-guest}
install=no
[ "${1:-}" = "--install" ] && install=yes

say() { echo "guest/build.sh: $*" >&2; }
die() { say "$*"; exit 1; }

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
apt_updated=no
apt_update() {
    if [ $apt_updated = no ]; then
        $sudo_cmd apt-get update -q >&2
        apt_updated=yes
    fi
}

need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
dpkg -s busybox-static >/dev/null 2>&1 || need="$need busybox-static"
command -v mkfs.ext4 >/dev/null 2>&1 || need="$need e2fsprogs"
command -v fio >/dev/null 2>&1 || need="$need fio"
if [ -n "$need" ]; then
    [ $install = yes ] || die "missing packages:$need (run with --install, or apt-get install$need)"
    say "installing$need"
    apt_update
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends $need >&2
fi

# The kernel: the package linux-image-cloud-amd64 currently depends on (virtio as modules, fast to boot).
resolve_kernel() {
    kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1)
    kver=${kpkg#linux-image-}
}
resolve_kernel
if [ -z "$kpkg" ]; then
    apt_update
    resolve_kernel
fi
[ -n "$kpkg" ] || die "apt-cache cannot resolve linux-image-cloud-amd64 to a kernel package"

files_hash=$(cat "$here/build.sh" "$here/init.sh" | md5sum | cut -c1-12)
out="$cache/$kver-$files_hash"
if [ -f "$out/initramfs.cpio" ] && [ -f "$out/vmlinuz" ]; then
    touch "$out"
    echo "kernel $out/vmlinuz"
    echo "initramfs $out/initramfs.cpio"
    exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

deb=$(ls "$cache"/debs/"$kpkg"_*.deb 2>/dev/null | head -n 1 || true)
if [ -z "$deb" ]; then
    mkdir -p "$cache/debs"
    say "downloading $kpkg"
    if ! (cd "$cache/debs" && apt-get -o APT::Sandbox::User=root download "$kpkg" >&2); then
        apt_update # stale package lists: the archive may have moved on to another kernel
        resolve_kernel
        out="$cache/$kver-$files_hash"
        (cd "$cache/debs" && apt-get -o APT::Sandbox::User=root download "$kpkg" >&2)
    fi
    deb=$(ls "$cache"/debs/"$kpkg"_*.deb | head -n 1)
fi
dpkg-deb -x "$deb" "$work/kernel"
moddir="$work/kernel/lib/modules/$kver"
[ -d "$moddir" ] || die "$deb has no /lib/modules/$kver"

root="$work/root"
mkdir -p "$root/bin" "$root/sbin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" "$root/mnt" "$root/tmp" \
    "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# Programs with every shared library they load (ldd), at the same paths, plus the dynamic loader.
copy_with_libs() {
    for prog in "$@"; do
        src=$(command -v "$prog") || die "$prog not found"
        cp -L "$src" "$root/sbin/$prog"
        for lib in $(ldd "$src" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
            if [ ! -e "$root$lib" ]; then
                mkdir -p "$root$(dirname "$lib")"
                cp -L "$lib" "$root$lib"
            fi
        done
    done
}
copy_with_libs mke2fs e2fsck fio
ln -sf mke2fs "$root/sbin/mkfs.ext4"

# virtio-blk over PCI and what it needs, in load order (dependencies from each module's modinfo, depth first).
order=""
add_module() {
    local name file deps d
    name=$1
    case " $order " in *" $name "*) return ;; esac
    file=$(find "$moddir/kernel" -name "$name.ko" | head -n 1)
    [ -n "$file" ] || die "module $name not in $kpkg"
    deps=$(grep -a -o 'depends=[a-z0-9_,-]*' "$file" | head -n 1 | sed 's/depends=//; s/,/ /g')
    for d in $deps; do add_module "$d"; done
    cp "$file" "$root/lib/modules/$name.ko"
    order="$order $name"
}
for m in virtio virtio_ring virtio_pci virtio_blk; do
    if grep -q "/$m.ko\$" "$moddir/modules.builtin"; then continue; fi
    add_module "$m"
done
echo "$order" | tr ' ' '\n' | sed '/^$/d' > "$root/lib/modules/order"

cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
mkdir -p "$out.tmp"
cp "$work/kernel/boot/vmlinuz-$kver" "$out.tmp/vmlinuz"
# Uncompressed: the kernel unpacks it faster under TCG than it would decompress it.
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) > "$out.tmp/initramfs.cpio"
rm -rf "$out"
mv "$out.tmp" "$out"
# builds of earlier guest files, once unused for a day (another checkout may still boot its own)
find "$cache" -maxdepth 1 -name "$kver-*" ! -name "$(basename "$out")" -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
say "built $out ($(du -sh "$out/initramfs.cpio" | cut -f1) initramfs, modules:$order)"
echo "kernel $out/vmlinuz"
echo "initramfs $out/initramfs.cpio"
