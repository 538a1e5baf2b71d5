package io.vllmrouter.core.discovery;

import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.time.Scheduler;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Backends from a DNS name that resolves to many addresses (a Kubernetes headless Service, a round-robin
 * record), resolved again every {@link DiscoveryConfig#interval()}. One backend per address, on the
 * configured port, with the configured capacity. A failed resolution (including "no such name") keeps
 * the last list, so that a DNS outage does not empty the fleet; backends that are really gone are then
 * ejected by the health checks until the name resolves again.
 */
public final class DnsDiscovery implements Discovery {

    private static final System.Logger LOG = System.getLogger(DnsDiscovery.class.getName());

    /** Resolves a host name; the JDK's {@link InetAddress#getAllByName} by default. */
    @FunctionalInterface
    public interface Resolver {
        List<InetAddress> resolve(String host) throws UnknownHostException;

        static Resolver system() {
            return host -> List.of(InetAddress.getAllByName(host));
        }
    }

    private final DiscoveryConfig config;
    private final Scheduler scheduler;
    private final Resolver resolver;
    private final Object lock = new Object();
    private Consumer<List<ServerConfig>> onChange;
    private List<ServerConfig> last;
    private Scheduler.Cancellable task;
    private boolean failing;
    private volatile boolean closed;

    public DnsDiscovery(DiscoveryConfig config, Scheduler scheduler, Resolver resolver) {
        this.config = Objects.requireNonNull(config, "config");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        if (config.kind() != DiscoveryConfig.Kind.DNS) {
            throw new IllegalArgumentException("kind: " + config.kind() + " (expected: dns)");
        }
    }

    @Override
    public void start(Consumer<List<ServerConfig>> listener) {
        synchronized (lock) {
            if (onChange != null) {
                throw new IllegalStateException("already started");
            }
            onChange = Objects.requireNonNull(listener, "onChange");
            task = scheduler.scheduleAtFixedRate(this::resolveNow, java.time.Duration.ZERO, config.interval());
        }
    }

    /** Resolves the name now and reports a change; called by the schedule. */
    public void resolveNow() {
        if (closed) {
            return;
        }
        List<InetAddress> addresses;
        try {
            addresses = resolver.resolve(config.host());
        } catch (Exception e) {
            synchronized (lock) {
                if (!failing) {
                    LOG.log(System.Logger.Level.WARNING, "discovery: cannot resolve {0} ({1}); keeping the last {2} backend(s)",
                            config.host(), e.getMessage(), last == null ? 0 : last.size());
                }
                failing = true;
            }
            return;
        }
        TreeSet<String> unique = new TreeSet<>();
        for (InetAddress a : addresses) {
            unique.add(a.getHostAddress());
        }
        List<ServerConfig> servers = new ArrayList<>();
        for (String a : unique) {
            servers.add(config.server(a, config.portNumber(), config.defaultCapacity()));
        }
        servers.sort(Comparator.comparing(ServerConfig::id));
        synchronized (lock) {
            failing = false;
            if (closed || servers.equals(last)) {
                return;
            }
            last = List.copyOf(servers);
            LOG.log(System.Logger.Level.INFO, "discovery: {0} resolves to {1} backend(s)", config.host(), servers.size());
            onChange.accept(last);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            if (task != null) {
                task.cancel();
            }
        }
    }
}
