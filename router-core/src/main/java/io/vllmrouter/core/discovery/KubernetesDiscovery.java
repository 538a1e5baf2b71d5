package io.vllmrouter.core.discovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.time.Scheduler;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Backends from the pods behind a Kubernetes Service: the EndpointSlices ({@code discovery.k8s.io/v1})
 * of a namespace that match a label selector, listed and then watched, so that pods that become ready
 * join and pods that go away leave, each change applied like a configuration reload.
 *
 * <ul>
 *   <li>Only endpoints whose {@code conditions.ready} is not false are used, one backend per address, on
 *       the port named in the configuration (or given by number, or the slice's only port).</li>
 *   <li>A pod's capacity is its {@link DiscoveryConfig#capacityAnnotation()} annotation when it has one
 *       (read once per pod), else {@link DiscoveryConfig#defaultCapacity()}.</li>
 *   <li>List, then watch from the list's {@code resourceVersion} (each watch lasts at most
 *       {@link DiscoveryConfig#watchTimeout()}, then the next one resumes from the last version seen);
 *       410 Gone, as a status or as a watch event, lists again; other failures wait 1 s, 2 s, 4 s, ...
 *       up to {@link DiscoveryConfig#backoffMax()}, keeping the last list meanwhile.</li>
 *   <li>In a cluster it authenticates with the pod's service account token (read again for every
 *       request, as tokens rotate) and trusts the cluster's CA; RBAC needs get, list and watch on
 *       {@code endpointslices} and get on {@code pods} (for the annotation).</li>
 * </ul>
 *
 * <p>Uses only the JDK's HTTP client and Jackson. Each step runs as a task on the scheduler given, which
 * it blocks while a watch is open: give it a scheduler of its own ({@link FleetDiscovery} does).
 */
public final class KubernetesDiscovery implements Discovery {

    private static final System.Logger LOG = System.getLogger(KubernetesDiscovery.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final int PAGE = 500;

    private final DiscoveryConfig config;
    private final Scheduler scheduler;
    private final KubernetesApi api;
    private final String namespace;

    private final Object lock = new Object();
    private Consumer<List<ServerConfig>> onChange;
    private Scheduler.Cancellable next;
    private volatile boolean closed;
    private volatile InputStream openWatch;

    // Touched only by the step task (steps never overlap: each schedules the next).
    private final Map<String, JsonNode> slices = new TreeMap<>();
    private final Map<String, Integer> podCapacity = new HashMap<>();
    private String resourceVersion;
    private int failures;
    private List<ServerConfig> last;

    /** Thrown when the API server says the resource version is gone: list again. */
    private static final class Gone extends Exception {
        private static final long serialVersionUID = 1L;

        Gone(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Discovery against {@code config}'s API server (in-cluster when unset), with an HTTP client
     * that trusts the configured CA file when it exists.
     */
    public static KubernetesDiscovery create(DiscoveryConfig config, Scheduler scheduler, Map<String, String> env) {
        URI api = config.apiServer();
        if (api == null) {
            String host = env.get("KUBERNETES_SERVICE_HOST");
            String port = env.getOrDefault("KUBERNETES_SERVICE_PORT", "443");
            if (host == null || host.isBlank()) {
                throw new IllegalStateException("discovery: not running in Kubernetes (KUBERNETES_SERVICE_HOST is not set)"
                        + " and [discovery] has no api_server");
            }
            api = URI.create("https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port);
        }
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10));
        if ("https".equals(api.getScheme()) && config.caFile() != null && Files.isReadable(config.caFile())) {
            b.sslContext(KubernetesApi.sslContext(config.caFile()));
        }
        return new KubernetesDiscovery(config, scheduler, b.build(), api);
    }

    /** Discovery through {@code http} against the API server at {@code api}. */
    public KubernetesDiscovery(DiscoveryConfig config, Scheduler scheduler, HttpClient http, URI api) {
        this.config = Objects.requireNonNull(config, "config");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.api = new KubernetesApi(Objects.requireNonNull(http, "http"), api, config.tokenFile());
        if (config.kind() != DiscoveryConfig.Kind.KUBERNETES) {
            throw new IllegalArgumentException("kind: " + config.kind() + " (expected: kubernetes)");
        }
        this.namespace = config.namespace() != null ? config.namespace() : KubernetesApi.ownNamespace(config.tokenFile());
    }

    /** The namespace whose EndpointSlices are watched. */
    public String namespace() {
        return namespace;
    }

    @Override
    public void start(Consumer<List<ServerConfig>> listener) {
        synchronized (lock) {
            if (onChange != null) {
                throw new IllegalStateException("already started");
            }
            onChange = Objects.requireNonNull(listener, "onChange");
            next = scheduler.schedule(this::step, Duration.ZERO);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            if (next != null) {
                next.cancel();
            }
        }
        InputStream watch = openWatch;
        if (watch != null) {
            try {
                watch.close();
            } catch (IOException ignored) {
                // closing to unblock the reader
            }
        }
    }

    /** One round: list when needed, then watch until the server ends the stream; schedules the next. */
    private void step() {
        if (closed) {
            return;
        }
        Duration delay = Duration.ZERO;
        try {
            if (resourceVersion == null) {
                list();
            }
            long started = System.nanoTime();
            int events = watch();
            failures = 0;
            if (events == 0 && System.nanoTime() - started < FIRST_BACKOFF.toNanos()) {
                delay = FIRST_BACKOFF;   // a server (or proxy) that ends watches at once: do not spin
            }
        } catch (Gone e) {
            LOG.log(System.Logger.Level.INFO, "discovery: {0}; listing EndpointSlices again", e.getMessage());
            resourceVersion = null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (IOException | RuntimeException e) {
            if (closed) {
                return;
            }
            failures++;
            delay = backoff(failures);
            LOG.log(System.Logger.Level.WARNING, "discovery: EndpointSlices of {0} ({1}) failed: {2}; next try in {3} ms",
                    namespace, config.selector(), e.getMessage(), delay.toMillis());
        }
        synchronized (lock) {
            if (!closed) {
                next = scheduler.schedule(this::step, delay);
            }
        }
    }

    Duration backoff(int failures) {
        long millis = FIRST_BACKOFF.toMillis() << Math.min(20, failures - 1);
        return Duration.ofMillis(Math.min(millis, config.backoffMax().toMillis()));
    }

    private String slicesPath() {
        return "/apis/discovery.k8s.io/v1/namespaces/" + KubernetesApi.enc(namespace) + "/endpointslices?labelSelector="
                + KubernetesApi.enc(config.selector());
    }

    private void list() throws IOException, InterruptedException, Gone {
        Map<String, JsonNode> found = new TreeMap<>();
        String cont = null;
        String version;
        do {
            String path = slicesPath() + "&limit=" + PAGE + (cont == null ? "" : "&continue=" + KubernetesApi.enc(cont));
            HttpResponse<String> r = api.http().send(api.request(path, Duration.ofSeconds(30)), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 410) {
                throw new Gone("the list continuation expired");
            }
            if (r.statusCode() != 200) {
                throw new IOException("list: HTTP " + r.statusCode() + " " + KubernetesApi.brief(r.body()));
            }
            JsonNode body = JSON.readTree(r.body());
            for (JsonNode slice : body.path("items")) {
                found.put(slice.path("metadata").path("name").asText(), slice);
            }
            version = body.path("metadata").path("resourceVersion").asText(null);
            cont = body.path("metadata").path("continue").asText("");
            cont = cont.isEmpty() ? null : cont;
        } while (cont != null);
        slices.clear();
        slices.putAll(found);
        resourceVersion = version;
        publish();
    }

    /** Watches until the server ends the stream; returns the number of events seen. */
    private int watch() throws IOException, InterruptedException, Gone {
        long timeout = Math.max(1, config.watchTimeout().toSeconds());
        String path = slicesPath() + "&watch=true&allowWatchBookmarks=true&timeoutSeconds=" + timeout
                + (resourceVersion == null ? "" : "&resourceVersion=" + KubernetesApi.enc(resourceVersion));
        HttpResponse<InputStream> r = api.http().send(api.request(path, Duration.ofSeconds(30)), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            if (r.statusCode() == 410) {
                throw new Gone("resource version " + resourceVersion + " is gone");
            }
            if (r.statusCode() != 200) {
                throw new IOException("watch: HTTP " + r.statusCode() + " " + KubernetesApi.brief(new String(in.readNBytes(512), StandardCharsets.UTF_8)));
            }
            openWatch = in;
            int events = 0;
            if (closed) {
                return events;
            }
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while (!closed && (line = lines.readLine()) != null) {
                if (!line.isBlank()) {
                    events++;
                    event(JSON.readTree(line));
                }
            }
            return events;
        } finally {
            openWatch = null;
        }
    }

    private void event(JsonNode e) throws Gone, IOException {
        String type = e.path("type").asText();
        JsonNode object = e.path("object");
        if (type.equals("ERROR")) {
            if (object.path("code").asInt() == 410) {
                throw new Gone("resource version " + resourceVersion + " is gone (" + object.path("message").asText() + ")");
            }
            throw new IOException("watch error: " + object.path("code").asText() + " " + object.path("message").asText());
        }
        String version = object.path("metadata").path("resourceVersion").asText(null);
        if (version != null) {
            resourceVersion = version;
        }
        String name = object.path("metadata").path("name").asText();
        switch (type) {
            case "ADDED", "MODIFIED" -> slices.put(name, object);
            case "DELETED" -> slices.remove(name);
            default -> {
                return;   // BOOKMARK: only the version moves
            }
        }
        publish();
    }

    /** Computes the backends from the slices and reports them when they changed. */
    private void publish() {
        Map<String, ServerConfig> servers = new TreeMap<>();
        Set<String> pods = new HashSet<>();
        for (JsonNode slice : slices.values()) {
            int port = port(slice);
            if (port <= 0) {
                continue;
            }
            for (JsonNode ep : slice.path("endpoints")) {
                JsonNode ready = ep.path("conditions").path("ready");
                if (ready.isBoolean() && !ready.asBoolean()) {
                    continue;
                }
                int capacity = capacity(ep.path("targetRef"), pods);
                for (JsonNode address : ep.path("addresses")) {
                    ServerConfig s = config.server(address.asText(), port, capacity);
                    servers.putIfAbsent(s.id(), s);
                }
            }
        }
        podCapacity.keySet().retainAll(pods);
        List<ServerConfig> now = List.copyOf(servers.values());
        if (now.equals(last)) {
            return;
        }
        last = now;
        LOG.log(System.Logger.Level.INFO, "discovery: {0} ready backend(s) behind {1} in {2}", now.size(),
                config.selector(), namespace);
        Consumer<List<ServerConfig>> listener;
        synchronized (lock) {
            listener = closed ? null : onChange;
        }
        if (listener != null) {
            listener.accept(now);
        }
    }

    private int port(JsonNode slice) {
        JsonNode ports = slice.path("ports");
        if (config.portName() != null) {
            for (JsonNode p : ports) {
                if (config.portName().equals(p.path("name").asText(null))) {
                    return p.path("port").asInt();
                }
            }
            return -1;
        }
        if (config.portNumber() > 0) {
            return config.portNumber();
        }
        return ports.size() == 1 ? ports.get(0).path("port").asInt() : -1;
    }

    private int capacity(JsonNode targetRef, Set<String> pods) {
        if (config.capacityAnnotation() == null || !"Pod".equals(targetRef.path("kind").asText())) {
            return config.defaultCapacity();
        }
        String pod = targetRef.path("name").asText();
        String key = pod + "/" + targetRef.path("uid").asText("");
        pods.add(key);
        Integer known = podCapacity.get(key);
        if (known != null) {
            return known;
        }
        int capacity = api.podAnnotation(namespace, pod, config.capacityAnnotation(), config.defaultCapacity());
        if (Thread.currentThread().isInterrupted()) {
            return capacity;   // not read: ask again next time
        }
        podCapacity.put(key, capacity);
        return capacity;
    }

    /** For tests: the slices known now, by name. */
    Map<String, JsonNode> slices() {
        return new LinkedHashMap<>(slices);
    }

    /** For tests: servers last reported. */
    List<ServerConfig> lastReported() {
        return last == null ? List.of() : new ArrayList<>(last);
    }
}
