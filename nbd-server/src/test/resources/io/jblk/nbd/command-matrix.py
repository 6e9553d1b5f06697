# Run by nbdsh (handle `h` already connected, with base:allocation): sends every transmission command with every
# command flag, with lengths 0 and 512, at offsets inside, at and past the end of the export, and the commands
# without payload with a length over the 32 MiB maximum block size, and prints one line per request:
# COMMAND FLAG offset=N length=N -> ok | errno=NAME. libnbd's own checks are switched off so the server, not the
# client library, answers. NbdCommandMatrixTest runs it against qemu-nbd and jblk and compares.
import nbd

h.set_strict_mode(0)
size = h.get_size()
flags = [("none", 0), ("FUA", nbd.CMD_FLAG_FUA), ("NO_HOLE", nbd.CMD_FLAG_NO_HOLE), ("DF", nbd.CMD_FLAG_DF),
         ("REQ_ONE", nbd.CMD_FLAG_REQ_ONE), ("FAST_ZERO", nbd.CMD_FLAG_FAST_ZERO)]


def answer(call):
    try:
        call()
        return "ok"
    except nbd.Error as e:
        return "errno=%s" % (e.errno,)


def extents(*args):
    return 0


oversize = 32 * 1024 * 1024 + 512
for fname, f in flags:
    for off in (0, size - 512, size, size + 512, 2**63 - 512, 2**64 - 512):
        for length in (0, 512, oversize):
            calls = [
                ("READ", lambda: h.pread(length, off, flags=f)),
                ("WRITE", lambda: h.pwrite(bytearray(length), off, flags=f)),
                ("TRIM", lambda: h.trim(length, off, flags=f)),
                ("WRITE_ZEROES", lambda: h.zero(length, off, flags=f)),
                ("CACHE", lambda: h.cache(length, off, flags=f)),
                ("BLOCK_STATUS", lambda: h.block_status(length, off, extents, flags=f)),
            ]
            for name, call in calls:
                if length == oversize and name in ("READ", "WRITE"):
                    continue  # a payload over the maximum block size is a client error either way
                if not h.aio_is_ready():
                    raise SystemExit("the server dropped the connection")
                print("%s %s offset=%d length=%d -> %s" % (name, fname, off, length, answer(call)))
    print("FLUSH %s offset=0 length=0 -> %s" % (fname, answer(lambda: h.flush(flags=f))))
h.shutdown()
