package io.vllmrouter.core.discovery;

import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ServerConfig;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlPosition;
import org.tomlj.TomlTable;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

    private static final List<String> KEYS = List.of("kind", "namespace", "service", "selector", "host", "port",
            "scheme", "max_concurrent_requests", "capacity_annotation", "models", "interval", "watch_timeout",
            "backoff_max", "api_server", "token_file", "ca_file");

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
        String text;
        try {
            text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), -1, "discovery", null, "a readable config file (" + e.getMessage() + ")");
        }
        return parse(text, file.toString());
    }

    /** Reads {@code [discovery]} from TOML text; null when it has none. Syntax errors are left to the config loader. */
    public static DiscoveryConfig parse(String toml, String source) {
        TomlParseResult root = Toml.parse(toml.startsWith("\uFEFF") ? toml.substring(1) : toml);
        if (root.hasErrors()) {
            io.vllmrouter.core.config.ConfigLoader.parse(toml, source, java.util.Map.of()); // throws the syntax error, located
            throw new ConfigException(source, -1, "discovery", null, "valid TOML");
        }
        return from(root, source);
    }

    /** Reads {@code [discovery]} from a parsed file; null when it has none. */
    public static DiscoveryConfig from(TomlTable root, String source) {
        Object value = root.get(List.of("discovery"));
        if (value == null) {
            return null;
        }
        if (!(value instanceof TomlTable t)) {
            throw new ConfigException(source, line(root, "discovery"), "discovery", String.valueOf(value), "a [discovery] table");
        }
        return new Reader(t, source, line(root, "discovery")).read();
    }

    private static int line(TomlTable t, String key) {
        TomlPosition p = t.inputPositionOf(key);
        return p == null ? -1 : p.line();
    }

    /** Reads one table, with errors naming file, line, key, value and expectation. */
    private static final class Reader {
        private final TomlTable t;
        private final String source;
        private final int tableLine;

        Reader(TomlTable t, String source, int tableLine) {
            this.t = t;
            this.source = source;
            this.tableLine = tableLine;
        }

        /** The key's line, or the table's when the key is missing. */
        private int at(String key) {
            int l = line(t, key);
            return l >= 0 ? l : tableLine;
        }

        DiscoveryConfig read() {
            for (String key : t.keySet()) {
                if (!KEYS.contains(key)) {
                    throw bad(key, "a key of [discovery]: " + String.join(", ", KEYS));
                }
            }
            String kindName = string("kind", true);
            Kind kind = switch (kindName) {
                case "kubernetes" -> Kind.KUBERNETES;
                case "dns" -> Kind.DNS;
                default -> throw bad("kind", "\"kubernetes\" or \"dns\"");
            };
            Builder b = new Builder(kind);
            b.scheme = string("scheme", false);
            if (b.scheme == null) {
                b.scheme = "http";
            } else if (!b.scheme.equals("http") && !b.scheme.equals("https")) {
                throw bad("scheme", "\"http\" or \"https\"");
            }
            Long capacity = integer("max_concurrent_requests", 1, 1_000_000);
            b.defaultCapacity = capacity == null ? ServerConfig.DEFAULT_MAX_CONCURRENT_REQUESTS : capacity.intValue();
            b.models = strings("models");
            if (kind == Kind.DNS) {
                refuse("namespace", "selector", "service", "capacity_annotation", "watch_timeout", "backoff_max",
                        "api_server", "token_file", "ca_file");
                b.host = string("host", true);
                if (b.host.isBlank()) {
                    throw bad("host", "a DNS name such as \"vllm-headless.llm.svc.cluster.local\"");
                }
                Object port = t.get(List.of("port"));
                if (!(port instanceof Long)) {
                    throw bad("port", "a port number between 1 and 65535");
                }
                b.portNumber = integer("port", 1, 65535).intValue();
                Duration interval = seconds("interval");
                b.interval = interval == null ? DEFAULT_INTERVAL : interval;
                return b.build();
            }
            refuse("host", "interval");
            b.namespace = string("namespace", false);
            String service = string("service", false);
            String selector = string("selector", false);
            if ((service == null) == (selector == null)) {
                throw new ConfigException(source, at(service == null ? "discovery" : "selector"),
                        service == null ? "discovery.service" : "discovery.selector",
                        service == null ? null : show(t.get(List.of("selector"))),
                        "exactly one of service = \"NAME\" (the pods behind that Service) or selector = \"label=value,...\"");
            }
            b.selector = service != null ? SERVICE_NAME_LABEL + "=" + service : selector;
            if (b.selector.isBlank()) {
                throw bad(service != null ? "service" : "selector", "a non-empty name or label selector");
            }
            Object port = t.get(List.of("port"));
            if (port instanceof String name) {
                b.portName = name;
            } else if (port instanceof Long) {
                b.portNumber = integer("port", 1, 65535).intValue();
            } else if (port != null) {
                throw bad("port", "a port name such as \"http\" or a number between 1 and 65535");
            }
            b.capacityAnnotation = t.contains("capacity_annotation") ? string("capacity_annotation", true)
                    : DEFAULT_CAPACITY_ANNOTATION;
            Duration watch = seconds("watch_timeout");
            b.watchTimeout = watch == null ? DEFAULT_WATCH_TIMEOUT : watch;
            Duration backoff = seconds("backoff_max");
            b.backoffMax = backoff == null ? DEFAULT_BACKOFF_MAX : backoff;
            String api = string("api_server", false);
            if (api != null) {
                try {
                    URI u = URI.create(api);
                    if (u.getHost() == null || !("https".equals(u.getScheme()) || "http".equals(u.getScheme()))) {
                        throw new IllegalArgumentException();
                    }
                    b.apiServer = u;
                } catch (IllegalArgumentException e) {
                    throw bad("api_server", "an https:// URL such as \"https://kubernetes.default.svc\"");
                }
            }
            String token = string("token_file", false);
            b.tokenFile = token != null ? Path.of(token) : SERVICE_ACCOUNT.resolve("token");
            String ca = string("ca_file", false);
            b.caFile = ca != null ? Path.of(ca) : SERVICE_ACCOUNT.resolve("ca.crt");
            return b.build();
        }

        private void refuse(String... keys) {
            for (String k : keys) {
                if (t.contains(k)) {
                    throw bad(k, "no " + k + " for kind = \"" + t.getString("kind") + "\"");
                }
            }
        }

        private String string(String key, boolean required) {
            Object v = t.get(List.of(key));
            if (v == null) {
                if (required) {
                    throw new ConfigException(source, at(key), "discovery." + key, null,
                            key.equals("kind") ? "\"kubernetes\" or \"dns\"" : "a string");
                }
                return null;
            }
            if (!(v instanceof String s)) {
                throw bad(key, "a string");
            }
            return s;
        }

        private Long integer(String key, long min, long max) {
            Object v = t.get(List.of(key));
            if (v == null) {
                return null;
            }
            if (!(v instanceof Long n) || n < min || n > max) {
                throw bad(key, "an integer between " + min + " and " + max);
            }
            return n;
        }

        private Duration seconds(String key) {
            Object v = t.get(List.of(key));
            if (v == null) {
                return null;
            }
            double s;
            if (v instanceof Long n) {
                s = n;
            } else if (v instanceof Double d) {
                s = d;
            } else {
                throw bad(key, "number of seconds > 0");
            }
            if (!(s > 0) || s > 1e9) {
                throw bad(key, "number of seconds > 0");
            }
            return Duration.ofNanos(Math.round(s * 1e9));
        }

        private List<String> strings(String key) {
            Object v = t.get(List.of(key));
            if (v == null) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            if (v instanceof TomlArray a) {
                for (int i = 0; i < a.size(); i++) {
                    if (!(a.get(i) instanceof String s)) {
                        throw bad(key, "an array of model names such as [\"llama\"]");
                    }
                    out.add(s);
                }
                return out;
            }
            throw bad(key, "an array of model names such as [\"llama\"]");
        }

        private ConfigException bad(String key, String expected) {
            return new ConfigException(source, at(key), "discovery." + key, show(t.get(List.of(key))), expected);
        }

        private static String show(Object v) {
            if (v == null) {
                return null;
            }
            if (v instanceof String s) {
                return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
            }
            if (v instanceof TomlTable) {
                return "{ ... }";
            }
            if (v instanceof TomlArray a) {
                return a.toJson();
            }
            return String.valueOf(v);
        }
    }

    /** Builds a configuration in code (tests, embedders). */
    public static final class Builder {
        private final Kind kind;
        private String namespace;
        private String selector;
        private String host;
        private String portName;
        private int portNumber;
        private String scheme = "http";
        private int defaultCapacity = ServerConfig.DEFAULT_MAX_CONCURRENT_REQUESTS;
        private String capacityAnnotation = DEFAULT_CAPACITY_ANNOTATION;
        private List<String> models = List.of();
        private Duration interval = DEFAULT_INTERVAL;
        private Duration watchTimeout = DEFAULT_WATCH_TIMEOUT;
        private Duration backoffMax = DEFAULT_BACKOFF_MAX;
        private URI apiServer;
        private Path tokenFile = SERVICE_ACCOUNT.resolve("token");
        private Path caFile = SERVICE_ACCOUNT.resolve("ca.crt");

        private Builder(Kind kind) {
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
