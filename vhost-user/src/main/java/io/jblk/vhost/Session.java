package io.jblk.vhost;

import io.jblk.nativeio.EventFd;
import io.jblk.nativeio.MemFd;
import io.jblk.nativeio.NativeFd;
import io.jblk.nativeio.SharedMemory;
import io.jblk.nativeio.UnixConnection;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static io.jblk.vhost.VhostUserProtocol.bit;

/**
 * One front-end connection: reads requests in order, keeps the negotiated state, the memory table and the vrings,
 * and answers. Runs on one thread ({@link #run()}); returns when the front-end disconnects or breaks the protocol,
 * after stopping every ring (requests in flight finish) and unmapping guest memory.
 *
 * <p>A request the back-end cannot honour (a bad size, an unknown number, a missing descriptor, a ring outside
 * guest memory) is refused: logged, its descriptors closed, and answered with a non-zero status when the
 * front-end asked for one (REPLY_ACK). Only what loses the framing or leaves a reply unanswerable ends the
 * connection ({@link VhostUserProtocolException}).
 */
final class Session {
    private static final System.Logger LOG = System.getLogger("io.jblk.vhost");

    /** A request that is refused; the connection goes on. */
    static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;

        Refusal(String message) {
            super(message, null, false, false);
        }
    }

    private final BlkBackend backend;
    private final UnixConnection connection;
    private final QueueProcessor.Factory processors;
    private final Vring[] vrings;
    private long features;
    private long protocolFeatures;
    private MemoryTable memory = MemoryTable.EMPTY;
    /** The in-flight log the front-end handed over (SET_INFLIGHT_FD), or null. */
    private SharedMemory inflight;
    private int inflightQueueSize;
    private int refusals;

    Session(BlkBackend backend, UnixConnection connection, QueueProcessor.Factory processors) {
        this.backend = backend;
        this.connection = connection;
        this.processors = processors;
        this.vrings = new Vring[backend.numQueues()];
        for (int i = 0; i < vrings.length; i++) {
            vrings[i] = new Vring(i);
        }
    }

    /** Requests refused on this connection so far. */
    int refusals() {
        return refusals;
    }

    /** Serves the connection until it ends; never throws for anything the front-end does. */
    void run() {
        try (Arena arena = Arena.ofConfined()) {
            MessageChannel channel = new MessageChannel(connection, arena);
            while (true) {
                Message m = channel.read();
                if (m == null) {
                    LOG.log(System.Logger.Level.INFO, "vhost-user front-end disconnected");
                    return;
                }
                handle(channel, m);
            }
        } catch (VhostUserProtocolException | EOFException e) {
            LOG.log(System.Logger.Level.WARNING, "vhost-user front-end dropped: {0}", e.getMessage());
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "vhost-user connection failed: {0}", e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "vhost-user session: internal error, connection dropped", e);
        } finally {
            end();
        }
    }

    /** Stops every ring (in-flight requests finish), closes their descriptors and unmaps guest memory. */
    private void end() {
        for (Vring v : vrings) {
            v.reset();
        }
        replaceMemory(MemoryTable.EMPTY);
        if (inflight != null) {
            inflight.close(); // the front-end keeps its own mapping and descriptor for the next back-end
            inflight = null;
        }
    }

    private void handle(MessageChannel channel, Message m) throws IOException {
        checkBrokenRings();
        boolean ack = m.needsReply() && (protocolFeatures & bit(VhostUserProtocol.PF_REPLY_ACK)) != 0;
        try {
            if (m.type() == VhostUserRequest.GET_INFLIGHT_FD) {
                getInflightFd(channel, m);
                return;
            }
            byte[] reply = dispatch(m);
            if (reply != null) {
                channel.reply(m, reply);
            } else if (ack) {
                channel.replyU64(m, 0);
            }
        } catch (Refusal r) {
            refusals++;
            m.closeFds();
            LOG.log(System.Logger.Level.WARNING, "vhost-user: refused {0}: {1}", m, r.getMessage());
            if (repliesWithPayload(m.type())) {
                throw new VhostUserProtocolException(m.name() + " cannot be answered: " + r.getMessage());
            }
            if (ack) {
                channel.replyU64(m, 1);
            }
        }
    }

    /** Requests whose reply has a body: a refusal cannot be expressed as a status for them. */
    private static boolean repliesWithPayload(VhostUserRequest r) {
        return switch (r) {
            case GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_VRING_BASE, GET_MAX_MEM_SLOTS,
                 GET_INFLIGHT_FD -> true;
            default -> false;
        };
    }

    /** Returns the reply body, or null for requests that only acknowledge. */
    private byte[] dispatch(Message m) throws Refusal, IOException {
        return switch (m.type()) {
            case GET_FEATURES -> answer(m, offeredFeatures());
            case SET_FEATURES -> {
                setFeatures(check(m, 8).u64(0));
                yield null;
            }
            case GET_PROTOCOL_FEATURES -> answer(m, offeredProtocolFeatures());
            case SET_PROTOCOL_FEATURES -> {
                setProtocolFeatures(check(m, 8).u64(0));
                yield null;
            }
            case SET_OWNER -> {
                check(m, 0);
                yield null;
            }
            case RESET_OWNER -> {
                // Deprecated; the spec recommends treating it as "disable all rings".
                check(m, 0);
                for (Vring v : vrings) {
                    v.stop();
                    v.enabled = false;
                }
                yield null;
            }
            case GET_QUEUE_NUM -> answer(m, numQueues());
            case GET_MAX_MEM_SLOTS -> answer(m, maxMemSlots());
            case SET_MEM_TABLE -> {
                setMemTable(m);
                yield null;
            }
            case ADD_MEM_REG -> {
                addMemReg(m);
                yield null;
            }
            case REM_MEM_REG -> {
                remMemReg(m);
                yield null;
            }
            case SET_VRING_NUM -> {
                setVringNum(check(m, 8));
                yield null;
            }
            case SET_VRING_ADDR -> {
                setVringAddr(check(m, 40));
                yield null;
            }
            case SET_VRING_BASE -> {
                setVringBase(check(m, 8));
                yield null;
            }
            case GET_VRING_BASE -> getVringBase(check(m, 8));
            case SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> {
                setVringFd(size(m, 8));
                yield null;
            }
            case SET_VRING_ENABLE -> {
                setVringEnable(check(m, 8));
                yield null;
            }
            case GET_CONFIG -> getConfig(noFds(m));
            case SET_CONFIG -> throw new Refusal("the virtio-blk config space has no field this device lets a"
                    + " driver write (CONFIG_WCE is not offered)");
            case SET_LOG_BASE, SET_LOG_FD -> throw new Refusal("dirty-page logging for live migration is not"
                    + " supported (LOG_SHMFD and LOG_ALL are not offered)");
            case SET_BACKEND_REQ_FD -> throw new Refusal("the back-end request channel is not offered");
            case SET_INFLIGHT_FD -> {
                setInflightFd(m);
                yield null;
            }
            case UNKNOWN -> throw new Refusal("unknown request number " + Integer.toUnsignedString(m.request()));
            default -> throw new Refusal(m.name() + " is not supported by a block back-end that did not offer it");
        };
    }

    private long offeredFeatures() {
        return backend.deviceFeatures() | bit(VhostUserProtocol.F_PROTOCOL_FEATURES);
    }

    private long offeredProtocolFeatures() {
        return bit(VhostUserProtocol.PF_MQ) | bit(VhostUserProtocol.PF_REPLY_ACK) | bit(VhostUserProtocol.PF_CONFIG)
                | bit(VhostUserProtocol.PF_CONFIGURE_MEM_SLOTS) | bit(VhostUserProtocol.PF_INFLIGHT_SHMFD);
    }

    private int numQueues() {
        return vrings.length;
    }

    private int maxMemSlots() {
        return VhostUserProtocol.MAX_MEM_SLOTS;
    }

    private void setFeatures(long requested) throws Refusal {
        long unknown = requested & ~offeredFeatures();
        if (unknown != 0) {
            throw new Refusal("features 0x" + Long.toHexString(unknown) + " were not offered (offered 0x"
                    + Long.toHexString(offeredFeatures()) + ")");
        }
        features = requested;
    }

    private void setProtocolFeatures(long requested) throws Refusal {
        long unknown = requested & ~offeredProtocolFeatures();
        if (unknown != 0) {
            throw new Refusal("protocol features 0x" + Long.toHexString(unknown) + " were not offered (offered 0x"
                    + Long.toHexString(offeredProtocolFeatures()) + ")");
        }
        protocolFeatures = requested;
    }

    private boolean protocolFeaturesNegotiated() {
        return (features & bit(VhostUserProtocol.F_PROTOCOL_FEATURES)) != 0;
    }

    // ---- memory ----

    private void setMemTable(Message m) throws Refusal, IOException {
        if (m.size() < 8) {
            throw new Refusal("payload of " + m.size() + " bytes is shorter than the region count");
        }
        int n = m.u32(0);
        if (n < 0 || n > VhostUserProtocol.MEM_TABLE_MAX_REGIONS) {
            throw new Refusal(Integer.toUnsignedString(n) + " regions; at most "
                    + VhostUserProtocol.MEM_TABLE_MAX_REGIONS + " fit the message");
        }
        size(m, 8 + VhostUserProtocol.REGION_SIZE * n);
        if (m.fds().size() != n) {
            throw new Refusal(n + " regions but " + m.fds().size() + " file descriptors");
        }
        MemoryTable next = MemoryTable.EMPTY;
        List<MemoryRegion> mapped = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                MemoryRegion.Description d = MemoryRegion.Description.parse(m, 8 + VhostUserProtocol.REGION_SIZE * i);
                String conflict = next.conflict(d);
                if (conflict != null) {
                    throw new Refusal("region " + i + " (" + d + "): " + conflict);
                }
                MemoryRegion r = map(d, m.fds().get(i), "region " + i);
                mapped.add(r);
                next = next.with(r);
            }
        } catch (Refusal | RuntimeException e) {
            mapped.forEach(MemoryRegion::close);
            throw e;
        } finally {
            m.closeFds(); // the mappings outlive the descriptors
        }
        replaceMemory(next);
    }

    private void addMemReg(Message m) throws Refusal {
        size(m, 8 + VhostUserProtocol.REGION_SIZE);
        if (m.fds().size() != 1) {
            throw new Refusal("needs exactly one file descriptor, got " + m.fds().size());
        }
        try {
            MemoryRegion.Description d = MemoryRegion.Description.parse(m, 8);
            String conflict = memory.conflict(d);
            if (conflict != null) {
                throw new Refusal(d + ": " + conflict);
            }
            if (memory.regions().size() >= VhostUserProtocol.MAX_MEM_SLOTS) {
                throw new Refusal("all " + VhostUserProtocol.MAX_MEM_SLOTS + " memory slots are in use");
            }
            MemoryRegion r = map(d, m.fds().getFirst(), "the region");
            replaceMemory(memory.with(r));
        } finally {
            m.closeFds();
        }
    }

    private void remMemReg(Message m) throws Refusal {
        m.closeFds(); // the spec lets a front-end attach one by mistake; it is closed unused
        size(m, 8 + VhostUserProtocol.REGION_SIZE);
        MemoryRegion.Description d = MemoryRegion.Description.parse(m, 8);
        MemoryRegion r = memory.find(d);
        if (r == null) {
            throw new Refusal("no region " + d + " is mapped (regions: " + memory + ")");
        }
        replaceMemory(memory.without(r));
    }

    private static MemoryRegion map(MemoryRegion.Description d, NativeFd fd, String what) throws Refusal {
        try {
            return MemoryRegion.map(d, fd);
        } catch (IOException | IllegalArgumentException e) {
            throw new Refusal(what + " (" + d + ") cannot be mapped: " + e.getMessage());
        }
    }

    /**
     * Installs {@code next}: running rings stop first (their in-flight requests finish, so nothing still uses a
     * mapping), regions no longer in the table are unmapped, and the rings restart over the new table.
     */
    private void replaceMemory(MemoryTable next) {
        List<Vring> paused = new ArrayList<>();
        for (Vring v : vrings) {
            if (v.running()) {
                v.stop();
                paused.add(v);
            }
        }
        MemoryTable old = memory;
        memory = next;
        for (MemoryRegion r : old.regions()) {
            if (!next.regions().contains(r)) {
                r.close();
            }
        }
        for (Vring v : paused) {
            try {
                startIfReady(v);
            } catch (Refusal e) {
                LOG.log(System.Logger.Level.WARNING, "vring {0} cannot restart after the memory change: {1}",
                        v.index, e.getMessage());
            }
        }
    }

    // ---- vrings ----

    private Vring vring(long index) throws Refusal {
        if (index < 0 || index >= vrings.length) {
            throw new Refusal("vring " + index + " does not exist (" + vrings.length + " queues)");
        }
        return vrings[(int) index];
    }

    private Vring stoppedVring(long index, String what) throws Refusal {
        Vring v = vring(index);
        if (v.running()) {
            throw new Refusal("vring " + index + " is running; " + what + " needs it stopped (GET_VRING_BASE)");
        }
        return v;
    }

    private void setVringNum(Message m) throws Refusal {
        int num = m.u32(4);
        Vring v = stoppedVring(Integer.toUnsignedLong(m.u32(0)), "SET_VRING_NUM");
        if (num < 1 || num > backend.maxQueueSize() || Integer.bitCount(num) != 1) {
            throw new Refusal("vring size " + Integer.toUnsignedString(num) + " is not a power of two in [1, "
                    + backend.maxQueueSize() + "]");
        }
        v.size = num;
    }

    private void setVringAddr(Message m) throws Refusal {
        Vring v = stoppedVring(Integer.toUnsignedLong(m.u32(0)), "SET_VRING_ADDR");
        int flags = m.u32(4);
        if ((flags & VhostUserProtocol.VRING_F_LOG) != 0) {
            throw new Refusal("used-ring logging (VHOST_VRING_F_LOG) is not supported");
        }
        long desc = m.u64(8);
        long used = m.u64(16);
        long avail = m.u64(24);
        if (!memory.isEmpty()) {
            // Checked now where memory is known, so the front-end hears of it; checked again at start.
            checkRingAddress("descriptor table", desc, 16L);
            checkRingAddress("avail ring", avail, 6);
            checkRingAddress("used ring", used, 6);
        }
        v.descUser = desc;
        v.usedUser = used;
        v.availUser = avail;
        v.addressesSet = true;
    }

    private void checkRingAddress(String what, long user, long length) throws Refusal {
        if (memory.guestOf(user, length) < 0) {
            throw new Refusal(what + " at user address 0x" + Long.toHexString(user)
                    + " is outside every memory region (" + memory + ")");
        }
    }

    private void setVringBase(Message m) throws Refusal {
        int num = m.u32(4);
        Vring v = stoppedVring(Integer.toUnsignedLong(m.u32(0)), "SET_VRING_BASE");
        if (num < 0 || num > 0xFFFF) {
            throw new Refusal("vring base " + Integer.toUnsignedString(num) + " is not a 16-bit index");
        }
        v.base = num;
    }

    private byte[] getVringBase(Message m) throws Refusal {
        Vring v = vring(Integer.toUnsignedLong(m.u32(0)));
        v.stop(); // the spec: GET_VRING_BASE stops the ring
        v.setKick(null); // a restart comes with a new SET_VRING_KICK
        byte[] reply = new byte[8];
        MemorySegment s = MemorySegment.ofArray(reply);
        s.set(Message.U32, 0, v.index);
        s.set(Message.U32, 4, v.base);
        return reply;
    }

    private void setVringFd(Message m) throws Refusal, IOException {
        long payload = m.u64(0);
        if ((payload & ~(VhostUserProtocol.VRING_INDEX_MASK | VhostUserProtocol.VRING_NOFD)) != 0) {
            throw new Refusal("payload 0x" + Long.toHexString(payload) + " sets bits other than the index and"
                    + " the no-descriptor flag");
        }
        Vring v = vring(payload & VhostUserProtocol.VRING_INDEX_MASK);
        boolean noFd = (payload & VhostUserProtocol.VRING_NOFD) != 0;
        if (noFd ? !m.fds().isEmpty() : m.fds().size() != 1) {
            throw new Refusal((noFd ? "says no descriptor but carries " : "needs one descriptor, carries ")
                    + m.fds().size());
        }
        EventFd fd = noFd ? null : EventFd.of(m.fds().getFirst());
        switch (m.type()) {
            case SET_VRING_KICK -> {
                if (noFd) {
                    throw new Refusal("vring " + v.index + ": polling instead of a kick descriptor is not"
                            + " supported");
                }
                v.stop(); // the worker waits on the old descriptor; the ring restarts on the new one
                v.setKick(fd);
                startIfReady(v);
            }
            case SET_VRING_CALL -> v.setCall(fd);
            case SET_VRING_ERR -> v.setErr(fd);
            default -> throw new AssertionError(m.type());
        }
    }

    private void setVringEnable(Message m) throws Refusal {
        Vring v = vring(Integer.toUnsignedLong(m.u32(0)));
        int enable = m.u32(4);
        if (enable != 0 && enable != 1) {
            throw new Refusal("SET_VRING_ENABLE with " + Integer.toUnsignedString(enable) + " (0 or 1 expected)");
        }
        if (!protocolFeaturesNegotiated()) {
            throw new Refusal("SET_VRING_ENABLE before VHOST_USER_F_PROTOCOL_FEATURES was negotiated");
        }
        v.enabled = enable == 1;
        if (v.enabled) {
            startIfReady(v); // SeaBIOS enables rings it never configured: they just stay idle
        } else {
            v.stop();
        }
    }

    /**
     * Starts {@code v} when it has a kick descriptor, is enabled (or PROTOCOL_FEATURES was not negotiated, when
     * rings start enabled), its geometry is set and memory holds its rings.
     */
    private void startIfReady(Vring v) throws Refusal {
        if (v.running() || v.kick == null || !(v.enabled || !protocolFeaturesNegotiated())) {
            return;
        }
        if (v.size == 0 || !v.addressesSet) {
            throw new Refusal("vring " + v.index + " is kicked before its size and addresses were set");
        }
        long desc = memory.guestOf(v.descUser, 16L * v.size);
        long avail = memory.guestOf(v.availUser, 6 + 2L * v.size);
        long used = memory.guestOf(v.usedUser, 6 + 8L * v.size);
        if (desc < 0 || avail < 0 || used < 0) {
            throw new Refusal("vring " + v.index + " of size " + v.size + " does not fit in guest memory: desc 0x"
                    + Long.toHexString(v.descUser) + ", avail 0x" + Long.toHexString(v.availUser) + ", used 0x"
                    + Long.toHexString(v.usedUser) + " (regions " + memory + ")");
        }
        QueueProcessor p;
        try {
            p = processors.start(v.index, memory, v.size, desc, avail, used, v.base, features, inflightLog(v),
                    v::signalCall, v::broken);
        } catch (IllegalArgumentException e) {
            throw new Refusal("vring " + v.index + ": " + e.getMessage());
        }
        try {
            v.start(p);
        } catch (IOException e) {
            p.stop();
            throw new Refusal("vring " + v.index + " cannot start: " + e.getMessage());
        }
    }

    /** A ring that stopped itself (guest error) is stopped properly here, on the session thread. */
    private void checkBrokenRings() {
        for (Vring v : vrings) {
            if (v.running() && v.brokenReason() != null) {
                v.stop();
            }
        }
    }

    // ---- in-flight log (INFLIGHT_SHMFD) ----

    /** Largest in-flight log made on request: 256 queues of 32768 descriptors would be 128 MiB. */
    private static final long MAX_INFLIGHT_BYTES = 64L << 20;

    private boolean inflightNegotiated() {
        return (protocolFeatures & bit(VhostUserProtocol.PF_INFLIGHT_SHMFD)) != 0;
    }

    /** Creates a zeroed log for the front-end's queues and hands it over (the front-end keeps it across restarts). */
    private void getInflightFd(MessageChannel channel, Message m) throws IOException {
        String problem = null;
        int numQueues = 0;
        int queueSize = 0;
        if (!inflightNegotiated()) {
            problem = "INFLIGHT_SHMFD was not negotiated";
        } else if (m.size() != VhostUserProtocol.INFLIGHT_DESCRIPTION || !m.fds().isEmpty()) {
            problem = "payload of " + m.size() + " bytes and " + m.fds().size() + " fds; it takes "
                    + VhostUserProtocol.INFLIGHT_DESCRIPTION + " bytes and none";
        } else {
            numQueues = m.u16(16);
            queueSize = m.u16(18);
            if (numQueues < 1 || numQueues > vrings.length || queueSize < 1
                    || queueSize > backend.maxQueueSize()) {
                problem = numQueues + " queues of " + queueSize + " (this device: up to " + vrings.length
                        + " queues of " + backend.maxQueueSize() + ")";
            }
        }
        if (problem != null) {
            refusals++;
            m.closeFds();
            throw new VhostUserProtocolException("GET_INFLIGHT_FD cannot be answered: " + problem);
        }
        long size = InflightLog.regionSize(queueSize) * numQueues;
        try (NativeFd log = MemFd.create("jblk-vhost-inflight", size)) {
            byte[] reply = new byte[VhostUserProtocol.INFLIGHT_DESCRIPTION];
            MemorySegment r = MemorySegment.ofArray(reply);
            r.set(Message.U64, 0, size);
            r.set(Message.U64, 8, 0L);
            r.set(Message.U16, 16, (short) numQueues);
            r.set(Message.U16, 18, (short) queueSize);
            channel.reply(m, reply, log);
        }
    }

    /** Maps the log the front-end kept; rings started from now on recover from it and record into it. */
    private void setInflightFd(Message m) throws Refusal {
        try {
            if (!inflightNegotiated()) {
                throw new Refusal("INFLIGHT_SHMFD was not negotiated");
            }
            size(m, VhostUserProtocol.INFLIGHT_DESCRIPTION);
            if (m.fds().size() != 1) {
                throw new Refusal("needs one file descriptor, got " + m.fds().size());
            }
            long mmapSize = m.u64(0);
            long mmapOffset = m.u64(8);
            int numQueues = m.u16(16);
            int queueSize = m.u16(18);
            if (queueSize < 1 || numQueues < 1 || mmapSize < InflightLog.regionSize(queueSize) * numQueues
                    || mmapSize > MAX_INFLIGHT_BYTES) {
                throw new Refusal("in-flight log of " + Long.toUnsignedString(mmapSize) + " bytes for " + numQueues
                        + " queues of " + queueSize + " does not fit its layout (or exceeds "
                        + MAX_INFLIGHT_BYTES + " bytes)");
            }
            SharedMemory next;
            try {
                next = SharedMemory.map(m.fds().getFirst(), mmapOffset, mmapSize, true);
            } catch (IOException | IllegalArgumentException e) {
                throw new Refusal("the in-flight log cannot be mapped: " + e.getMessage());
            }
            for (Vring v : vrings) {
                v.stop(); // running rings write the old log; they restart on the next kick or enable
            }
            if (inflight != null) {
                inflight.close();
            }
            inflight = next;
            inflightQueueSize = queueSize;
            for (Vring v : vrings) {
                startIfReady(v);
            }
        } finally {
            m.closeFds();
        }
    }

    /** Ring {@code v}'s slice of the in-flight log, or null when there is none (or it has no slot for the ring). */
    private InflightLog inflightLog(Vring v) {
        if (inflight == null) {
            return null;
        }
        long regionSize = InflightLog.regionSize(inflightQueueSize);
        long at = regionSize * v.index;
        if (at + regionSize > inflight.segment().byteSize() || v.size > inflightQueueSize) {
            LOG.log(System.Logger.Level.WARNING, "vring {0} of size {1} has no slot in the in-flight log; its requests"
                    + " are not tracked across back-end restarts", v.index, v.size);
            return null;
        }
        return new InflightLog(inflight.segment().asSlice(at, regionSize), inflightQueueSize);
    }

    // ---- config ----

    private byte[] getConfig(Message m) throws Refusal {
        if (m.size() < VhostUserProtocol.CONFIG_HEADER) {
            throw new Refusal("payload of " + m.size() + " bytes is shorter than the config header");
        }
        int offset = m.u32(0);
        int length = m.u32(4);
        if (length < 0 || length > VhostUserProtocol.CONFIG_SPACE_MAX || offset < 0
                || offset > VhostUserProtocol.CONFIG_SPACE_MAX - length
                || m.size() != VhostUserProtocol.CONFIG_HEADER + length) {
            // The spec's error answer for GET_CONFIG: an empty payload.
            LOG.log(System.Logger.Level.WARNING, "vhost-user: GET_CONFIG of {0} bytes at offset {1} in a {2}-byte"
                    + " payload refused", Integer.toUnsignedString(length), Integer.toUnsignedString(offset), m.size());
            refusals++;
            return new byte[0];
        }
        byte[] reply = new byte[VhostUserProtocol.CONFIG_HEADER + length];
        System.arraycopy(m.payload(), 0, reply, 0, VhostUserProtocol.CONFIG_HEADER);
        byte[] config = backend.configSpace();
        for (int i = 0; i < length; i++) {
            int at = offset + i;
            reply[VhostUserProtocol.CONFIG_HEADER + i] = at < config.length ? config[at] : 0;
        }
        return reply;
    }

    // ---- helpers ----

    private static Message size(Message m, int expected) throws Refusal {
        if (m.size() != expected) {
            throw new Refusal("payload of " + m.size() + " bytes; " + m.name() + " takes " + expected);
        }
        return m;
    }

    private static Message noFds(Message m) throws Refusal {
        if (!m.fds().isEmpty()) {
            throw new Refusal(m.name() + " carries " + m.fds().size() + " file descriptors it has no use for");
        }
        return m;
    }

    /** The payload is {@code size} bytes and no descriptor came with it. */
    private static Message check(Message m, int size) throws Refusal {
        return noFds(size(m, size));
    }

    /** The reply to a GET request without payload: {@code value} as u64. */
    private static byte[] answer(Message m, long value) throws Refusal {
        check(m, 0);
        return u64(value);
    }

    private static byte[] u64(long value) {
        byte[] b = new byte[8];
        MemorySegment.ofArray(b).set(Message.U64, 0, value);
        return b;
    }
}
