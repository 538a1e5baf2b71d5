package io.vllmrouter.core.metrics;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
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
 * The {@code /metrics} samples of real servers in {@code src/test/resources/fixtures/metrics}, and
 * the figures their README states.
 */
final class MetricsFixtures {

    /**
     * running, waiting, KV-cache usage, KV-cache size in tokens (-1: not published) and whether the
     * server is awake (1) or asleep (0) for one sample, as the README's table gives them.
     */
    record Expected(String file, double running, double waiting, double usage, long cacheTokens, boolean awake) {
    }

    private static final Pattern LEADING_NUMBER = Pattern.compile("^\\s*(-?[0-9]+(?:\\.[0-9]+)?)");

    private MetricsFixtures() {
    }

    /** The fixtures directory, found on the test class path (Maven copies the test resources there). */
    static Path dir() {
        URL readme = MetricsFixtures.class.getResource("/fixtures/metrics/README.md");
        if (readme == null) {
            fail("fixtures/metrics/README.md is not on the test class path (src/test/resources of router-core)");
        }
        try {
            return Path.of(readme.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("fixtures are not in a directory: " + readme, e);
        }
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
     * The README's table rows {@code | file | server | running | waiting | usage | cache tokens | awake | notes |};
     * each figure is the number the cell starts with ("7 (3+4)" is 7).
     */
    static Map<String, Expected> readmeFigures() {
        Map<String, Expected> rows = new LinkedHashMap<>();
        for (String line : read(dir().resolve("README.md")).split("\n")) {
            String[] cells = line.split("\\|", -1);
            if (cells.length < 9 || !cells[1].strip().endsWith(".txt")) {
                continue;
            }
            String file = cells[1].strip();
            rows.put(file, new Expected(file, number(file, cells[3]), number(file, cells[4]), number(file, cells[5]),
                    (long) number(file, cells[6]), number(file, cells[7]) == 1));
        }
        if (rows.isEmpty()) {
            fail("README.md in " + dir() + " has no table rows '| file.txt | server | running | waiting | usage | cache tokens | awake | notes |'");
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
