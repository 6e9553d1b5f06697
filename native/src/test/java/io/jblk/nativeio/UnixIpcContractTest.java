package io.jblk.nativeio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unix sockets with SCM_RIGHTS, shared mappings, eventfds and poll, as a vhost-user back-end uses them: everything
 * crosses a real socket between two ends, and every descriptor opened is closed again.
 */
class UnixIpcContractTest {
    @TempDir
    Path dir;

    @Test
    void kernelLayoutsMatchTheLp64Abi() {
        assertEquals(110, LinuxIpc.SOCKADDR_UN.byteSize());
        assertEquals(56, LinuxIpc.MSGHDR.byteSize());
        assertEquals(16, LinuxIpc.MSG_IOV);
        assertEquals(32, LinuxIpc.MSG_CONTROL);
        assertEquals(48, LinuxIpc.MSG_FLAGS);
        assertEquals(16, LinuxIpc.CMSG_DATA);
        assertEquals(24, LinuxIpc.cmsgSpace(4));      // CMSG_SPACE(sizeof(int))
        assertEquals(20, LinuxIpc.cmsgLen(4));        // CMSG_LEN(sizeof(int))
        assertEquals(48, LinuxIpc.cmsgSpace(4 * 8));  // 8 fds, as SET_MEM_TABLE sends at most
        assertEquals(8, LinuxIpc.POLLFD.byteSize());
    }

    @Test
    void memfdPassedOverASocketMapsTheSameMemoryOnTheOtherSide() throws Exception {
        long fdsBefore = openFds();
        UnixConnection[] ends = UnixConnection.pair();
        try (UnixConnection a = ends[0]; UnixConnection b = ends[1];
             NativeFd ram = MemFd.create("guest-ram", 1 << 20);
             SharedMemory mine = SharedMemory.map(ram, 0, 1 << 20, true)) {
            a.send(new byte[] {42}, ram);
            UnixConnection.Received got = receiveInto(b, 1, 4);
            assertEquals(1, got.bytes());
            assertEquals(1, got.fds().size());
            assertFalse(got.fdsTruncated());
            try (NativeFd theirs = got.fds().getFirst();
                 SharedMemory mapped = SharedMemory.map(theirs, 4096, 8192, true)) {
                assertTrue(closeOnExec(theirs), "received descriptors are close-on-exec");
                mine.segment().set(ValueLayout.JAVA_LONG, 4096, 0x1122334455667788L);
                assertEquals(0x1122334455667788L, mapped.segment().get(ValueLayout.JAVA_LONG, 0));
                mapped.segment().set(ValueLayout.JAVA_INT, 8188, 77);
                assertEquals(77, mine.segment().get(ValueLayout.JAVA_INT, 4096 + 8188));
            }
        }
        assertEquals(fdsBefore, openFds(), "every descriptor is closed again");
    }

