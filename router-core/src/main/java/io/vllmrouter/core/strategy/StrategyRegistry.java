package io.vllmrouter.core.strategy;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.BalancingStrategyProvider;
import java.lang.System.Logger.Level;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The balancing strategies known by name, found with {@link ServiceLoader}.
 *
 * <pre>{@code
 * StrategyRegistry registry = StrategyRegistry.defaultRegistry();
 * BalancingStrategy strategy = registry.create(config.strategy());  // "weighted-score" by default
 * }</pre>
 *
 * <p>Loading follows SLF4J's {@code findServiceProviders}: each provider is instantiated on its own,
 * and one that fails (class missing, constructor throwing, bad name) is logged and skipped, so a
 * broken jar cannot hide the others. When two providers share a name the higher
 * {@link BalancingStrategyProvider#priority() priority} wins; on equal priority the first found stays.
 *
 * <p>The built-in strategies stay reachable when a shaded or repackaged jar lost their
 * {@code META-INF/services} entry: for each built-in name still missing after the scan, the known
 * provider class is loaded by name. router-core has no compile-time link to router-strategies.
 *
 * <p>Immutable and thread-safe once built.
 */
public final class StrategyRegistry {

    private static final System.Logger LOG = System.getLogger(StrategyRegistry.class.getName());

    private static final Pattern NAME = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");

    /** Built-in strategy names and their provider classes in router-strategies. */
    static final Map<String, String> BUILT_INS = builtIns();

    private final Map<String, BalancingStrategyProvider> providers;

    private StrategyRegistry(Map<String, BalancingStrategyProvider> providers) {
        this.providers = Collections.unmodifiableMap(new TreeMap<>(providers));
    }

    private static Map<String, String> builtIns() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("weighted-score", "io.vllmrouter.strategies.WeightedScoreStrategyProvider");
        m.put("least-loaded", "io.vllmrouter.strategies.LeastLoadedStrategyProvider");
        m.put("round-robin", "io.vllmrouter.strategies.RoundRobinStrategyProvider");
        m.put("cache-aware", "io.vllmrouter.strategies.CacheAwareStrategyProvider");
        m.put("latency-aware", "io.vllmrouter.strategies.LatencyAwareStrategyProvider");
        return Collections.unmodifiableMap(m);
    }

    /**
     * The registry of the providers visible to router-core's class loader, loaded once (at the first
     * call) and shared. When the calling thread's context class loader also sees router-core's SPI,
     * that loader is scanned instead, as {@link ServiceLoader#load(Class)} does: a host that loads
     * plugin jars in a child class loader sets it as the context class loader before the first
     * router is built, and their strategies are found by name.
     */
    public static StrategyRegistry defaultRegistry() {
        return DefaultHolder.INSTANCE;
    }

    private static final class DefaultHolder {
        static final StrategyRegistry INSTANCE = load(defaultLoader());
    }

    /** The context class loader when it sees this {@link BalancingStrategyProvider}, else router-core's. */
    static ClassLoader defaultLoader() {
        ClassLoader own = StrategyRegistry.class.getClassLoader();
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context == null || context == own) {
            return own;
        }
        try {
            return Class.forName(BalancingStrategyProvider.class.getName(), false, context)
                    == BalancingStrategyProvider.class ? context : own;
        } catch (ClassNotFoundException | LinkageError e) {
            return own;
        }
    }

    /**
     * Scans {@code loader} for {@link BalancingStrategyProvider}s. Never throws for a bad provider;
     * the result may be empty (logged as a warning).
     *
     * @param loader where to look for {@code META-INF/services} entries and provider classes
     */
    public static StrategyRegistry load(ClassLoader loader) {
        Objects.requireNonNull(loader, "loader");
        Map<String, BalancingStrategyProvider> found = new LinkedHashMap<>();
        Iterator<BalancingStrategyProvider> it = ServiceLoader.load(BalancingStrategyProvider.class, loader).iterator();
        int failures = 0;
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                add(found, it.next(), "ServiceLoader");
            } catch (VirtualMachineError e) {
                throw e;
            } catch (ServiceConfigurationError | LinkageError | RuntimeException e) {
                // ServiceConfigurationError: class missing or constructor threw; LinkageError: a provider
                // class that cannot be linked (ServiceLoader does not wrap those).
                LOG.log(Level.WARNING, "A balancing strategy provider failed to load and is skipped: " + e, e);
                // ServiceLoader moves past a failed entry; the bound only guards against a loader that does not.
                if (++failures > 1000) {
                    LOG.log(Level.WARNING, "Too many broken balancing strategy providers; stopped looking");
                    break;
                }
            }
        }
        for (Map.Entry<String, String> builtIn : BUILT_INS.entrySet()) {
            if (!found.containsKey(builtIn.getKey())) {
                BalancingStrategyProvider p = loadByName(builtIn.getValue(), loader);
                if (p != null) {
                    LOG.log(Level.INFO, "Built-in strategy {0} not listed in META-INF/services; loaded {1} by name",
                            builtIn.getKey(), builtIn.getValue());
                    add(found, p, "class name");
                }
            }
        }
        if (found.isEmpty()) {
            LOG.log(Level.WARNING, "No balancing strategy found: is router-strategies on the class path?");
        }
        return new StrategyRegistry(found);
    }

    /**
     * A registry of exactly these providers (same name rule: highest priority wins), for hosts that
     * register strategies in code rather than through {@code META-INF/services}, and for tests.
     *
     * @throws IllegalArgumentException when a provider has an invalid name or priority
     */
    public static StrategyRegistry of(Iterable<? extends BalancingStrategyProvider> providers) {
        Map<String, BalancingStrategyProvider> found = new LinkedHashMap<>();
        for (BalancingStrategyProvider p : providers) {
            Objects.requireNonNull(p, "provider");
            String problem = problem(p.name(), p.priority());
            if (problem != null) {
                throw new IllegalArgumentException(problem + " in " + p.getClass().getName());
            }
            put(found, p);
        }
        return new StrategyRegistry(found);
    }

    private static BalancingStrategyProvider loadByName(String className, ClassLoader loader) {
        try {
            Class<? extends BalancingStrategyProvider> type =
                    Class.forName(className, true, loader).asSubclass(BalancingStrategyProvider.class);
            return type.getConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            return null;  // router-strategies is not on this loader: allowed, a host may bring its own
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            LOG.log(Level.WARNING, "Built-in strategy provider " + className + " failed to load and is skipped", e);
            return null;
        }
    }

    private static void add(Map<String, BalancingStrategyProvider> found, BalancingStrategyProvider p, String via) {
        String name;
        int priority;
        try {
            name = p.name();
            priority = p.priority();
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            LOG.log(Level.WARNING, "Balancing strategy provider " + p.getClass().getName() + " failed to name itself and is skipped", e);
            return;
        }
        String problem = problem(name, priority);
        if (problem != null) {
            LOG.log(Level.WARNING, "Balancing strategy provider {0} is skipped: {1}", p.getClass().getName(), problem);
            return;
        }
        LOG.log(Level.DEBUG, "Balancing strategy {0} (priority {1}) from {2}, found by {3}",
                name, priority, p.getClass().getName(), via);
        put(found, p);
    }

    private static void put(Map<String, BalancingStrategyProvider> found, BalancingStrategyProvider p) {
        BalancingStrategyProvider existing = found.get(p.name());
        if (existing == null || existing.priority() < p.priority()) {
            found.put(p.name(), p);
        } else if (existing.priority() == p.priority() && existing.getClass() != p.getClass()) {
            LOG.log(Level.WARNING, "Two balancing strategies named {0} at priority {1}: {2} is used, {3} is ignored",
                    p.name(), p.priority(), existing.getClass().getName(), p.getClass().getName());
        }
    }

    private static String problem(String name, int priority) {
        if (name == null || !NAME.matcher(name).matches()) {
            return "name: " + (name == null ? "null" : "\"" + name + "\"")
                    + " (expected: lower case letters, digits and '-', e.g. \"weighted-score\")";
        }
        if (priority < 0 || priority > 10) {
            return "priority: " + priority + " (expected: 0..10)";
        }
        return null;
    }

    /** The known names, sorted. */
    public Set<String> names() {
        return providers.keySet();
    }

    /**
     * The one check of a strategy name: config loading, reloads, {@code check-config} and
     * {@link #create} all call it, so they agree and say the same.
     *
     * @throws IllegalArgumentException {@code strategy: "fastest" (expected: one of [least-loaded,
     *     round-robin, weighted-score])} when no provider has that name
     */
    public void requireKnown(String name) {
        if (name == null || !providers.containsKey(name)) {
            throw new IllegalArgumentException("strategy: " + (name == null ? "null" : "\"" + name + "\"")
                    + " (expected: one of " + providers.keySet() + "; a strategy from a plugin jar is loaded when the"
                    + " router starts: put the jar in plugins/ and restart)");
        }
    }

    /**
     * A new instance of the strategy named {@code name}, for one router.
     *
     * @throws IllegalArgumentException when no provider has that name; the message lists the names found
     * @throws IllegalStateException    when the provider fails to create the strategy
     */
    public BalancingStrategy create(String name) {
        return create(name, Map.of());
    }

    /**
     * A new instance of the strategy named {@code name} with {@code settings} (its
     * {@code [strategies.NAME]} table), for one router.
     *
     * @throws IllegalArgumentException when no provider has that name (the message lists the names
     *                                  found), or the provider refuses a setting (its message:
     *                                  {@code "key: value (expected: what)"})
     * @throws IllegalStateException    when the provider fails to create the strategy
     */
    public BalancingStrategy create(String name, Map<String, String> settings) {
        requireKnown(name);
        BalancingStrategyProvider provider = providers.get(name);
        BalancingStrategy strategy;
        try {
            strategy = settings == null || settings.isEmpty() ? provider.create() : provider.create(settings);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new IllegalStateException("strategy \"" + name + "\": " + provider.getClass().getName()
                    + ".create() failed: " + e, e);
        }
        if (strategy == null) {
            throw new IllegalStateException("strategy \"" + name + "\": " + provider.getClass().getName()
                    + ".create() returned null");
        }
        return strategy;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("StrategyRegistry{");
        String sep = "";
        for (Map.Entry<String, BalancingStrategyProvider> e : providers.entrySet()) {
            sb.append(sep).append(e.getKey()).append('=').append(e.getValue().getClass().getName());
            sep = ", ";
        }
        return sb.append('}').toString();
    }
}
