package io.jblk.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** Entry point of the {@code jblk} command. */
@Command(name = "jblk", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = "Disk images with qemu-img's and qemu-io's habits, served by jblk's drivers.",
        subcommands = {CreateCommand.class, InfoCommand.class, MapCommand.class, CompareCommand.class,
                IoCommand.class, CheckCommand.class, ResizeCommand.class, ConvertCommand.class,
                BenchCommand.class, DemoCommand.class, SnapshotCommand.class,
                ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
    static final String VERSION = "jblk 0.1.0";

    @Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "print the stack trace of an error (without it an error is one 'jblk: ' line)")
    boolean debug;

    public static void main(String[] args) {
        boolean debug = Arrays.asList(args).contains("--debug");
        // An error on another thread (a driver's, a worker's) is one line too, unless --debug asks for the trace.
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            System.err.println("jblk: internal error in thread '" + thread.getName() + "': " + describe(e));
            if (debug) {
                e.printStackTrace();
            }
        });
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code, writing to the process's stdout and stderr. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given output streams (for tests) and returns its exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        Main main = new Main();
        CommandLine line = commandLine(main);
        // a parse error may come before picocli has set the flag
        boolean debugAsked = Arrays.asList(args).contains("--debug");
        line.setOut(out).setErr(err)
                .setParameterExceptionHandler((e, argv) -> {
                    PrintWriter to = e.getCommandLine().getErr();
                    to.println("jblk: " + ParseErrors.describe(e));
                    to.println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName()
                            + " --help' for more information.");
                    if (main.debug || debugAsked) {
                        e.printStackTrace(to);
                    }
                    return 1;
                })
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    int code = cmd.getCommand() instanceof Subcommand s ? s.errorExitCode() : 1;
                    if (e instanceof CliException cli && cli.exitCode() > 0) {
                        code = cli.exitCode();
                    }
                    String message = e instanceof CliException ? e.getMessage() : describe(e);
                    cmd.getErr().println("jblk: " + message);
                    if (main.debug) {
                        e.printStackTrace(cmd.getErr());
                    }
                    return code;
                });
        try {
            return line.execute(ResizeArguments.protectSize(args,
                    line.getSubcommands().get("resize").getCommandSpec().optionsMap().keySet()));
        } catch (Error | RuntimeException e) {
            // Errors (and anything picocli lets through) end the command with one line, as exceptions do.
            err.println("jblk: " + describe(e));
            if (main.debug || debugAsked) {
                e.printStackTrace(err);
            }
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /**
     * The command table: every subcommand with its options and parameters, as {@link #run} parses them (tests sweep
     * it, so a new subcommand or option is covered without a list kept by hand).
     */
    static CommandLine commandLine() {
        return commandLine(new Main());
    }

    private static CommandLine commandLine(Main main) {
        CommandLine line = new CommandLine(main);
        // Every subcommand takes -h/--help and -V/--version, so "jblk CMD --help", "jblk help CMD" and the usage
        // printed after an error all show the same text, generated from the options the command really has.
        for (CommandLine sub : line.getSubcommands().values()) {
            CommandSpec spec = sub.getCommandSpec();
            if (!spec.helpCommand()) {
                spec.mixinStandardHelpOptions(true);
                spec.version(VERSION);
            }
        }
        return line;
    }

    /** The message of a failure, worded for a user: what went wrong, not which Java class noticed. */
    static String describe(Throwable e) {
        return switch (e) {
            case OutOfMemoryError oom -> "out of memory (" + Images.describe(oom) + "); this is a jblk bug when the "
                    + "input was valid, please report it with the command line";
            case StackOverflowError so -> "stack overflow; this is a jblk bug, please report it with the command line";
            default -> Images.describe(e);
        };
    }

    @picocli.CommandLine.Spec
    CommandSpec spec;

    /** "jblk" alone: like qemu-img without a command, an error (exit 1) followed by the list of commands. */
    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("jblk: missing command");
        spec.commandLine().usage(err);
        return 1;
    }

    /**
     * "resize FILE -1M": qemu-img takes the last argument as the size before it reads any option, so a last argument
     * that starts with '-' and is not one of resize's options ("-1M", "--1") is the size, not an unknown option.
     */
    static final class ResizeArguments {
        private ResizeArguments() {
        }

        static String[] protectSize(String[] args, java.util.Set<String> resizeOptions) {
            List<String> list = new ArrayList<>(Arrays.asList(args));
            int command = 0;
            while (command < list.size() && list.get(command).startsWith("-")) {
                command++; // global options such as --debug
            }
            int last = list.size() - 1;
            String size = last >= 0 ? list.get(last) : "";
            if (command < last && list.get(command).equals("resize") && !list.subList(command, last).contains("--")
                    && size.startsWith("-") && !resizeOptions.contains(size)) {
                list.add(last, "--");
            }
            return list.toArray(String[]::new);
        }
    }
}
