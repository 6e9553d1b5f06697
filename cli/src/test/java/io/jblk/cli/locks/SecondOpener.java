package io.jblk.cli.locks;

import java.util.List;

/**
 * A command that opens an image while a {@link Holder} has it: QEMU's tool and jblk's command with the same
 * arguments. In the argument lists {@code IMG} and {@code FMT} stand for the image and its format, {@code OTHER} for
 * an unlocked image of the same format and size, {@code OUT} for a fresh output file, {@code SOCK} for a socket path.
 *
 * @param name   how the matrix prints it
 * @param qemu   QEMU's command line
 * @param jblk   jblk's arguments (after {@code jblk})
 * @param server a server that keeps running once it has opened the image (qemu-nbd, jblk serve)
 */
record SecondOpener(String name, List<String> qemu, List<String> jblk, boolean server) {

    static SecondOpener of(String name, String qemu, String jblk) {
        return new SecondOpener(name, split(qemu), split(jblk), false);
    }

    static SecondOpener server(String name, String qemu, String jblk) {
        return new SecondOpener(name, split(qemu), split(jblk), true);
    }

    /** Splits on spaces; {@code _} inside an argument stands for a space ("read_0_512" is "read 0 512"). */
    private static List<String> split(String line) {
        return java.util.Arrays.stream(line.split(" ")).map(s -> s.replace('_', ' ')).toList();
    }

    /** Whether the command creates or rewrites its image file, so its bytes must not change when refused. */
    boolean truncates() {
        return name.startsWith("create");
    }

    /** Every qemu-img / qemu-io / qemu-nbd command jblk mirrors, as a second opener of a {@code FMT} image. */
    static List<SecondOpener> all(boolean qcow2) {
        List<SecondOpener> list = new java.util.ArrayList<>(List.of(
                of("info", "qemu-img info -f FMT IMG", "info -f FMT IMG"),
                of("info -U", "qemu-img info -U -f FMT IMG", "info -U -f FMT IMG"),
                of("check", "qemu-img check -f FMT IMG", "check -f FMT IMG"),
                of("check -U", "qemu-img check -U -f FMT IMG", "check -U -f FMT IMG"),
                of("check -r all", "qemu-img check -r all -f FMT IMG", "check -r all -f FMT IMG"),
                of("map", "qemu-img map -f FMT IMG", "map -f FMT IMG"),
                of("map -U", "qemu-img map -U -f FMT IMG", "map -U -f FMT IMG"),
                of("compare", "qemu-img compare -f FMT -F FMT IMG OTHER", "compare -f FMT -F FMT IMG OTHER"),
                of("compare -U", "qemu-img compare -U -f FMT -F FMT IMG OTHER", "compare -U -f FMT -F FMT IMG OTHER"),
                of("convert from", "qemu-img convert -f FMT -O raw IMG OUT", "convert -f FMT -O raw IMG OUT"),
                of("convert -U from", "qemu-img convert -U -f FMT -O raw IMG OUT", "convert -U -f FMT -O raw IMG OUT"),
                of("convert -n into", "qemu-img convert -n -f FMT -O FMT OTHER IMG", "convert -n -f FMT -O FMT OTHER IMG"),
                of("io -r", "qemu-io -f FMT -r -c read_0_512 IMG", "io -f FMT -r -c read_0_512 IMG"),
                of("io -r -U", "qemu-io -f FMT -r -U -c read_0_512 IMG", "io -f FMT -r -U -c read_0_512 IMG"),
                of("io", "qemu-io -f FMT -c read_0_512 IMG", "io -f FMT -c read_0_512 IMG"),
                of("resize", "qemu-img resize -f FMT IMG 1M", "resize -f FMT IMG 1M"),
                of("bench", "qemu-img bench -f FMT -c 1 IMG", "bench -f FMT -c 1 IMG"),
                of("bench -U", "qemu-img bench -U -f FMT -c 1 IMG", "bench -U -f FMT -c 1 IMG"),
                of("bench -w", "qemu-img bench -w -f FMT -c 1 IMG", "bench -w --warmup 0 -f FMT -c 1 IMG"),
                of("create", "qemu-img create -q -f FMT IMG 1M", "create -q -f FMT IMG 1M"),
                server("serve", "qemu-nbd -f FMT -k SOCK IMG", "serve -f FMT -k SOCK IMG"),
                server("serve -r", "qemu-nbd -r -f FMT -k SOCK IMG", "serve -r -f FMT -k SOCK IMG")));
        if (qcow2) {
            // qemu-img snapshot has no -f: it probes, which raw images make awkward
            list.add(of("snapshot -l", "qemu-img snapshot -l IMG", "snapshot -l IMG"));
        }
        return list;
    }

    /** The commands that open an image of a backing chain or with a data file, as the chain cases use them. */
    static List<SecondOpener> chain() {
        return List.of(
                of("info", "qemu-img info -f FMT IMG", "info -f FMT IMG"),
                of("check", "qemu-img check -f FMT IMG", "check -f FMT IMG"),
                of("map", "qemu-img map -f FMT IMG", "map -f FMT IMG"),
                of("io -r", "qemu-io -f FMT -r -c read_0_512 IMG", "io -f FMT -r -c read_0_512 IMG"),
                of("io -r -U", "qemu-io -f FMT -r -U -c read_0_512 IMG", "io -f FMT -r -U -c read_0_512 IMG"),
                of("io", "qemu-io -f FMT -c read_0_512 IMG", "io -f FMT -c read_0_512 IMG"),
                of("resize", "qemu-img resize -f FMT IMG 1M", "resize -f FMT IMG 1M"));
    }
}
