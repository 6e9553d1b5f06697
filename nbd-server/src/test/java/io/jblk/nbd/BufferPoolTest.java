package io.jblk.nbd;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BufferPoolTest {
    @Test
    void smallBuffersAreReusedAlignedAndExactlySized() {
        try (BufferPool pool = new BufferPool()) {
            BufferPool.Buffer a = pool.take(5000);
            assertEquals(5000, a.segment().byteSize());
            assertEquals(8192, a.whole().byteSize(), "rounded up to its size class");
            assertEquals(0, a.segment().address() % 4096);
            assertNull(a.own());
            pool.release(a);
            BufferPool.Buffer b = pool.take(6000);
            assertEquals(a.whole().address(), b.whole().address(), "same class reuses the freed buffer");
            BufferPool.Buffer c = pool.take(512);
            assertEquals(4096, c.whole().byteSize());
        }
    }

    @Test
    void largeBuffersAndBuffersPastTheCapGetTheirOwnArena() {
        try (BufferPool pool = new BufferPool()) {
            BufferPool.Buffer big = pool.take(BufferPool.MAX_POOLED + 1);
            assertNotNull(big.own());
            pool.release(big);
            assertTrue(!big.own().scope().isAlive(), "released at once");
            List<BufferPool.Buffer> held = new ArrayList<>();
            long n = BufferPool.POOL_CAP / BufferPool.MAX_POOLED;
            for (int i = 0; i < n; i++) {
                held.add(pool.take(BufferPool.MAX_POOLED));
            }
            assertTrue(held.stream().allMatch(b -> b.own() == null));
            BufferPool.Buffer over = pool.take(BufferPool.MAX_POOLED);
            assertNotNull(over.own(), "the pool never grows past its cap");
            held.forEach(pool::release);
            pool.release(over);
        }
    }
}
