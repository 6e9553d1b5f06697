package io.jblk.cli;

/** {@code --output=human|json}, as qemu-img spells it. */
final class OutputFormat {
    private OutputFormat() {
    }

    static boolean isJson(String output) {
        return switch (output) {
            case "json" -> true;
            case "human" -> false;
            default -> throw new CliException("--output must be used with human or json as argument, not '"
                    + output + "'");
        };
    }
}
