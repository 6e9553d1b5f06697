package io.jblk.nativeio;

/** The HostFile contract on the filechannel engine with O_DIRECT. */
class ChannelDirectHostFileTest extends HostFileContractTest {
    @Override
    protected HostFileOptions options() {
        return HostFileOptions.defaults().withEngine(HostFileOptions.Engine.FILECHANNEL).withDirect(true);
    }

    @Override
    protected String expectedEngine() {
        return "filechannel";
    }

    @Override
    protected boolean freesStorage() {
        return false;
    }

    @Override
    protected boolean seesHoles() {
        return false;
    }
}
