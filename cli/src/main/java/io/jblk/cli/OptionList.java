package io.jblk.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** qemu-img's {@code -o name=value,name=value} syntax: options may repeat, ",," is a literal comma. */
final class OptionList {
    private OptionList() {
    }

    static Map<String, String> parse(List<String> args) {
        Map<String, String> options = new LinkedHashMap<>();
        if (args == null) {
            return options;
        }
        for (String arg : args) {
            StringBuilder item = new StringBuilder();
            for (int i = 0; i <= arg.length(); i++) {
                if (i < arg.length() && arg.charAt(i) == ',' && i + 1 < arg.length() && arg.charAt(i + 1) == ',') {
                    item.append(',');
                    i++;
                } else if (i == arg.length() || arg.charAt(i) == ',') {
                    put(options, item.toString());
                    item.setLength(0);
                } else {
                    item.append(arg.charAt(i));
                }
            }
        }
        return options;
    }

    private static void put(Map<String, String> options, String item) {
        if (item.isEmpty()) {
            return;
        }
        int eq = item.indexOf('=');
        if (eq < 0) {
            // "help" and "?" stand alone; a bare flag name means "on", as in qemu's option parser
            options.put(item, item.equals("help") || item.equals("?") ? "" : "on");
        } else if (eq == 0) {
            throw new CliException("Invalid option '" + item + "': missing name before '='");
        } else {
            options.put(item.substring(0, eq), item.substring(eq + 1));
        }
    }

    static boolean wantsHelp(Map<String, String> options) {
        return options.containsKey("help") || options.containsKey("?");
    }
}
