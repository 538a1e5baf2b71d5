package io.vllmrouter.core.discovery;

import io.vllmrouter.core.DefaultVllmRouter;
import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.core.time.ExecutorScheduler;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Keeps a running router's backends in step with a {@link Discovery}: each time the discovered list
 * changes, the router is reconfigured (through {@link DefaultVllmRouter#reconfigure}) with the servers
 * of the base configuration plus the discovered ones, so pods that come and go join and leave exactly
 * like servers added to or removed from the file in a hot reload (removed ones drain).
 *
 * <pre>{@code
 * DiscoveryConfig discovery = DiscoveryConfig.load(file);          // null without [discovery]
 * DefaultVllmRouter router = VllmRouters.builder().config(ConfigLoader.load(file)).build();
 * FleetDiscovery fleet = FleetDiscovery.start(router, discovery, System.getenv());
 * fleet.watchFile(file, System.getenv());                          // file edits keep the discovered servers
 * ...
 * fleet.close();
 * router.close();
 * }</pre>
 *
 * <p>The base configuration is the router's at start; {@link #rebase} replaces it (a new file), and
 * {@link #watchFile} does that on every valid edit of the file. Do not let the router watch the same
 * file itself ({@code VllmRouters.Builder.configFile}): its reloads would drop the discovered servers
 * until the next change. A server listed in the file and discovered as well is kept once, as in the
 * file. Changes to {@code [discovery]} itself take a restart.
 */
public final class FleetDiscovery implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(FleetDiscovery.class.getName());

    private final Supplier<RouterConfig> current;
    private final Consumer<RouterConfig> reconfigure;
    private final Discovery discovery;
    private final Scheduler ownScheduler;
    private RouterConfig base;
    private List<ServerConfig> discovered = List.of();
    private ConfigWatcher fileWatcher;
    private Scheduler fileScheduler;
    private boolean closed;

    /**
     * Starts discovery of {@code config}'s kind on a scheduler thread of its own and applies what it
     * finds to {@code router}.
     */
    public static FleetDiscovery start(DefaultVllmRouter router, DiscoveryConfig config, Map<String, String> env) {
        return start(router::config, router::reconfigure, config, env);
    }

    /**
     * As {@link #start(DefaultVllmRouter, DiscoveryConfig, Map)} for any router: {@code current} gives
     * its running configuration, {@code reconfigure} applies a new one (and may throw to refuse it).
     */
    public static FleetDiscovery start(Supplier<RouterConfig> current, Consumer<RouterConfig> reconfigure,
                                       DiscoveryConfig config, Map<String, String> env) {
        Scheduler scheduler = ExecutorScheduler.newDaemon("vllm-router-discovery");
        try {
            Discovery d = config.kind() == DiscoveryConfig.Kind.KUBERNETES
                    ? KubernetesDiscovery.create(config, scheduler, env)
                    : new DnsDiscovery(config, scheduler, DnsDiscovery.Resolver.system());
            FleetDiscovery fleet = new FleetDiscovery(current, reconfigure, d, scheduler);
            fleet.start();
            return fleet;
        } catch (RuntimeException e) {
            scheduler.close();
            throw e;
        }
    }

    /** Applies {@code discovery} to {@code router}; call {@link #start()} to begin. */
    public FleetDiscovery(DefaultVllmRouter router, Discovery discovery) {
        this(router::config, router::reconfigure, discovery, null);
    }

    /** Applies {@code discovery} through {@code reconfigure} to the router whose configuration {@code current} gives. */
    public FleetDiscovery(Supplier<RouterConfig> current, Consumer<RouterConfig> reconfigure, Discovery discovery) {
        this(current, reconfigure, discovery, null);
    }

    private FleetDiscovery(Supplier<RouterConfig> current, Consumer<RouterConfig> reconfigure, Discovery discovery,
                           Scheduler ownScheduler) {
        this.current = Objects.requireNonNull(current, "current");
        this.reconfigure = Objects.requireNonNull(reconfigure, "reconfigure");
        this.discovery = Objects.requireNonNull(discovery, "discovery");
        this.ownScheduler = ownScheduler;
        this.base = current.get();
    }

    /** Starts the discovery. */
    public void start() {
        discovery.start(this::discovered);
    }

    /**
     * Watches {@code file} (every {@code config_reload_interval}) and rebases on each valid edit;
     * invalid edits are logged and change nothing.
     */
    public synchronized void watchFile(Path file, Map<String, String> env) {
        if (fileWatcher != null) {
            throw new IllegalStateException("already watching " + file);
        }
        // Its own thread: a Kubernetes watch holds the discovery thread for minutes at a time.
        fileScheduler = ExecutorScheduler.newDaemon("vllm-router-config-watch");
        fileWatcher = new ConfigWatcher(file, env, fileScheduler, base.configReloadInterval(), base, this::rebase,
                problem -> LOG.log(System.Logger.Level.ERROR,
                        "configuration file refused, the running one stays: {0}", problem.getMessage()));
        fileWatcher.start();
    }

    /** Checks the watched file now (for a file-change notification); false when no file is watched. */
    public boolean reloadFileNow() {
        ConfigWatcher w;
        synchronized (this) {
            w = fileWatcher;
        }
        if (w == null) {
            return false;
        }
        w.checkNow();
        return true;
    }

    /** A new base configuration (usually the file, edited): applied with the discovered servers added. */
    public synchronized void rebase(RouterConfig config) {
        base = Objects.requireNonNull(config, "config");
        apply("configuration file");
    }

    /** The servers discovered last. */
    public synchronized List<ServerConfig> discovered() {
        return discovered;
    }

    private synchronized void discovered(List<ServerConfig> servers) {
        discovered = List.copyOf(servers);
        apply("discovery");
    }

    private void apply(String why) {
        if (closed) {
            return;
        }
        Map<String, ServerConfig> merged = new LinkedHashMap<>();
        for (ServerConfig s : base.servers()) {
            merged.put(s.id(), s);
        }
        for (ServerConfig s : discovered) {
            merged.putIfAbsent(s.id(), s);
        }
        RouterConfig next = base.toBuilder().servers(new ArrayList<>(merged.values())).build();
        RouterConfig before = current.get();
        if (next.equals(before)) {
            return;
        }
        try {
            reconfigure.accept(next);
            LOG.log(System.Logger.Level.INFO, "{0}: {1} server(s) now ({2} discovered): {3}", why, next.servers().size(),
                    discovered.size(), before == null ? "first configuration"
                            : io.vllmrouter.core.config.ConfigDiff.describe(before, next));
        } catch (RuntimeException refused) {
            LOG.log(System.Logger.Level.WARNING, "{0}: not applied, the running configuration stays: {1}", why,
                    refused.getMessage());
        }
    }

    @Override
    public void close() {
        ConfigWatcher w;
        Scheduler fs;
        synchronized (this) {
            closed = true;
            w = fileWatcher;
            fs = fileScheduler;
        }
        discovery.close();
        if (w != null) {
            w.close();
            fs.close();
        }
        if (ownScheduler != null) {
            ownScheduler.close();
        }
    }
}
