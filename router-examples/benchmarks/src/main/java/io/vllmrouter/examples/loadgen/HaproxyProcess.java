package io.vllmrouter.examples.loadgen;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * HAProxy with {@code balance leastconn} over the given backends, as a child process on 127.0.0.1,
 * for benchmarks that compare the router with it. Its configuration and log go to a temporary
 * folder; {@link #close()} stops the process (and it dies with this JVM).
 *
 * <pre>{@code
 * try (HaproxyProcess h = HaproxyProcess.start(HaproxyProcess.find(null).orElseThrow(), backends)) {
 *     URI target = URI.create("http://127.0.0.1:" + h.port() + "/v1/chat/completions");
 * }
 * }</pre>
 */
final class HaproxyProcess implements AutoCloseable {

    private final Process process;
    private final Path dir;
    private final int port;

    private HaproxyProcess(Process process, Path dir, int port) {
        this.process = process;
        this.dir = dir;
        this.port = port;
    }

    /** {@code given} when it is a file, else {@code haproxy} on the PATH or in /usr/sbin; empty when there is none. */
    static Optional<Path> find(String given) {
        if (given != null && !given.isBlank()) {
            Path p = Path.of(given);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : (path + File.pathSeparator + "/usr/sbin").split(File.pathSeparator)) {
            Path p = Path.of(d.isEmpty() ? "." : d, "haproxy");
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Starts HAProxy and returns once it answers {@code GET /health} (through to a backend). */
    static HaproxyProcess start(Path exe, List<URI> backends) throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dir = Files.createTempDirectory("vllm-router-haproxy");
        StringBuilder cfg = new StringBuilder();
        cfg.append("global\n  maxconn 4000\n")
                .append("defaults\n  mode http\n  timeout connect 5s\n  timeout client 600s\n  timeout server 600s\n")
                .append("  option http-keep-alive\n")
                .append("frontend fe\n  bind 127.0.0.1:").append(port).append("\n  default_backend vllm\n")
                .append("backend vllm\n  balance leastconn\n");
        for (int i = 0; i < backends.size(); i++) {
            URI b = backends.get(i);
            cfg.append("  server s").append(i).append(' ').append(b.getHost()).append(':').append(b.getPort()).append('\n');
        }
        Path file = dir.resolve("haproxy.cfg");
        Files.writeString(file, cfg, StandardCharsets.UTF_8);
        Process p = new ProcessBuilder(exe.toString(), "-f", file.toString(), "-db")
                .redirectErrorStream(true).redirectOutput(dir.resolve("haproxy.log").toFile()).start();
        HaproxyProcess h = new HaproxyProcess(p, dir, port);
        try {
            h.awaitReady();
        } catch (IOException | InterruptedException | RuntimeException e) {
            h.close();
            throw e;
        }
        return h;
    }

    private void awaitReady() throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        URI health = URI.create("http://127.0.0.1:" + port + "/health");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("haproxy exited (" + process.exitValue() + "): "
                        + Files.readString(dir.resolve("haproxy.log"), StandardCharsets.UTF_8).strip());
            }
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(1)).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(50); // polling a child process that has no readiness event
        }
        throw new IOException("haproxy did not answer on port " + port + " within 10 s");
    }

    int port() {
        return port;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a temporary folder left behind is harmless
        }
    }
}
