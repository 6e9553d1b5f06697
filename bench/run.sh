#!/bin/sh
# jblk vs QEMU, side by side on the same machine, same images, same client.
#   bench/run.sh quick [DIR]   a few cells, seconds each (about 3-5 minutes on 2 cores)
#   bench/run.sh full  [DIR]   every cluster size 16k..2M x extended_l2 on/off x backing/none
# DIR (default /tmp/jblk-bench) holds the images; results go to DIR/results.tsv and the report to DIR/report.md and
# DIR/inproc.svg (bench/report.py). Sections can be chosen with SECTIONS="inproc reads nbd" (default: all three).
# Every measurement alternates the tools (A B A B ...) on fresh images; the report takes medians.
set -eu
mode=${1:-quick}
dir=${2:-/tmp/jblk-bench}
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname "$here")
java=${JBLK_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
lib=${JBLK_LIB:-$root/cli/target/lib}
[ -d "$lib" ] || (cd "$root" && mvn -B -q -pl cli -am package -DskipTests)
jblk() { "$java" --enable-native-access=ALL-UNNAMED -cp "$lib/*" io.jblk.cli.Main "$@"; }
sections=${SECTIONS:-inproc reads nbd}

case "$mode" in
quick)
    clusters="64k 2M"; l2s="on off"; backings="none raw"; reps=2; count=20000; size=2G; secs=5 ;;
full)
    clusters="16k 32k 64k 128k 256k 512k 1M 2M"; l2s="on off"; backings="none raw"; reps=3; count=60000
    size=4G; secs=15 ;;
*) echo "usage: $0 quick|full [DIR]" >&2; exit 2 ;;
esac

reps=${REPS:-$reps}; count=${COUNT:-$count}; secs=${SECS:-$secs}; clusters=${CLUSTERS:-$clusters}
mkdir -p "$dir"
out="$dir/results.tsv"
: > "$out"
{
    echo "# date	$(date -u +%Y-%m-%dT%H:%MZ)"
    echo "# kernel	$(uname -r)"
    echo "# cpus	$(nproc)	$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "# mode	$mode	reps $reps	count $count	size $size	seconds $secs"
    echo "# fs	$(df -T "$dir" | awk 'NR==2{print $2}')"
    echo "# qemu	$(qemu-img --version | head -1)"
} >> "$out"
bytes() { numfmt --from=iec "$(echo "$1" | tr 'kmgt' 'KMGT')"; }
used() { du -B1 "$1" | cut -f1; } # bytes the image occupies on the host (qemu-img's actual-size)
loadavg() { cut -d' ' -f1 /proc/loadavg; }

backing="$dir/backing.raw"
if [ ! -f "$backing.done" ] || [ "$(stat -c %s "$backing")" != "$(bytes $size)" ]; then
    echo "writing the fully populated raw backing file ($size)" >&2
    rm -f "$backing"
    fio --name=fill --filename="$backing" --rw=write --bs=1M --size="$size" --buffer_pattern=0xa5 \
        --end_fsync=1 > /dev/null
    touch "$backing.done"
fi

# create TOOL IMAGE CLUSTER L2 BACKING: a fresh overlay created by that tool
create() {
    opts="cluster_size=$3,extended_l2=$4"
    rm -f "$2"
    if [ "$5" = raw ]; then set -- "$1" "$2" "$3" "$4" "-b $backing -F raw"; else set -- "$1" "$2" "$3" "$4" ""; fi
    if [ "$1" = jblk ]; then
        # shellcheck disable=SC2086
        jblk create -q -f qcow2 -o "$opts" $5 "$2" "$size" > /dev/null
    else
        # shellcheck disable=SC2086
        qemu-img create -q -f qcow2 -o "$opts" $5 "$2" "$size"
    fi
}

