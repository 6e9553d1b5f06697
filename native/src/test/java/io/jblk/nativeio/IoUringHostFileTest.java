package io.jblk.nativeio;

/** The HostFile contract on the io_uring engine. */
class IoUringHostFileTest extends HostFileContractTest {
    @Override
    protected HostFileOptions options() {
        return HostFileOptions.defaults().withEngine(HostFileOptions.Engine.IO_URING).withDirect(false);
    }

    @Override
    protected String expectedEngine() {
        return "io_uring";
    }
}
