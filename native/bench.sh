#!/bin/sh
# 4 KiB random I/O at iodepth 16 with O_DIRECT on a 1 GiB file: fio vs jblk io_uring vs jblk threads, two
# interleaved rounds per workload (docs/native-io.md). Usage: native/bench.sh DIR  (DIR on the file system to test)
# Needs: mvn -B -o -q -pl native -am test-compile, fio, a JDK 25 in $JAVA25 (default Temurin's path).
set -e
dir=${1:?usage: native/bench.sh DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
J=${JAVA25:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}
CP=$repo/native/target/classes:$repo/native/target/test-classes
cd "$dir"
[ -f bench.img ] || fio --name=layout --filename=bench.img --size=1G --rw=write --bs=1M --direct=1 --ioengine=io_uring --iodepth=4 >/dev/null
date -u; uname -r; nproc; grep -m1 "model name" /proc/cpuinfo
for rw in randread randwrite; do
  for round in 1 2; do
    echo "== $rw round $round loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "fio io_uring iodepth=16:"
    fio --name=b --filename=bench.img --ioengine=io_uring --direct=1 --bs=4k --iodepth=16 --rw=$rw --size=1G --runtime=10 --time_based | grep -E "IOPS=|cpu  "
    echo "fio psync numjobs=16:"
    fio --name=b --filename=bench.img --ioengine=psync --numjobs=16 --group_reporting --direct=1 --bs=4k --rw=$rw --size=1G --runtime=10 --time_based | grep -E "IOPS=|cpu  "
    "$J" --enable-native-access=ALL-UNNAMED -cp "$CP" io.jblk.nativeio.HostFileBench bench.img io_uring $rw 10 16 direct
    "$J" --enable-native-access=ALL-UNNAMED -cp "$CP" io.jblk.nativeio.HostFileBench bench.img threads $rw 10 16 direct
  done
done
