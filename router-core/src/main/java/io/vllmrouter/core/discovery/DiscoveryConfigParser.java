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

/** Reads the {@code [discovery]} table into a {@link DiscoveryConfig}; errors name file, line, key, value and expectation. */
final class DiscoveryConfigParser {

    private static final List<String> KEYS = List.of("kind", "namespace", "service", "selector", "host", "port",
            "scheme", "max_concurrent_requests", "capacity_annotation", "models", "interval", "watch_timeout",
            "backoff_max", "api_server", "token_file", "ca_file");

    private DiscoveryConfigParser() {
    }

    /** Reads {@code [discovery]} from a config file; null when it has none. */
    static DiscoveryConfig load(Path file) {
        String text;
        try {
            text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), -1, "discovery", null, "a readable config file (" + e.getMessage() + ")");
        }
        return parse(text, file.toString());
    }

    /** Reads {@code [discovery]} from TOML text; null when it has none. Syntax errors are left to the config loader. */
    static DiscoveryConfig parse(String toml, String source) {
        TomlParseResult root = Toml.parse(toml.startsWith("\uFEFF") ? toml.substring(1) : toml);
        if (root.hasErrors()) {
            io.vllmrouter.core.config.ConfigLoader.parse(toml, source, java.util.Map.of()); // throws the syntax error, located
            throw new ConfigException(source, -1, "discovery", null, "valid TOML");
        }
        return from(root, source);
    }

    /** Reads {@code [discovery]} from a parsed file; null when it has none. */
    static DiscoveryConfig from(TomlTable root, String source) {
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
            DiscoveryConfig.Kind kind = switch (kindName) {
                case "kubernetes" -> DiscoveryConfig.Kind.KUBERNETES;
                case "dns" -> DiscoveryConfig.Kind.DNS;
                default -> throw bad("kind", "\"kubernetes\" or \"dns\"");
            };
            DiscoveryConfig.Builder b = new DiscoveryConfig.Builder(kind);
            b.scheme = string("scheme", false);
            if (b.scheme == null) {
                b.scheme = "http";
            } else if (!b.scheme.equals("http") && !b.scheme.equals("https")) {
                throw bad("scheme", "\"http\" or \"https\"");
            }
            Long capacity = integer("max_concurrent_requests", 1, 1_000_000);
            b.defaultCapacity = capacity == null ? ServerConfig.DEFAULT_MAX_CONCURRENT_REQUESTS : capacity.intValue();
            b.models = strings("models");
            if (kind == DiscoveryConfig.Kind.DNS) {
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
                b.interval = interval == null ? DiscoveryConfig.DEFAULT_INTERVAL : interval;
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
            b.selector = service != null ? DiscoveryConfig.SERVICE_NAME_LABEL + "=" + service : selector;
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
                    : DiscoveryConfig.DEFAULT_CAPACITY_ANNOTATION;
            Duration watch = seconds("watch_timeout");
            b.watchTimeout = watch == null ? DiscoveryConfig.DEFAULT_WATCH_TIMEOUT : watch;
            Duration backoff = seconds("backoff_max");
            b.backoffMax = backoff == null ? DiscoveryConfig.DEFAULT_BACKOFF_MAX : backoff;
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
            b.tokenFile = token != null ? Path.of(token) : DiscoveryConfig.SERVICE_ACCOUNT.resolve("token");
            String ca = string("ca_file", false);
            b.caFile = ca != null ? Path.of(ca) : DiscoveryConfig.SERVICE_ACCOUNT.resolve("ca.crt");
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
}
