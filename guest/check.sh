#!/bin/sh
# Host-side checks after guest/boot.sh ran the ext4 workload on IMAGE (the back-end stopped, the image closed):
# qemu-img check is clean, the image converted to raw passes e2fsck -fn, and every file the guest listed with
# "JBLK: MD5 sum path" has the same md5 on the host (read out of the converted image with debugfs).
#
#   guest/check.sh IMAGE CONSOLE_LOG [FORMAT]      (FORMAT defaults to qcow2)
set -eu
PATH=$PATH:/usr/sbin:/sbin # e2fsprogs live there; not every caller has them on its PATH
image=$1 log=$2 format=${3:-qcow2}
say() { echo "guest/check.sh: $*" >&2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/jblk-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$format" = qcow2 ]; then
    qemu-img check -q "$image" || { say "qemu-img check $image is not clean"; qemu-img check "$image" >&2; exit 1; }
    say "qemu-img check clean"
fi
qemu-img convert -f "$format" -O raw "$image" "$work/disk.raw"
e2fsck -fn "$work/disk.raw" > "$work/fsck.out" 2>&1 || { cat "$work/fsck.out" >&2; say "host e2fsck not clean"; exit 1; }
say "host e2fsck clean"

grep '^JBLK: MD5 ' "$log" | tr -d '\r' | while read -r _ _ sum path; do
    path=${path#.}
    debugfs -R "dump -p $path $work/file" "$work/disk.raw" > /dev/null 2>&1 || { say "debugfs cannot read $path"; exit 1; }
    host=$(md5sum "$work/file" | cut -d' ' -f1)
    if [ "$host" != "$sum" ]; then
        say "md5 of $path: guest $sum, host $host"
        exit 1
    fi
    rm -f "$work/file"
done
count=$(grep -c '^JBLK: MD5 ' "$log" || true)
[ "$count" -gt 0 ] || { say "the guest listed no files"; exit 1; }
say "$count guest md5s equal the host's"
