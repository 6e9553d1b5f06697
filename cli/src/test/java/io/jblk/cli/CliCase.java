package io.jblk.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One black-box case: a {@code jblk} command line, what its exit code and output must show, and the same command
 * for QEMU's tool where there is one (then the two must agree on success versus failure). Every case also asserts
 * that no output holds a Java stack trace, unless it is a {@code --debug} case, where one must appear.
 */
final class CliCase {
    /** An extra assertion on jblk's run and its directory (for example: a file is unchanged). */
    interface Check {
        void check(ChildProcess.Result jblk, Path runDirectory) throws Exception;
    }

    /** Prepares a run's directory beyond the standard fixtures. */
    interface Setup {
        void prepare(Path runDirectory) throws Exception;
    }

    final String name;
    final List<String> args;
    private List<String> qemu;
    private Integer exitCode;
    private boolean failure;
    private final List<List<String>> mentions = new ArrayList<>();
    private final List<Check> checks = new ArrayList<>();
    private Setup setup = dir -> { };
    private boolean traceExpected;
    private boolean needsReadOnlyFixtures;
    private long addressSpace;
    private String sameStdoutGroup;

    CliCase(String name, List<String> args) {
        this.name = name;
        this.args = List.copyOf(args);
    }

    /** QEMU's command for the same thing: tool name then arguments, run in a run directory of its own. */
    CliCase qemu(List<String> command) {
        this.qemu = command == null ? null : List.copyOf(command);
        return this;
    }

    CliCase exit(int code) {
        this.exitCode = code;
        return this;
    }

    /** Any non-zero exit code. */
    CliCase fails() {
        this.failure = true;
        return this;
    }

    /** The output (stdout and stderr) names one of these, ignoring case: the message says what is wrong. */
    CliCase mentions(String... anyOf) {
        mentions.add(List.of(anyOf));
        return this;
    }

    CliCase check(Check check) {
        checks.add(check);
        return this;
    }

    CliCase setup(Setup setup) {
        this.setup = setup;
        return this;
    }

    CliCase expectsTrace() {
        this.traceExpected = true;
        return this;
    }

    CliCase needsReadOnlyFixtures() {
        this.needsReadOnlyFixtures = true;
        return this;
    }

    /** Runs jblk under this virtual memory limit (bytes), so a buffer sized by a bad request cannot be allocated. */
    CliCase addressSpace(long bytes) {
        this.addressSpace = bytes;
        return this;
    }

    /** All cases of {@code group} must print exactly the same stdout (e.g. the three ways to ask for help). */
    CliCase sameStdoutAs(String group) {
        this.sameStdoutGroup = group;
        return this;
    }

    String sameStdoutGroup() {
        return sameStdoutGroup;
    }

    List<String> qemu() {
        return qemu;
    }

    Setup setup() {
        return setup;
    }

    long addressSpace() {
        return addressSpace;
    }

    boolean needsReadOnly() {
        return needsReadOnlyFixtures;
    }

    /** Asserts everything about jblk's run, then, when QEMU ran too, that both succeeded or both failed. */
    void verify(ChildProcess.Result jblk, Path runDirectory, ChildProcess.Result qemuRun) throws Exception {
        String transcript = " [" + name + "]\n" + jblk.transcript() + (qemuRun == null ? "" : "\nQEMU: " + qemuRun.transcript());
        assertFalse(jblk.hung(), "hung" + transcript);
        if (traceExpected) {
            assertTrue(jblk.hasStackTrace(), "--debug must show the stack trace" + transcript);
        } else {
            assertFalse(jblk.hasStackTrace(), "a Java stack trace without --debug" + transcript);
        }
        if (exitCode != null) {
            assertEquals(exitCode.intValue(), jblk.exitCode(), "exit code" + transcript);
        }
        if (failure) {
            assertTrue(jblk.exitCode() != 0, "must fail" + transcript);
        }
        String output = jblk.output().toLowerCase(Locale.ROOT);
        for (List<String> anyOf : mentions) {
            if (anyOf.stream().noneMatch(word -> output.contains(word.toLowerCase(Locale.ROOT)))) {
                fail("the output names none of " + anyOf + transcript);
            }
        }
        for (Check check : checks) {
            check.check(jblk, runDirectory);
        }
        if (qemuRun != null) {
            assertFalse(qemuRun.hung(), "QEMU's tool hung" + transcript);
            assertEquals(qemuRun.exitCode() == 0, jblk.exitCode() == 0,
                    "jblk and QEMU disagree on success" + transcript);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
