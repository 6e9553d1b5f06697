package io.jblk.cli;

import io.jblk.api.testing.ExternalTool;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Runs {@link Main} in-process and compares its answers with QEMU's tools. */
final class Cli {
    private Cli() {
    }

    record Result(int exitCode, String stdout, String stderr) {
        Result expect(int code) {
            if (exitCode != code) {
                fail("expected exit code " + code + " but got " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
            }
            return this;
        }
    }

    static Result jblk(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Result(code, out.toString(), err.toString());
    }

    static ExternalTool.Result qemuImg(String... args) throws Exception {
        return ExternalTool.qemuImg(args);
    }

    static ExternalTool.Result qemuIo(String... args) throws Exception {
        return ExternalTool.qemuIo(args);
    }

    /** Parses JSON into Map (insertion-ordered) / List / String / Long / Double / Boolean / null. */
    static Object parse(String json) {
        try (JsonParser p = new JsonFactory().createParser(ObjectReadContext.empty(), json)) {
            p.nextToken();
            return value(p);
        }
    }

    private static Object value(JsonParser p) {
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, value(p));
                }
                return m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(value(p));
                }
                return l;
            }
            case VALUE_STRING -> {
                return p.getString();
            }
            case VALUE_NUMBER_INT -> {
                return p.getLongValue();
            }
            case VALUE_NUMBER_FLOAT -> {
                return p.getDoubleValue();
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return p.getBooleanValue();
            }
            case VALUE_NULL -> {
                return null;
            }
            default -> throw new IllegalStateException("unexpected JSON token " + t);
        }
    }

    /**
     * Asserts that every field qemu-img printed is present in jblk's object with an equal value, and that jblk
     * adds no fields except {@code extras}.
     */
    @SuppressWarnings("unchecked")
    static void assertSameFields(Object qemu, Object jblk, String where, String... extras) {
        if (qemu instanceof Map<?, ?> q && jblk instanceof Map<?, ?> j) {
            for (var e : q.entrySet()) {
                if (!j.containsKey(e.getKey())) {
                    fail(where + ": jblk lacks field '" + e.getKey() + "' (qemu-img: " + e.getValue() + ")\njblk: " + j);
                }
                assertSameFields(e.getValue(), j.get(e.getKey()), where + "." + e.getKey(), extras);
            }
            for (Object key : ((Map<Object, Object>) j).keySet()) {
                if (!q.containsKey(key) && !List.of(extras).contains(key)) {
                    fail(where + ": jblk has field '" + key + "' that qemu-img does not print\nqemu-img: " + q);
                }
            }
        } else if (qemu instanceof List<?> q && jblk instanceof List<?> j) {
            assertEquals(q.size(), j.size(), where + ": list lengths differ\nqemu-img: " + q + "\njblk:     " + j);
            for (int i = 0; i < q.size(); i++) {
                assertSameFields(q.get(i), j.get(i), where + "[" + i + "]", extras);
            }
        } else {
            assertEquals(qemu, jblk, where);
        }
    }
}
