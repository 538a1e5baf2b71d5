package io.vllmrouter.core.metrics;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The shared {@code /metrics} samples in {@code fixtures/metrics} under the directory named by the
 * system property {@code vllmrouter.shared.dir}, and the figures their README states.
 */
final class MetricsFixtures {

    /** running, waiting and KV-cache usage of one sample, as the README's table gives them. */
    record Expected(String file, double running, double waiting, double usage) {
    }

    private static final Pattern LEADING_NUMBER = Pattern.compile("^\\s*([0-9]+(?:\\.[0-9]+)?)");

    private MetricsFixtures() {
    }

    static Path dir() {
        String shared = System.getProperty("vllmrouter.shared.dir");
        if (shared == null || shared.isBlank()) {
            fail("system property vllmrouter.shared.dir is not set: run the tests through Maven (surefire"
                    + " sets it to ${maven.multiModuleProjectDirectory}/../shared) or pass"
                    + " -Dvllmrouter.shared.dir=/path/to/shared");
        }
        Path dir = Path.of(shared, "fixtures", "metrics");
        if (!Files.isDirectory(dir)) {
            fail("metrics fixtures directory is missing: " + dir.toAbsolutePath()
                    + " (from vllmrouter.shared.dir=" + shared + ")");
        }
        return dir;
    }

    static List<Path> samples() {
        try (Stream<Path> files = Files.list(dir())) {
            List<Path> list = new ArrayList<>(files.filter(p -> p.getFileName().toString().endsWith(".txt"))
                    .sorted().toList());
            if (list.isEmpty()) {
                fail("no *.txt samples in " + dir());
            }
            return list;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String read(String name) {
        return read(dir().resolve(name));
    }

    /**
     * The README's table rows {@code | file | server | running | waiting | usage | notes |}; each
     * figure is the number the cell starts with ("7 (3+4)" is 7).
     */
    static Map<String, Expected> readmeFigures() {
        Map<String, Expected> rows = new LinkedHashMap<>();
        for (String line : read(dir().resolve("README.md")).split("\n")) {
            String[] cells = line.split("\\|", -1);
            if (cells.length < 7 || !cells[1].strip().endsWith(".txt")) {
                continue;
            }
            String file = cells[1].strip();
            rows.put(file, new Expected(file, number(file, cells[3]), number(file, cells[4]), number(file, cells[5])));
        }
        if (rows.isEmpty()) {
            fail("README.md in " + dir() + " has no table rows '| file.txt | server | running | waiting | usage |'");
        }
        return rows;
    }

    private static double number(String file, String cell) {
        Matcher m = LEADING_NUMBER.matcher(cell);
        if (!m.find()) {
            fail("README.md row for " + file + ": cell '" + cell.strip() + "' does not start with a number");
        }
        return Double.parseDouble(m.group(1));
    }
}
