package io.jblk.tests.sweep;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

/**
 * A child JVM that runs {@code jblk} command lines one after another, so that a sweep of hundreds of commands pays
 * the JVM's start once, while a command that hangs can still be stopped by killing the process
 * ({@link JblkProcess}). Each input line is one command line, arguments separated by tabs; each answer is one line
 * starting with {@link #ANSWER}: exit code, milliseconds taken, and stderr with line breaks escaped.
 */
public final class JblkWorker {
    static final String ANSWER = "@@jblk-worker\t";

    private JblkWorker() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream answers = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        // The cli module exports nothing (it is a command, not a library); on the worker's class path its public entry
        // point Main.run(PrintWriter, PrintWriter, String...) is reachable by name.
        java.lang.reflect.Method run = Class.forName("io.jblk.cli.Main")
                .getMethod("run", PrintWriter.class, PrintWriter.class, String[].class);
        answers.println(ANSWER + "ready");
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            long start = System.nanoTime();
            int code = (int) run.invoke(null, new PrintWriter(out), new PrintWriter(err), (Object) line.split("\t"));
            long millis = (System.nanoTime() - start) / 1_000_000;
            answers.println(ANSWER + code + "\t" + millis + "\t" + escape(err.toString()));
        }
    }

    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t");
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                b.append(n == 'n' ? '\n' : n == 't' ? '\t' : n);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
