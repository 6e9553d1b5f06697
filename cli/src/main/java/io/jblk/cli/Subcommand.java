package io.jblk.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** What every subcommand shares: its output streams and the exit code it reports for an unexpected failure. */
abstract class Subcommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Exit code for an error (qemu-img uses 1 almost everywhere; compare uses 2). */
    int errorExitCode() {
        return 1;
    }
}
