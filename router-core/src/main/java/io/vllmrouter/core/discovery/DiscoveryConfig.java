package io.vllmrouter.core.discovery;

import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ServerConfig;
import org.tomlj.TomlTable;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@code [discovery]} table: where backends come from besides {@code [servers]}.
 *
 * <pre>
 * [discovery]
 * kind = "kubernetes"                 # or "dns"
 * namespace = "llm"                   # default: the pod's own namespace
 * service = "vllm"                    # or: selector = "app=vllm,tier!=canary"
 * port = "http"                       # a port name of the EndpointSlice, or a number
 * max_concurrent_requests = 8         # capacity of a pod without the annotation below
 * capacity_annotation = "vllm-router.io/max-concurrent-requests"
 *
 * [discovery]
 * kind = "dns"
 * host = "vllm-headless.llm.svc.cluster.local"
 * port = 8000
 * interval = 10                       # seconds between resolutions
 * </pre>
 *
 * <p>Errors are {@link ConfigException}s naming the key ({@code discovery.port}), the value and what
 * was expected, like the rest of the file's.
 */
public final class DiscoveryConfig {

    /** Where backends are discovered. */
    public enum Kind { KUBERNETES, DNS }

    public static final String DEFAULT_CAPACITY_ANNOTATION = "vllm-router.io/max-concurrent-requests";
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    public static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
    public static final Duration DEFAULT_WATCH_TIMEOUT = Duration.ofMinutes(5);
    public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(30);

    private final Kind kind;
    private final String namespace;
    private final String selector;
    private final String host;
    private final String portName;
    private final int portNumber;
    private final String scheme;
    private final int defaultCapacity;
    private final String capacityAnnotation;
    private final List<String> models;
    private final Duration interval;
    private final Duration watchTimeout;
    private final Duration backoffMax;
    private final URI apiServer;
    private final Path tokenFile;
    private final Path caFile;

    private DiscoveryConfig(Builder b) {
        this.kind = Objects.requireNonNull(b.kind, "kind");
        this.namespace = b.namespace;
        this.selector = b.selector;
        this.host = b.host;
        this.portName = b.portName;
        this.portNumber = b.portNumber;
        this.scheme = b.scheme;
        this.defaultCapacity = b.defaultCapacity;
        this.capacityAnnotation = b.capacityAnnotation;
        this.models = List.copyOf(b.models);
        this.interval = b.interval;
        this.watchTimeout = b.watchTimeout;
        this.backoffMax = b.backoffMax;
        this.apiServer = b.apiServer;
        this.tokenFile = b.tokenFile;
        this.caFile = b.caFile;
    }

    public static Builder builder(Kind kind) {
        return new Builder(kind);
    }

    public Kind kind() { return kind; }
    /** Kubernetes namespace; null means the pod's own (from the service account), else {@code default}. */
    public String namespace() { return namespace; }
    /** Kubernetes label selector of the EndpointSlices. */
    public String selector() { return selector; }
    /** DNS name to resolve. */
    public String host() { return host; }
    /** Kubernetes port name, or null when {@link #portNumber()} (or the slice's only port) is used. */
    public String portName() { return portName; }
    /** Port number, 0 when a name is used (Kubernetes) or the slice has one port. */
    public int portNumber() { return portNumber; }
    public String scheme() { return scheme; }
    /** Capacity of a backend without a capacity annotation. */
    public int defaultCapacity() { return defaultCapacity; }
    /** Pod annotation holding a pod's capacity; null to use the default for all. */
    public String capacityAnnotation() { return capacityAnnotation; }
    /** Models every discovered backend serves; empty means "learn from /v1/models". */
    public List<String> models() { return models; }
    /** DNS: time between resolutions. */
    public Duration interval() { return interval; }
    /** Kubernetes: how long one watch request lasts before the server ends it. */
    public Duration watchTimeout() { return watchTimeout; }
    /** Kubernetes: longest wait between failed attempts (waits start at 1 s and double). */
    public Duration backoffMax() { return backoffMax; }
    /** Kubernetes API server; null means in-cluster ({@code KUBERNETES_SERVICE_HOST}/{@code _PORT}). */
    public URI apiServer() { return apiServer; }
    public Path tokenFile() { return tokenFile; }
    public Path caFile() { return caFile; }

    /** A backend discovered at {@code address} (an IP or host name) and {@code port}. */
    ServerConfig server(String address, int port, int capacity) {
        String h = address.indexOf(':') >= 0 && !address.startsWith("[") ? "[" + address + "]" : address;
        return new ServerConfig(URI.create(scheme + "://" + h + ":" + port), capacity, models, null);
    }

    /** Reads {@code [discovery]} from a config file; null when it has none. */
    public static DiscoveryConfig load(Path file) {
        return DiscoveryConfigParser.load(file);
    }

    /** Reads {@code [discovery]} from TOML text; null when it has none. Syntax errors are left to the config loader. */
    public static DiscoveryConfig parse(String toml, String source) {
        return DiscoveryConfigParser.parse(toml, source);
    }

    /** Reads {@code [discovery]} from a parsed file; null when it has none. */
    public static DiscoveryConfig from(TomlTable root, String source) {
        return DiscoveryConfigParser.from(root, source);
    }

    /** Builds a configuration in code (tests, embedders); {@link DiscoveryConfigParser} fills it from TOML. */
    public static final class Builder {
        final Kind kind;
        String namespace;
        String selector;
        String host;
        String portName;
        int portNumber;
        String scheme = "http";
        int defaultCapacity = ServerConfig.DEFAULT_MAX_CONCURRENT_REQUESTS;
        String capacityAnnotation = DEFAULT_CAPACITY_ANNOTATION;
        List<String> models = List.of();
        Duration interval = DEFAULT_INTERVAL;
        Duration watchTimeout = DEFAULT_WATCH_TIMEOUT;
        Duration backoffMax = DEFAULT_BACKOFF_MAX;
        URI apiServer;
        Path tokenFile = SERVICE_ACCOUNT.resolve("token");
        Path caFile = SERVICE_ACCOUNT.resolve("ca.crt");

        Builder(Kind kind) {
            this.kind = Objects.requireNonNull(kind, "kind");
        }

        public Builder namespace(String ns) { namespace = ns; return this; }
        public Builder selector(String s) { selector = s; return this; }
        public Builder service(String name) { selector = SERVICE_NAME_LABEL + "=" + name; return this; }
        public Builder host(String h) { host = h; return this; }
        public Builder port(String name) { portName = name; portNumber = 0; return this; }
        public Builder port(int number) { portNumber = number; portName = null; return this; }
        public Builder scheme(String s) { scheme = s; return this; }
        public Builder defaultCapacity(int n) { defaultCapacity = n; return this; }
        public Builder capacityAnnotation(String a) { capacityAnnotation = a; return this; }
        public Builder models(List<String> m) { models = List.copyOf(m); return this; }
        public Builder interval(Duration d) { interval = d; return this; }
        public Builder watchTimeout(Duration d) { watchTimeout = d; return this; }
        public Builder backoffMax(Duration d) { backoffMax = d; return this; }
        public Builder apiServer(URI u) { apiServer = u; return this; }
        public Builder tokenFile(Path p) { tokenFile = p; return this; }
        public Builder caFile(Path p) { caFile = p; return this; }

        public DiscoveryConfig build() {
            return new DiscoveryConfig(this);
        }
    }
}
