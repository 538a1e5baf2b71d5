package io.vllmrouter.examples.strategy;

import io.vllmrouter.examples.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The kv-cache-aware strategy given to the proxy as a jar in a plugins directory, as
 * docs/strategies.md shows: this module's classes are packed into a jar at test time, and the
 * proxy runs in its own JVM on a class path without them.
 */
class StrategyPluginTest {

    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void checkConfigAndRunFindTheStrategyInThePluginsDirectory() throws Exception {
        // Not ./plugins of the working directory (the default): the first check runs without it.
        Path plugins = Files.createDirectories(dir.resolve("strategies"));
        jar(pluginClasses(), plugins.resolve("kv-cache-aware.jar"));
        Path config = Files.writeString(dir.resolve("servers.toml"),
                "[servers]\nservers = []\n\n[config]\nstrategy = \"kv-cache-aware\"\n");

        // Without the plugins directory the name is unknown: the child's class path really lacks it.
        Result without = run("check-config", "--no-probe", config.toString());
        assertThat(without.code()).as(without.out()).isEqualTo(1);
        assertThat(without.out()).contains("config.strategy = \"kv-cache-aware\"").contains("weighted-score")
                .contains("no plugin jars in");

        Result checked = run("check-config", "--no-probe", "--plugins", plugins.toString(), config.toString());
        assertThat(checked.code()).as(checked.out()).isZero();
        assertThat(checked.out()).contains("valid").contains("strategy kv-cache-aware");

        Process p = start("run", "--config", config.toString(), "--plugins", plugins.toString(),
                "--host", "127.0.0.1", "--port", "0", "--log-dir", dir.resolve("logs").toString());
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = reader(p)) {
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
            HttpResponse<String> stats = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(stats.statusCode()).isEqualTo(200);
            p.toHandle().destroy(); // SIGTERM
            while ((line = out.readLine()) != null) {
                lines.add(line);
            }
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        String all = String.join("\n", lines);
        assertThat(all).contains("strategy kv-cache-aware").contains("plugins: kv-cache-aware.jar");
        assertThat(p.exitValue()).as(all).isZero();
    }

    record Result(int code, String out) {
    }

    private Result run(String... args) throws Exception {
        Process p = start(args);
        String out;
        try (BufferedReader r = reader(p)) {
            out = r.lines().collect(Collectors.joining("\n"));
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return new Result(p.exitValue(), out);
    }

    private Process start(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPathWithoutPlugin(), Main.class.getName()));
        cmd.addAll(Arrays.asList(args));
        return new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    private static BufferedReader reader(Process p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    /** This module's compiled classes: the strategy and its META-INF/services entry. */
    private static Path pluginClasses() throws Exception {
        return Path.of(KvCacheAwareStrategyProvider.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static String classPathWithoutPlugin() throws Exception {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        Path plugin = pluginClasses().toAbsolutePath().normalize();
        return Arrays.stream(cp.split(File.pathSeparator))
                .filter(e -> !e.isBlank() && !Path.of(e).toAbsolutePath().normalize().equals(plugin))
                .collect(Collectors.joining(File.pathSeparator));
    }

    private static void jar(Path classes, Path jar) throws IOException {
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(os);
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
    }
}
