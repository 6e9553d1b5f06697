#!/bin/sh
# Boots the test guest (guest/build.sh) in QEMU with one virtio-blk disk and runs a workload in it; the console goes
# to stdout (and to --log FILE). Exit status 0 when the guest printed "JBLK: DONE" and no "JBLK: FAIL".
#
#   guest/boot.sh --socket SOCK [--reconnect] [--queues N] ...   disk = vhost-user-blk-pci on a back-end's socket
#   guest/boot.sh --image FILE --format FMT ...                  disk = QEMU's own virtio-blk (aio=io_uring,cache=none)
#
# Options: --workload ext4|fio|probe (default ext4), --fio 'ARGS' (for fio: fio options, commas for spaces),
#          --smp N (default 2), --queues N (default = smp), --mem SIZE (default 512M), --timeout SECONDS (540),
#          --accel auto|kvm|tcg (default auto: KVM only if a probe boot with KVM succeeds), --log FILE (the
#          console, written while the guest runs), --reconnect (QEMU reconnects when the back-end restarts).
# Guest RAM is a shared memfd (memory-backend-memfd,share=on), which vhost-user needs.
set -eu
PATH=$PATH:/usr/sbin:/sbin # e2fsprogs live there; not every caller has them on its PATH
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
cache=${JBLK_GUEST_CACHE:-${HOME:-/root}/.cache/jblk-guest}
socket="" image="" format="" reconnect="" workload=ext4 fio="" smp=2 queues="" mem=512M timeout=540 accel=auto log=""
while [ $# -gt 0 ]; do
    case $1 in
        --socket) socket=$2; shift ;;
        --reconnect) reconnect=",reconnect=1" ;;
        --image) image=$2; shift ;;
        --format) format=$2; shift ;;
        --workload) workload=$2; shift ;;
        --fio) fio=$2; shift ;;
        --smp) smp=$2; shift ;;
        --queues) queues=$2; shift ;;
        --mem) mem=$2; shift ;;
        --timeout) timeout=$2; shift ;;
        --accel) accel=$2; shift ;;
        --log) log=$2; shift ;;
        *) echo "guest/boot.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$queues" ] || queues=$smp
say() { echo "guest/boot.sh: $*" >&2; }

set -- $("$here/build.sh")
kernel=$2
initramfs=$4

# KVM where it works: /dev/kvm may open yet be unable to run this kernel (a nested software hypervisor), so a
# short probe boot decides, once per host boot.
probe_kvm() {
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "no usable /dev/kvm"; return 1; }
    bootid=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
    verdict="$cache/kvm-probe-$bootid"
    if [ ! -f "$verdict" ]; then
        mkdir -p "$cache"
        if timeout 60 qemu-system-x86_64 -accel kvm -cpu host -m 256M -nodefaults -display none -serial stdio \
                -no-reboot -kernel "$kernel" -initrd "$initramfs" \
                -append "console=ttyS0 quiet panic=-1 no_timer_check jblk.workload=probe" 2>&1 | grep -q "JBLK: DONE"; then
            echo ok > "$verdict"
        else
            echo "probe boot with KVM did not reach /init" > "$verdict"
        fi
    fi
    [ "$(cat "$verdict")" = ok ] || { cat "$verdict"; return 1; }
}
case $accel in
    kvm) accel_opts="-accel kvm -cpu host"; say "accelerator: kvm (requested)" ;;
    tcg) accel_opts="-accel tcg -cpu max"; say "accelerator: tcg (requested)" ;;
    auto)
        if why=$(probe_kvm); then
            accel_opts="-accel kvm -cpu host"; say "accelerator: kvm (probe boot succeeded)"
        else
            accel_opts="-accel tcg -cpu max"; say "accelerator: tcg ($why)"
        fi ;;
    *) say "--accel must be auto, kvm or tcg"; exit 2 ;;
esac

if [ -n "$socket" ]; then
    disk="-chardev socket,id=vhost0,path=$socket$reconnect -device vhost-user-blk-pci,chardev=vhost0,num-queues=$queues"
elif [ -n "$image" ]; then
    disk="-blockdev driver=file,node-name=file0,filename=$image,cache.direct=on,aio=io_uring"
    disk="$disk -blockdev driver=${format:-raw},node-name=disk0,file=file0,cache.direct=on,discard=unmap"
    disk="$disk -device virtio-blk-pci,drive=disk0,num-queues=$queues"
else
    say "need --socket SOCK or --image FILE"; exit 2
fi

# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail and panic the boot
append="console=ttyS0 quiet panic=-1 no_timer_check jblk.workload=$workload"
[ -z "$fio" ] || append="$append jblk.fio=$fio"
if [ -n "$log" ]; then
    out=$log # written as the guest runs, so a caller can follow it
    : > "$out"
else
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
fi
# shellcheck disable=SC2086
timeout "$timeout" qemu-system-x86_64 $accel_opts -machine q35,memory-backend=mem -smp "$smp" -m "$mem" \
    -object memory-backend-memfd,id=mem,size="$mem",share=on \
    -nodefaults -display none -serial stdio -no-reboot \
    -kernel "$kernel" -initrd "$initramfs" -append "$append" $disk < /dev/null > "$out" 2>&1 &
qemu=$!
tail -f "$out" --pid=$qemu &
status=0
wait $qemu || status=$?
sleep 0.2
if [ $status -eq 124 ]; then
    say "timed out after $timeout s"; exit 1
fi
if grep -q "JBLK: FAIL" "$out" || ! grep -q "JBLK: DONE" "$out"; then
    say "workload $workload failed (qemu exit status $status)"; exit 1
fi
say "workload $workload passed"
