package io.jblk.tests.reliability;

import io.jblk.api.testing.ExternalTool;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@code qemu-img check --output=json} (QEMU's tool, the reference for "consistent") and parses its report.
 * Exit codes: 0 clean or repaired, 1 check could not run, 2 corruptions, 3 leaks only, 63 no check for the format.
 */
public final class QemuImgCheck {
    private static final JsonFactory JSON = new JsonFactory();

    private QemuImgCheck() {
    }

    /**
     * The parsed report; counts qemu-img leaves out are zero.
     *
     * @param transcript the command and its output, for failure messages
     */
    public record Report(int exitCode, long corruptions, long leaks, long checkErrors, long corruptionsFixed,
                         long leaksFixed, long imageEndOffset, String transcript) {

        public boolean clean() {
            return exitCode == 0 && corruptions == 0 && leaks == 0 && checkErrors == 0;
        }

        /** No corruption and no check error; leaks are allowed. */
        public boolean consistent() {
            return (exitCode == 0 || exitCode == 3) && corruptions == 0 && checkErrors == 0;
        }
    }

    /** {@code qemu-img check --output=json -f qcow2 IMAGE [-r MODE]}; {@code repair} may be null. */
    public static Report run(Path image, String repair) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("check", "--output=json", "-f", "qcow2"));
        if (repair != null) {
            args.addAll(List.of("-r", repair));
        }
        args.add(image.toString());
        ExternalTool.Result result = ExternalTool.qemuImg(args.toArray(String[]::new));
        String transcript = String.join(" ", result.command()) + " -> exit " + result.exitCode()
                + "\nstdout:\n" + result.stdout() + "\nstderr:\n" + result.stderr();
        if (result.exitCode() == 1 || result.stdout().isBlank()) {
            throw new AssertionError("qemu-img check could not check the image: " + transcript);
        }
        return parse(result.exitCode(), result.stdout(), transcript);
    }

    static Report parse(int exitCode, String json, String transcript) {
        long corruptions = 0;
        long leaks = 0;
        long checkErrors = 0;
        long corruptionsFixed = 0;
        long leaksFixed = 0;
        long end = -1;
        try (JsonParser parser = JSON.createParser(ObjectReadContext.empty(), json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new AssertionError("qemu-img check printed no JSON object: " + transcript);
            }
            while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
                    parser.skipChildren();
                    continue;
                }
                switch (name) {
                    case "corruptions" -> corruptions = parser.getLongValue();
                    case "leaks" -> leaks = parser.getLongValue();
                    case "check-errors" -> checkErrors = parser.getLongValue();
                    case "corruptions-fixed" -> corruptionsFixed = parser.getLongValue();
                    case "leaks-fixed" -> leaksFixed = parser.getLongValue();
                    case "image-end-offset" -> end = parser.getLongValue();
                    default -> {
                        // filename, format, allocated-clusters, …: not needed for verdicts
                    }
                }
            }
        }
        return new Report(exitCode, corruptions, leaks, checkErrors, corruptionsFixed, leaksFixed, end, transcript);
    }
}
