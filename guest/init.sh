#!/bin/sh
# /init of the jblk test guest (busybox sh). Loads the virtio modules, runs the workload named on the kernel
# command line (jblk.workload=...), reports on the console in lines starting "JBLK: " and powers off.
# The host (guest/boot.sh) reads those lines: "JBLK: DONE" ends a passing run, "JBLK: FAIL ..." a failing one.
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

say() { echo "JBLK: $*"; }
finish() { sync; poweroff -f; sleep 10; }
fail() { say "FAIL $*"; finish; }

workload=none
dev=/dev/vda
for word in $(cat /proc/cmdline); do
    case $word in
        jblk.workload=*) workload=${word#*=} ;;
        jblk.dev=*) dev=${word#*=} ;;
        jblk.fio=*) fioargs=$(echo "${word#*=}" | tr ',' ' ') ;;
    esac
done

if [ "$workload" = probe ]; then
    say DONE # the accelerator can run this kernel; nothing else to do
    finish
fi

for m in $(cat /lib/modules/order); do
    insmod "/lib/modules/$m.ko" || fail "insmod $m"
done
n=0
while [ ! -b "$dev" ]; do
    n=$((n + 1))
    [ $n -gt 100 ] && fail "no block device $dev after 10 s"
    sleep 0.1
done
say "BOOTED $(cat /proc/uptime | cut -d' ' -f1) s, $dev $(cat /sys/block/${dev#/dev/}/size) sectors, queues $(ls /sys/block/${dev#/dev/}/mq | wc -l)"

# Interrupt counts of the request queues (MSI-X vector per queue): proof that I/O went through each of them.
irqs() {
    grep -E 'virtio[0-9]+-req' /proc/interrupts | while read -r irq c0 c1 rest; do
        echo "$rest" | grep -q . && say "IRQ ${rest##* } $((c0 + ${c1:-0}))"
    done
}

ext4_workload() {
    mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4"
    mount -t ext4 "$dev" /mnt || fail "mount"
    mkdir /mnt/small
    for i in 1 2 3; do
        dd if=/dev/urandom of=/mnt/big$i bs=64k count=32 conv=fsync 2>/dev/null || fail "dd big$i"
    done
    i=0
    while [ $i -lt 150 ]; do
        head -c $((i * 97 + 1)) /dev/urandom > /mnt/small/f$i || fail "small file $i"
        i=$((i + 1))
    done
    sync
    rm /mnt/big2 /mnt/small/f1*
    # O_DIRECT random writes with verification, one job per vCPU so both request queues carry I/O.
    fio --output-format=terse --terse-version=3 --ioengine=libaio --direct=1 --bs=4k --iodepth=8 \
        --rw=randwrite --verify=crc32c --verify_fatal=1 --size=4M \
        --name=q0 --filename=/mnt/fio0 --cpus_allowed=0 \
        --name=q1 --filename=/mnt/fio1 --cpus_allowed=1 > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "fio"; }
    say "FIO ok"
    rm /mnt/fio1
    sync
    fstrim -v /mnt | sed 's/^/JBLK: FSTRIM /' || fail "fstrim"
    umount /mnt || fail "umount"
    e2fsck -fn "$dev" > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck in the guest"; }
    say "E2FSCK clean"
    mount -t ext4 -o ro "$dev" /mnt || fail "mount read-only"
    (cd /mnt && find . -type f | sort | while read -r f; do say "MD5 $(md5sum "$f")"; done)
    umount /mnt || fail "umount read-only"
    irqs
}

# Files written one by one with fsync, each reported once durable, so the host can kill the back-end in the middle
# and check afterwards that every reported file survived; then the same checks as ext4_workload.
crash_workload() {
    mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4"
    mount -t ext4 "$dev" /mnt || fail "mount"
    mkdir /mnt/d
    # O_DIRECT random writes in the background keep requests in flight whenever the back-end dies
    fio --name=bg --filename=/mnt/bg --size=8M --rw=randwrite --bs=4k --direct=1 --ioengine=libaio \
        --iodepth=16 --time_based --runtime=3600 > /tmp/bg.out 2>&1 &
    bg=$!
    i=0
    while [ $i -lt 40 ]; do
        dd if=/dev/urandom of=/mnt/d/f$i bs=4k count=$((16 + i)) conv=fsync 2>/dev/null || fail "dd f$i"
        say "SYNCED ./d/f$i $(md5sum < /mnt/d/f$i | cut -d' ' -f1)"
        i=$((i + 1))
    done
    kill -INT $bg
    wait $bg # interrupted on purpose: its exit status says so; an I/O error shows as a non-zero err=
    if grep -qE 'err= *[1-9]' /tmp/bg.out; then cat /tmp/bg.out; fail "background fio saw an I/O error"; fi
    grep -q 'err=' /tmp/bg.out || { cat /tmp/bg.out; fail "background fio did not report"; }
    umount /mnt || fail "umount"
    e2fsck -fn "$dev" > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck in the guest"; }
    say "E2FSCK clean"
    mount -t ext4 -o ro "$dev" /mnt || fail "mount read-only"
    (cd /mnt && find . -type f | sort | while read -r f; do say "MD5 $(md5sum "$f")"; done)
    umount /mnt || fail "umount read-only"
}

# fio on the raw device with the arguments from jblk.fio= (commas for spaces); prints fio's JSON.
fio_workload() {
    # shellcheck disable=SC2086
    fio --output-format=json --filename="$dev" $fioargs > /tmp/fio.json 2>&1 || { cat /tmp/fio.json; fail "fio"; }
    echo "JBLK-JSON-BEGIN"
    cat /tmp/fio.json
    echo "JBLK-JSON-END"
}

case $workload in
    ext4) ext4_workload ;;
    crash) crash_workload ;;
    fio) fio_workload ;;
    *) fail "unknown workload '$workload'" ;;
esac
say "DONE $(cut -d" " -f1 /proc/uptime) s"
finish
