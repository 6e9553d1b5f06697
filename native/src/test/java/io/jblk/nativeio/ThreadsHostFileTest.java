package io.jblk.nativeio;

/** The HostFile contract on the threads engine. */
class ThreadsHostFileTest extends HostFileContractTest {
    @Override
    protected HostFileOptions options() {
        return HostFileOptions.defaults().withEngine(HostFileOptions.Engine.THREADS).withDirect(false);
    }

    @Override
    protected String expectedEngine() {
        return "threads";
    }

}
