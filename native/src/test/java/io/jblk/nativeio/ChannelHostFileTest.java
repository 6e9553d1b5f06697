package io.jblk.nativeio;

/** The HostFile contract on the filechannel engine. */
class ChannelHostFileTest extends HostFileContractTest {
    @Override
    protected HostFileOptions options() {
        return HostFileOptions.defaults().withEngine(HostFileOptions.Engine.FILECHANNEL).withDirect(false);
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
