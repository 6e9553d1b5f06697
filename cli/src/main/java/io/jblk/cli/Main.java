package io.jblk.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** Entry point of the {@code jblk} command. */
@Command(name = "jblk", mixinStandardHelpOptions = true, version = "jblk 0.1.0",
        description = "Disk images with qemu-img's and qemu-io's habits, served by jblk's drivers.",
        subcommands = {CreateCommand.class, InfoCommand.class, MapCommand.class, CompareCommand.class,
                IoCommand.class, CheckCommand.class, ResizeCommand.class, ConvertCommand.class,
                BenchCommand.class, DemoCommand.class, SnapshotCommand.class,
                ServeCommand.class})
public final class Main implements Callable<Integer> {

    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT, description = "print stack traces of errors")
    boolean debug;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code, writing to the process's stdout and stderr. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given output streams (for tests) and returns its exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        Main main = new Main();
        CommandLine line = new CommandLine(main);
        line.setOut(out).setErr(err)
                .setParameterExceptionHandler((e, argv) -> {
                    e.getCommandLine().getErr().println("jblk: " + e.getMessage());
                    e.getCommandLine().getErr().println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName()
                            + " --help' for more information.");
                    return 1;
                })
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    int code = cmd.getCommand() instanceof Subcommand s ? s.errorExitCode() : 1;
                    if (e instanceof CliException cli && cli.exitCode() > 0) {
                        code = cli.exitCode();
                    }
                    String message = e instanceof CliException ? e.getMessage() : Images.describe(e);
                    cmd.getErr().println("jblk: " + message);
                    if (main.debug) {
                        e.printStackTrace(cmd.getErr());
                    }
                    return code;
                });
        // "resize FILE -1M": a negative size is an argument, not an unknown option, as in qemu-img
        line.getSubcommands().get("resize").setUnmatchedOptionsArePositionalParams(true);
        try {
            return line.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }
}
