package io.jblk.nativeio;

/** The HostFile contract on the threads engine with O_DIRECT. */
class ThreadsDirectHostFileTest extends HostFileContractTest {
    @Override
    protected HostFileOptions options() {
        return HostFileOptions.defaults().withEngine(HostFileOptions.Engine.THREADS).withDirect(true);
    }

    @Override
    protected String expectedEngine() {
        return "threads";
    }

}
