package io.vllmrouter.core.discovery;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Kubernetes API server on 127.0.0.1 that speaks just enough for EndpointSlice discovery: scripted
 * list responses, scripted watch streams (chunked, one JSON event per line, then the end of the
 * stream) or statuses, and pods with annotations. Requests are recorded. When a script runs out the
 * answer is 500.
 */
final class FakeKubernetesApi implements AutoCloseable {

    /** One scripted answer: a status with a body, or (status 200, watch) event lines streamed in chunks. */
    record Answer(int status, String body, List<String> events) {
        static Answer json(String body) {
            return new Answer(200, body, null);
        }

        static Answer status(int status) {
            return new Answer(status, "{\"kind\":\"Status\",\"code\":" + status + "}", null);
        }

        static Answer stream(String... events) {
            return new Answer(200, null, List.of(events));
        }
    }

    private final HttpServer server;
    private final Deque<Answer> lists = new ArrayDeque<>();
    private final Deque<Answer> watches = new ArrayDeque<>();
    private final Map<String, String> podAnnotations = new HashMap<>();
    private final List<String> requests = new ArrayList<>();
    private final List<String> authorizations = new ArrayList<>();

    FakeKubernetesApi() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    synchronized FakeKubernetesApi list(String json) {
        lists.add(Answer.json(json));
        return this;
    }

    synchronized FakeKubernetesApi listAnswer(Answer a) {
        lists.add(a);
        return this;
    }

    synchronized FakeKubernetesApi watch(Answer a) {
        watches.add(a);
        return this;
    }

    synchronized FakeKubernetesApi pod(String name, String annotationsJson) {
        podAnnotations.put(name, annotationsJson);
        return this;
    }

    synchronized List<String> requests() {
        return List.copyOf(requests);
    }

    synchronized List<String> authorizations() {
        return List.copyOf(authorizations);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String uri = URLDecoder.decode(ex.getRequestURI().toString(), StandardCharsets.UTF_8);
            Answer a;
            synchronized (this) {
                requests.add(uri);
                String auth = ex.getRequestHeaders().getFirst("Authorization");
                authorizations.add(auth == null ? "" : auth);
                String path = ex.getRequestURI().getPath();
                if (path.startsWith("/api/v1/namespaces/") && path.contains("/pods/")) {
                    String pod = path.substring(path.lastIndexOf('/') + 1);
                    String ann = podAnnotations.get(pod);
                    a = ann == null ? Answer.status(404)
                            : Answer.json("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"" + pod + "\",\"annotations\":" + ann + "}}");
                } else if (path.endsWith("/endpointslices")) {
                    Deque<Answer> script = uri.contains("watch=true") ? watches : lists;
                    a = script.isEmpty() ? Answer.status(500) : script.poll();
                } else {
                    a = Answer.status(404);
                }
            }
            ex.getResponseHeaders().set("Content-Type", "application/json");
            if (a.events() == null) {
                byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(a.status(), body.length);
                ex.getResponseBody().write(body);
                return;
            }
            ex.sendResponseHeaders(200, 0);   // chunked
            OutputStream out = ex.getResponseBody();
            for (String e : a.events()) {
                out.write((e + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }

    // ---- JSON builders ---------------------------------------------------------------------------

    /** An endpoint of pod {@code pod} at {@code ip}; {@code ready} null leaves the condition out. */
    static String endpoint(String pod, String ip, Boolean ready) {
        return "{\"addresses\":[\"" + ip + "\"]" + (ready == null ? "" : ",\"conditions\":{\"ready\":" + ready + "}")
                + ",\"targetRef\":{\"kind\":\"Pod\",\"name\":\"" + pod + "\",\"uid\":\"uid-" + pod + "\"}}";
    }

    static String slice(String name, String version, String... endpoints) {
        return "{\"kind\":\"EndpointSlice\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"name\":\"" + name
                + "\",\"resourceVersion\":\"" + version + "\",\"labels\":{\"kubernetes.io/service-name\":\"vllm\"}},"
                + "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"metrics\",\"port\":9000},{\"name\":\"http\",\"port\":8000}],"
                + "\"endpoints\":[" + String.join(",", endpoints) + "]}";
    }

    static String sliceList(String version, String... slices) {
        return "{\"kind\":\"EndpointSliceList\",\"apiVersion\":\"discovery.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\""
                + version + "\"},\"items\":[" + String.join(",", slices) + "]}";
    }

    static String event(String type, String object) {
        return "{\"type\":\"" + type + "\",\"object\":" + object + "}";
    }
}
