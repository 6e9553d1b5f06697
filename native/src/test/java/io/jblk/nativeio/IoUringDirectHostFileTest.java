package io.jblk.nativeio;

/** The HostFile contract on the io_uring engine with O_DIRECT. */
class IoUringDirectHostFileTest extends HostFileContractTest {
    @Override
    protected HostFileOptions options() {
        return HostFileOptions.defaults().withEngine(HostFileOptions.Engine.IO_URING).withDirect(true);
    }

    @Override
    protected String expectedEngine() {
        return "io_uring";
    }
}
