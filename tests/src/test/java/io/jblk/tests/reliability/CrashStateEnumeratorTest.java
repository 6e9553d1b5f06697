package io.jblk.tests.reliability;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CrashStateEnumeratorTest {
    private static final Path F = Path.of("/x/disk.img");

    /** w0 w1 flush(covers w0,w1) w2(3 sectors) w3 — built by hand so the expected sets are known. */
    private static List<HostOpLog.Entry> log() {
        HostOpLog log = new HostOpLog();
        log.append(new HostOp.Write(F, 0, new byte[512]));
        log.append(new HostOp.Write(F, 512, new byte[512]));
        long issued = log.tick();
        log.append(new HostOp.Flush(F, issued));
        log.append(new HostOp.Write(F, 4096, new byte[1536]));
        log.append(new HostOp.Write(F, 8192, new byte[512]));
        return log.entries();
    }

    @Test
    void everyPrefixAndTornWritesAndOnlySubsetsOfUnflushedOps() {
        List<CrashState> states = new CrashStateEnumerator(log(), CrashStateEnumerator.Limits.fast(),
                new SplittableRandom(42)).all();
        long prefixes = states.stream().filter(s -> s.kind() == CrashState.Kind.PREFIX).count();
        assertEquals(6, prefixes, "crash after 0..5 entries");
        long tornPrefixes = states.stream().filter(s -> s.kind() == CrashState.Kind.TORN_PREFIX).count();
        assertEquals(2, tornPrefixes, "w2 has 3 sectors: torn after 1 and after 2");
        Set<String> keys = new HashSet<>();
        for (CrashState s : states) {
            assertTrue(keys.add(s.crashPoint() + ":" + s.applied() + ":" + s.tornSectors()), "no duplicates: " + s);
            if (s.crashPoint() >= 3) {
                assertTrue(s.applied().containsAll(List.of(0, 1)), "flushed writes are in every later state: " + s);
            }
            for (int i : s.applied()) {
                assertTrue(i < s.crashPoint(), "nothing after the crash point: " + s);
            }
        }
        assertTrue(states.stream().anyMatch(s -> s.crashPoint() == 5 && s.applied().equals(List.of(0, 1, 4))),
                "w3 without w2 (reordering across the unflushed epoch) is sampled");
    }

    @Test
    void sameSeedSameStates() {
        List<CrashState> a = new CrashStateEnumerator(log(), CrashStateEnumerator.Limits.fast(),
                new SplittableRandom(7)).all();
        List<CrashState> b = new CrashStateEnumerator(log(), CrashStateEnumerator.Limits.fast(),
                new SplittableRandom(7)).all();
        assertEquals(a, b);
    }

    @Test
    void tornWriteKeepsOnlyItsChosenSectors() {
        List<HostOpLog.Entry> log = log();
        java.util.BitSet torn = new java.util.BitSet();
        torn.set(1);
        CrashState state = new CrashState(4, Long.MAX_VALUE, List.of(0, 1, 3), torn, CrashState.Kind.TORN_PREFIX);
        SparseBytes base = new SparseBytes();
        base.write(0, filled(16384, 9), 0, 16384);
        List<HostOpLog.Entry> withData = new ArrayList<>(log);
        withData.set(3, new HostOpLog.Entry(log.get(3).time(), new HostOp.Write(F, 4096, filled(1536, 5))));
        SparseBytes out = new CrashStateMaterializer(Map.of(F, base), withData).contents(state).get(F);
        assertEquals(9, out.read(4096, 1)[0], "sector 0 of the torn write did not land");
        assertEquals(5, out.read(4608, 1)[0], "sector 1 did");
        assertEquals(9, out.read(5120, 1)[0], "sector 2 did not");
        assertEquals(0, out.read(0, 1)[0], "w0 (zeros) landed");
    }

    private static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }
}