    @Test
    void unalignedMappingOffsetIsHonoured() throws Exception {
        try (NativeFd ram = MemFd.create("ram", 256 * 1024);
             SharedMemory whole = SharedMemory.map(ram, 0, 256 * 1024, true);
             SharedMemory part = SharedMemory.map(ram, 70_000, 1000, false)) {
            whole.segment().set(ValueLayout.JAVA_BYTE, 70_000, (byte) 9);
            whole.segment().set(ValueLayout.JAVA_BYTE, 70_999, (byte) 8);
            assertEquals(1000, part.segment().byteSize());
            assertEquals(9, part.segment().get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(8, part.segment().get(ValueLayout.JAVA_BYTE, 999));
        }
    }

    @Test
    void mappingPastTheEndOfTheFileIsRefusedInsteadOfFaultingLater() throws Exception {
        try (NativeFd ram = MemFd.create("small", 64 * 1024)) {
            IOException e = assertThrows(IOException.class, () -> SharedMemory.map(ram, 4096, 64 * 1024, true));
            assertTrue(e.getMessage().contains("too short"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> SharedMemory.map(ram, -1, 10, true));
            assertThrows(IllegalArgumentException.class, () -> SharedMemory.map(ram, 0, 0, true));
        }
    }

    @Test
    void accessAfterUnmapFailsInJavaInsteadOfCrashing() throws Exception {
        MemorySegment seg;
        try (NativeFd ram = MemFd.create("ram", 4096); SharedMemory m = SharedMemory.map(ram, 0, 4096, true)) {
            seg = m.segment();
        }
        MemorySegment unmapped = seg;
        assertThrows(IllegalStateException.class, () -> unmapped.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void eventfdRoundTripAcrossProcessesBoundary() throws Exception {
        UnixConnection[] ends = UnixConnection.pair();
        try (UnixConnection a = ends[0]; UnixConnection b = ends[1]; EventFd kick = EventFd.create()) {
            kick.signal();
            kick.signal();
            assertEquals(2, kick.await(), "the counter sums signals and resets on read");
            a.send(new byte[] {1}, kick.fd());
            UnixConnection.Received got = receiveInto(b, 1, 1);
            try (EventFd theirs = EventFd.of(got.fds().getFirst())) {
                CompletableFuture<Long> waiter = CompletableFuture.supplyAsync(() -> {
                    try {
                        return kick.await();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                }, r -> Thread.ofPlatform().start(r));
                theirs.signal();
                assertEquals(1L, waiter.get(30, TimeUnit.SECONDS), "a signal on the received fd wakes the original");
            }
        }
    }

    @Test
    void pollReportsWhichDescriptorIsReadableAndTimesOut() throws Exception {
        try (EventFd a = EventFd.create(); EventFd b = EventFd.create()) {
            assertEquals(0, Poll.readable(0, a.fd(), b.fd()));
            b.signal();
            assertEquals(2, Poll.readable(1000, a.fd(), b.fd()));
            a.signal();
            assertEquals(3, Poll.readable(-1, a.fd(), b.fd()));
            b.await();
            assertEquals(1, Poll.readable(0, a.fd(), b.fd()));
        }
    }

    @Test
    void moreDescriptorsThanAcceptedAreReportedTruncatedAndTheRestClosed() throws Exception {
        long fdsBefore = openFds();
        UnixConnection[] ends = UnixConnection.pair();
        try (UnixConnection a = ends[0]; UnixConnection b = ends[1];
             EventFd e1 = EventFd.create(); EventFd e2 = EventFd.create(); EventFd e3 = EventFd.create()) {
            a.send(new byte[] {1, 2, 3}, e1.fd(), e2.fd(), e3.fd());
            UnixConnection.Received got = receiveInto(b, 3, 2);
            assertTrue(got.fdsTruncated());
            assertTrue(got.fds().size() < 3);
            got.closeFds();
            // no descriptors accepted at all: all of them are dropped by the kernel
            a.send(new byte[] {4}, e1.fd());
            UnixConnection.Received none = receiveInto(b, 1, 0);
            assertEquals(0, none.fds().size());
            assertTrue(none.fdsTruncated());
        }
        assertEquals(fdsBefore, openFds(), "truncated descriptors do not leak");
    }

    @Test
    void streamBytesArriveWholeAcrossSeveralReceives() throws Exception {
        UnixConnection[] ends = UnixConnection.pair();
        try (UnixConnection a = ends[0]; UnixConnection b = ends[1]; Arena arena = Arena.ofConfined()) {
            byte[] data = new byte[300_000]; // more than the socket buffer: send loops over partial writes
            new java.util.Random(5).nextBytes(data);
            CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                try {
                    a.send(data);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, r -> Thread.ofPlatform().start(r));
            MemorySegment buf = arena.allocate(data.length);
            long got = 0;
            while (got < data.length) {
                UnixConnection.Received r = b.receive(buf.asSlice(got), 0);
                assertTrue(r.bytes() > 0);
                got += r.bytes();
            }
            sender.get(30, TimeUnit.SECONDS);
            assertArrayEquals(data, buf.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void peerCloseIsEndOfStreamAndSendingToItFailsWithEpipe() throws Exception {
        UnixConnection[] ends = UnixConnection.pair();
        try (UnixConnection a = ends[0]; Arena arena = Arena.ofConfined()) {
            ends[1].close();
            assertEquals(0, a.receive(arena.allocate(16), 4).bytes());
            NativeIOException e = assertThrows(NativeIOException.class, () -> a.send(new byte[] {1}));
            assertEquals("EPIPE", e.errnoName());
        }
    }

    @Test
    void halfCloseDeliversWhatWasSentThenEndOfStreamAndKeepsReceiving() throws Exception {
        UnixConnection[] ends = UnixConnection.pair();
        try (UnixConnection a = ends[0]; UnixConnection b = ends[1]; Arena arena = Arena.ofConfined()) {
            a.send(new byte[] {1, 2, 3});
            a.shutdownOutput();
            MemorySegment buf = arena.allocate(16);
            assertEquals(3, b.receive(buf, 0).bytes());
            assertEquals(0, b.receive(buf, 0).bytes(), "then end of stream");
            b.send(new byte[] {9});
            assertEquals(1, a.receive(buf, 0).bytes(), "the other direction still works");
        }
    }

    @Test
    void shutdownWakesABlockedReceiver() throws Exception {
        UnixConnection[] ends = UnixConnection.pair();
        try (UnixConnection a = ends[0]; UnixConnection b = ends[1]) {
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    return a.receive(arena.allocate(16), 4).bytes();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, r -> Thread.ofPlatform().start(r));
            Thread.sleep(50);
            a.shutdown();
            assertEquals(0, reader.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void listenerAcceptsConnectionsThatCarryDescriptors() throws Exception {
        Path sock = dir.resolve("vhost.sock");
        try (UnixListener listener = UnixListener.bind(sock)) {
            assertTrue(Files.exists(sock));
            CompletableFuture<UnixConnection> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    return listener.accept();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }, r -> Thread.ofPlatform().start(r));
            try (UnixConnection client = UnixConnection.connect(sock);
                 UnixConnection server = accepted.get(30, TimeUnit.SECONDS);
                 EventFd call = EventFd.create()) {
                client.send(new byte[] {7, 8}, call.fd());
                UnixConnection.Received got = receiveInto(server, 2, 8);
                assertEquals(1, got.fds().size());
                try (EventFd theirs = EventFd.of(got.fds().getFirst())) {
                    theirs.signal();
                    assertEquals(1, call.await());
                }
            }
        }
        assertFalse(Files.exists(sock), "close removes the socket file");
    }

    @Test
    void closeWakesAWaitingAccept() throws Exception {
        UnixListener listener = UnixListener.bind(dir.resolve("s"));
        CompletableFuture<UnixConnection> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return listener.accept();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, r -> Thread.ofPlatform().start(r));
        Thread.sleep(50);
        listener.close();
        assertNull(accepted.get(30, TimeUnit.SECONDS));
        assertNull(listener.accept(), "accept after close returns null at once");
        listener.close();
    }

    @Test
    void bindReplacesAStaleSocketButNotALiveOneOrAFile() throws Exception {
        Path sock = dir.resolve("stale.sock");
        // a socket file nobody listens on any more, as a killed process leaves it
        NativeFd orphan = UnixListener.newSocket(sock);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(0, LinuxIpc.bind(orphan.value(), UnixListener.sockaddr(arena, sock)));
        }
        orphan.close();
        assertTrue(Files.exists(sock));
        try (UnixListener live = UnixListener.bind(sock)) {
            IOException inUse = assertThrows(IOException.class, () -> UnixListener.bind(sock));
            assertTrue(inUse.getMessage().contains("in use"), inUse.getMessage());
        }
        Path file = Files.writeString(dir.resolve("notes.txt"), "keep me");
        IOException notSocket = assertThrows(IOException.class, () -> UnixListener.bind(file));
        assertTrue(notSocket.getMessage().contains("not a socket"), notSocket.getMessage());
        assertEquals("keep me", Files.readString(file));
        Path tooLong = dir.resolve("x".repeat(120));
        assertThrows(IllegalArgumentException.class, () -> UnixListener.bind(tooLong));
        NativeIOException refused = assertThrows(NativeIOException.class,
                () -> UnixConnection.connect(dir.resolve("nobody.sock")));
        assertEquals("ENOENT", refused.errnoName());
    }

    private static UnixConnection.Received receiveInto(UnixConnection c, int bytes, int maxFds) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return c.receive(arena.allocate(bytes), maxFds);
        }
    }

    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static boolean closeOnExec(NativeFd fd) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd.value()))) {
            if (line.startsWith("flags:")) {
                return (Integer.parseInt(line.substring(6).trim(), 8) & Linux.O_CLOEXEC) != 0;
            }
        }
        throw new AssertionError("no flags line for " + fd);
    }
}
