package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Predicate;

/** HTTP helpers shared by the simulator tests. */
final class SimTestSupport {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Safety net only: each wait ends as soon as its event happens. */
    static final Duration SAFETY = Duration.ofSeconds(20);

    private SimTestSupport() {
    }

    static HttpResponse<String> get(URI base, String path) throws IOException, InterruptedException {
        return CLIENT.send(HttpRequest.newBuilder(base.resolve(path)).timeout(SAFETY).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(URI base, String path, String json) throws IOException, InterruptedException {
        return CLIENT.send(postRequest(base, path, json), HttpResponse.BodyHandlers.ofString());
    }

    static HttpRequest postRequest(URI base, String path, String json) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(SAFETY)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
    }

    static JsonNode json(String s) throws IOException {
        return JSON.readTree(s);
    }

    static String chat(String content, Integer maxTokens, boolean stream) {
        StringBuilder b = new StringBuilder("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":");
        b.append(JSON.valueToTree(content).toString()).append("}]");
        if (maxTokens != null) {
            b.append(",\"max_tokens\":").append(maxTokens);
        }
        if (stream) {
            b.append(",\"stream\":true");
        }
        return b.append('}').toString();
    }

    /** The value of an unlabelled-or-labelled sample in Prometheus text, or NaN when absent. */
    static double metric(String text, String name) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ") || (name.contains("{") && line.startsWith(name))) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }

    static double metric(SimulatedVllm sim, String name) throws IOException, InterruptedException {
        return metric(get(sim.baseUrl(), "/metrics").body(), name);
    }

    /**
     * Waits until the simulator's engine state satisfies {@code condition}: woken by the engine at
     * each step, bounded by the safety net; whether it held.
     */
    static boolean awaitState(SimulatedVllm sim, Predicate<? super SimulatedVllm> condition) throws InterruptedException {
        return sim.awaitState(condition, SAFETY);
    }

    /** A raw HTTP/1.1 POST on its own socket, so a test can cut the connection or read a cut stream. */
    static Socket rawPost(SimulatedVllm sim, String path, String json) throws IOException {
        Socket s = new Socket("127.0.0.1", sim.port());
        s.setSoTimeout((int) SAFETY.toMillis());
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
        return s;
    }

    /** Reads from {@code in} until {@code marker} has been seen; returns what was read. */
    static String readUntil(InputStream in, String marker) throws IOException {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            seen.write(c);
            if (seen.toString(StandardCharsets.UTF_8).endsWith(marker)) {
                break;
            }
        }
        return seen.toString(StandardCharsets.UTF_8);
    }
}
