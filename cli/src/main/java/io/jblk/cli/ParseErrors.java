package io.jblk.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Words a command-line mistake the way a user reads it. picocli lumps every argument it could not place into
 * "Unknown options: '--bogus', 'disk.qcow2'", so an image name ends up called an option; here an unknown option is
 * named alone (as getopt does: the first one), and a surplus argument is called an argument, with what the command
 * takes.
 */
final class ParseErrors {
    private ParseErrors() {
    }

    static String describe(ParameterException e) {
        if (!(e instanceof UnmatchedArgumentException unmatched) || unmatched.getUnmatched().isEmpty()) {
            return e.getMessage();
        }
        CommandSpec spec = e.getCommandLine().getCommandSpec();
        List<String> args = unmatched.getUnmatched();
        for (String arg : args) {
            if (looksLikeOption(arg)) {
                List<String> suggestions = unmatched.getSuggestions();
                return "unrecognized option '" + arg + "'" + (suggestions.isEmpty() ? ""
                        : " (did you mean " + String.join(" or ", suggestions) + "?)");
            }
        }
        String first = args.getFirst();
        if (!spec.subcommands().isEmpty() && spec.positionalParameters().isEmpty()) {
            return "Command not found: " + first;
        }
        String takes = spec.positionalParameters().stream().map(PositionalParamSpec::paramLabel)
                .collect(Collectors.joining(" "));
        return "unexpected argument '" + first + "'" + (args.size() > 1 ? " (and " + (args.size() - 1) + " more)" : "")
                + ": " + spec.qualifiedName() + " takes " + (takes.isEmpty() ? "no arguments" : takes);
    }

    /** "-x", "--name", "--name=value"; not "-" (stdin) and not a negative number. */
    private static boolean looksLikeOption(String arg) {
        return arg.length() > 1 && arg.startsWith("-") && !Character.isDigit(arg.charAt(1)) && arg.charAt(1) != '.';
    }
}