# --- 1. in process: jblk bench vs qemu-img bench, sequential stride cluster + 4 KiB so every write allocates
if echo "$sections" | grep -q inproc; then
for cs in $clusters; do
    stride=$(( $(bytes $cs) + 4096 ))
    n=$(( $(bytes $size) / stride )); [ "$n" -gt "$count" ] && n=$count
    for l2 in $l2s; do
        for b in $backings; do
            for r in $(seq "$reps"); do
                for tool in jblk qemu; do
                    img="$dir/w-$tool.qcow2"
                    create $tool "$img" "$cs" "$l2" "$b"
                    sync
                    la=$(loadavg)
                    if [ $tool = jblk ]; then
                        iops=$(jblk bench -w -c "$n" -d 8 -s 4k -S "$stride" -f qcow2 "$img" | sed -n 's/^\([0-9]*\) IOPS.*/\1/p')
                    else
                        t=$(qemu-img bench -w -c "$n" -d 8 -s 4k -S "$stride" -f qcow2 "$img" | sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p')
                        iops=$(echo "$n $t" | awk '{printf "%d", $1 / $2}')
                    fi
                    printf 'inproc\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cs" "$l2" "$b" "$tool" "$r" "$iops" "$(used "$img")" "$la" >> "$out"
                    echo "inproc $cs l2=$l2 backing=$b $tool #$r: $iops IOPS ($n writes, load $la)" >&2
                done
            done
        done
    done
done
fi

# --- 2. random 4 KiB reads of allocated data: jblk bench --random -t none vs fio io_uring O_DIRECT on the raw file
if echo "$sections" | grep -q reads; then
img="$dir/r.qcow2"
rm -f "$img"
qemu-img convert -f raw -O qcow2 -o cluster_size=64k "$backing" "$img" # every cluster allocated
n=$(( 60000 * secs )) # about as long as fio runs: both sides are measured over seconds
for r in $(seq "$reps"); do
    la=$(loadavg)
    iops=$(fio --name=r --filename="$backing" --ioengine=io_uring --direct=1 --rw=randread --bs=4k --iodepth=16 \
        --runtime="$secs" --time_based --output-format=terse --terse-version=3 | awk -F';' 'NF > 50 {print $8}')
    printf 'reads\traw-file\t-\t-\tfio\t%s\t%s\t-\t%s\n' "$r" "$iops" "$la" >> "$out"
    echo "reads fio raw #$r: $iops IOPS" >&2
    for fmt in raw qcow2; do
        f=$backing; [ $fmt = qcow2 ] && f=$img
        la=$(loadavg)
        iops=$(jblk bench --random -c "$n" -d 16 -s 4k -t none -n -f $fmt "$f" | sed -n 's/^\([0-9]*\) IOPS.*/\1/p')
        printf 'reads\t%s\t-\t-\tjblk\t%s\t%s\t-\t%s\n' "$fmt" "$r" "$iops" "$la" >> "$out"
        echo "reads jblk $fmt #$r: $iops IOPS" >&2
    done
done
fi

# --- 3. through NBD: qemu-nbd --cache=none --aio=io_uring vs jblk serve --cache none, same fio nbd client
if echo "$sections" | grep -q nbd; then
sock="$dir/nbd.sock"
serve() { # TOOL IMAGE: starts the server in the background, waits for the socket
    rm -f "$sock"
    if [ "$1" = jblk ]; then
        # exec: $! must be the server itself so that stop ends it (and its image locks)
        (exec "$java" --enable-native-access=ALL-UNNAMED -cp "$lib/*" io.jblk.cli.Main serve -t -f qcow2 --cache none \
            -k "$sock" "$2" > "$dir/serve.log" 2>&1) &
    else
        (exec qemu-nbd -t -f qcow2 --cache=none --aio=io_uring -k "$sock" "$2" > "$dir/serve.log" 2>&1) &
    fi
    pid=$!
    i=0; while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
fio_nbd() { # RW: prints IOPS
    fio --name=n --ioengine=nbd --uri="nbd+unix:///?socket=$sock" --rw="$1" --bs=4k --iodepth=16 --size="$size" \
        --runtime="$secs" --time_based --output-format=terse --terse-version=3 | \
        awk -F';' -v rw="$1" 'NF > 50 {print (rw == "randread") ? $8 : $49}'
}
nbd_clusters="64k"; [ "$mode" = full ] && nbd_clusters=$clusters
for cs in $nbd_clusters; do
    for l2 in $l2s; do
        for b in $backings; do
            for r in $(seq "$reps"); do
                for tool in jblk qemu; do
                    img="$dir/n-$tool.qcow2"
                    create $tool "$img" "$cs" "$l2" "$b"
                    serve $tool "$img"
                    la=$(loadavg)
                    w=$(fio_nbd randwrite)
                    rd=$(fio_nbd randread) # reads what this run wrote plus, with a backing file, the backing data
                    stop
                    printf 'nbd-write\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cs" "$l2" "$b" "$tool" "$r" "$w" "$(used "$img")" "$la" >> "$out"
                    printf 'nbd-read\t%s\t%s\t%s\t%s\t%s\t%s\t-\t%s\n' "$cs" "$l2" "$b" "$tool" "$r" "$rd" "$la" >> "$out"
                    echo "nbd $cs l2=$l2 backing=$b $tool #$r: write $w read $rd IOPS" >&2
                done
            done
        done
    done
done
fi

python3 "$here/report.py" "$out" "$dir"
