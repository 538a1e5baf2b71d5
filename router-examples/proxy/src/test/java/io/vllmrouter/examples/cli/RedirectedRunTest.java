package io.vllmrouter.examples.cli;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code vllm-router run > log}: in a real process whose stdout is not a terminal (as under
 * nohup, systemd or Docker), the proxy writes plain log lines instead of drawing the dashboard.
 * Runs on the JDK running the tests and, when installed, on JDK 25, where {@code System.console()}
 * is no longer null with output redirected.
 */
class RedirectedRunTest {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

    static List<String> javas() {
        List<String> javas = new ArrayList<>();
        javas.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Path jdk25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        if (Files.isExecutable(jdk25)) {
            javas.add(jdk25.toString());
        }
        return javas;
    }

    /** The class path of these tests, for a child JVM. */
    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    @ParameterizedTest
    @MethodSource("javas")
    @Timeout(120)
    void runWithStdoutRedirectedWritesPlainLogLines(String java, @TempDir Path dir) throws Exception {
        Path config = Files.writeString(dir.resolve("servers.toml"), "[servers]\nservers = []\n");
        Process p = new ProcessBuilder(java, "-cp", classPath(), Main.class.getName(), "run",
                "--config", config.toString(), "--host", "127.0.0.1", "--port", "0", "--log-dir", dir.resolve("logs").toString())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            int port = -1;
            String line;
            while (port < 0 && (line = out.readLine()) != null) {
                lines.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
            assertThat(port).as("a 'listening on' line in %s", lines).isPositive();
            HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/health")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(503); // no servers configured
            p.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its output)
            while ((line = out.readLine()) != null) {
                lines.add(line);
            }
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        String all = String.join("\n", lines);
        assertThat(all).as("output").doesNotContain("\u001b").contains("INFO").contains("starting")
                .contains("vllm-router stopped");
        assertThat(p.exitValue()).as("exit code; output:%n%s", all).isZero();
    }
}
