package io.vllmrouter.api.spi;

/**
 * Makes a {@link BalancingStrategy} known by name. Register implementations in
 * {@code META-INF/services/io.vllmrouter.api.spi.BalancingStrategyProvider}; the router finds them
 * with {@link java.util.ServiceLoader} and config selects one with {@code strategy = "name"}.
 *
 * <p>A provider has a public no-argument constructor that does nothing costly and never throws.
 * When two providers share a name, the higher {@link #priority()} wins.
 */
public interface BalancingStrategyProvider {

    /** The name config uses: lower case, digits and {@code -}, e.g. {@code weighted-score}. */
    String name();

    /** 0..10; the built-in strategies use 5. */
    default int priority() {
        return 5;
    }

    /** A new strategy instance for one router, with default settings. */
    BalancingStrategy create();

    /**
     * A new strategy instance for one router, with {@code settings}: the keys of the config's
     * {@code [strategies.NAME]} table, values as text ({@code "0.5"}, {@code "true"}, {@code "x"}).
     * The default accepts no settings and calls {@link #create()}.
     *
     * @throws IllegalArgumentException for an unknown key or a bad value, with a message of the form
     *                                  {@code "key: value (expected: what)"}, which config errors show
     */
    default BalancingStrategy create(java.util.Map<String, String> settings) {
        if (settings != null && !settings.isEmpty()) {
            String key = settings.keySet().iterator().next();
            throw new IllegalArgumentException(key + ": " + settings.get(key)
                    + " (expected: no settings; strategy " + name() + " takes none)");
        }
        return create();
    }
}
