#!/bin/sh
# Three back-ends side by side under the same guest, the same fio and the same VMM (QEMU 7.2): jblk's vhost-user-blk
# export, qemu-storage-daemon's vhost-user-blk export, and QEMU's built-in virtio-blk (aio=io_uring, cache=none).
# Each run: a new qcow2 overlay with extended L2 entries over a fully written raw backing file, one guest boot,
# fio on /dev/vda inside the guest (4 KiB, O_DIRECT, libaio), time-based.
#
#   bench/guest.sh [DIR]
#
# Environment: CLUSTERS (default "128k 2M"), WORKLOADS ("randwrite randread"), DEPTHS ("1 16"), REPS (2: A B A B),
# SECS (fio run time in the guest, 15), BACKING (backing file size, 1G), BACKENDS ("jblk qsd builtin"),
# SMP (guest vCPUs, 2), ACCEL (auto|kvm|tcg, auto).
# Writes DIR/results.tsv (one line per run) and prints a summary table of medians.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname "$here")
dir=${1:-/tmp/jblk-guest-bench}
CLUSTERS=${CLUSTERS:-"128k 2M"}
WORKLOADS=${WORKLOADS:-"randwrite randread"}
DEPTHS=${DEPTHS:-"1 16"}
REPS=${REPS:-2}
SECS=${SECS:-15}
BACKING=${BACKING:-1G}
BACKENDS=${BACKENDS:-"jblk qsd builtin"}
SMP=${SMP:-2}
ACCEL=${ACCEL:-auto}
mkdir -p "$dir"
results="$dir/results.tsv"
[ -f "$results" ] || printf 'backend\tcluster\tworkload\tdepth\trep\tiops\tp99_us\tload\n' > "$results"

if [ ! -f "$dir/base.raw" ] || [ "$(stat -c %s "$dir/base.raw")" != "$(numfmt --from=iec "$BACKING")" ]; then
    echo "bench/guest.sh: writing the $BACKING backing file" >&2
    qemu-img create -q -f raw "$dir/base.raw" "$BACKING"
    qemu-io -f raw -c "write -P 0x5a 0 $BACKING" "$dir/base.raw" > /dev/null
fi
[ -x "$root/cli/target/lib/jblk-cli.jar" ] || [ -d "$root/cli/target/lib" ] || (cd "$root" && ./jblk --help > /dev/null)

start_backend() { # backend image socket -> pid on stdout
    case $1 in
        jblk)
            "$root/jblk" serve --vhost-user -k "$3" -f qcow2 --cache none --aio io_uring "$2" > "$dir/backend.log" 2>&1 &
            echo $! ;;
        qsd)
            qemu-storage-daemon \
                --blockdev driver=file,node-name=bfile,filename="$dir/base.raw",cache.direct=on,aio=io_uring \
                --blockdev driver=raw,node-name=base,file=bfile \
                --blockdev driver=file,node-name=file0,filename="$2",cache.direct=on,aio=io_uring \
                --blockdev driver=qcow2,node-name=disk0,file=file0,backing=base,cache.direct=on \
                --export type=vhost-user-blk,id=e0,node-name=disk0,addr.type=unix,addr.path="$3",writable=on,num-queues=1 \
                > "$dir/backend.log" 2>&1 &
            echo $! ;;
    esac
}

pid=""
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true' EXIT # a failed run must not leave its back-end serving

run_one() { # backend cluster workload depth rep
    img="$dir/disk.qcow2"
    sock="$dir/vhost.sock"
    rm -f "$img" "$sock"
    qemu-img create -q -f qcow2 -o "extended_l2=on,cluster_size=$2" -b "$dir/base.raw" -F raw "$img"
    fio="--name=bench,--rw=$3,--bs=4k,--iodepth=$4,--ioengine=libaio,--direct=1,--time_based,--runtime=$SECS"
    fio="$fio,--ramp_time=2,--randrepeat=0,--norandommap"
    pid=""
    if [ "$1" = builtin ]; then
        disk="--image $img --format qcow2"
    else
        pid=$(start_backend "$1" "$img" "$sock")
        n=0
        while [ ! -S "$sock" ]; do
            n=$((n + 1)); [ $n -lt 300 ] || { echo "bench/guest.sh: $1 did not listen" >&2; cat "$dir/backend.log" >&2; exit 1; }
            sleep 0.1
        done
        disk="--socket $sock"
    fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    # shellcheck disable=SC2086
    "$root/guest/boot.sh" $disk --queues 1 --smp "$SMP" --accel "$ACCEL" --workload fio --fio "$fio" \
        --log "$dir/console.log" > /dev/null 2>> "$dir/boot.err" || { tail -30 "$dir/console.log" >&2; exit 1; }
    [ -z "$pid" ] || { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
    sed -n '/JBLK-JSON-BEGIN/,/JBLK-JSON-END/p' "$dir/console.log" | sed '1d;$d' | tr -d '\r' > "$dir/fio.json"
    line=$(python3 - "$dir/fio.json" "$3" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
side = job["write" if "write" in sys.argv[2] else "read"]
p99 = side["clat_ns"]["percentile"]["99.000000"] / 1000.0
print(f"{side['iops']:.0f}\t{p99:.0f}")
PY
)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$line" "$load" | tee -a "$results"
}

for cluster in $CLUSTERS; do
    for workload in $WORKLOADS; do
        for depth in $DEPTHS; do
            rep=1
            while [ $rep -le "$REPS" ]; do
                for backend in $BACKENDS; do
                    run_one "$backend" "$cluster" "$workload" "$depth" "$rep"
                done
                rep=$((rep + 1))
            done
        done
    done
done
grep -o 'accelerator: .*' "$dir/boot.err" | sort | uniq -c >&2
python3 - "$results" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cells = {}
for r in rows:
    cells.setdefault((r["cluster"], r["workload"], r["depth"]), {}).setdefault(r["backend"], []).append(r)
backends = ["jblk", "qsd", "builtin"]
print("| cluster | workload | QD | " + " | ".join(f"{b} IOPS | {b} p99 us" for b in backends) + " |")
print("|" + "---|" * (3 + 2 * len(backends)))
for (c, w, d), by in sorted(cells.items()):
    out = [c, w, d]
    for b in backends:
        rs = by.get(b, [])
        out.append(f"{statistics.median(float(r['iops']) for r in rs):.0f}" if rs else "-")
        out.append(f"{statistics.median(float(r['p99_us']) for r in rs):.0f}" if rs else "-")
    print("| " + " | ".join(out) + " |")
PY
