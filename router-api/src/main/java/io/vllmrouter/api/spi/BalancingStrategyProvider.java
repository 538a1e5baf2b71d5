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

    /** A new strategy instance for one router. */
    BalancingStrategy create();
}
