package io.vllmrouter.core.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * A part of the configuration file that the router reads but does not interpret: a host's own
 * settings, such as the standalone proxy's front door (client timeouts, API keys, TLS). The router
 * parses the file, keeps the keys of {@code [config]} and the tables the extension claims away from
 * its own checks, hands them to {@link #read}, and keeps the result in the {@link RouterConfig}
 * ({@link RouterConfig#extension}), so that it is validated with the rest of the file (every mistake
 * reported at once, with its line), reloaded with it, and compared with it.
 *
 * <p>Found through {@link java.util.ServiceLoader} ({@code META-INF/services/
 * io.vllmrouter.core.config.ConfigExtension}); an implementation has a public no-argument
 * constructor, is stateless and thread-safe, and its values are immutable with {@code equals}.
 *
 * <pre>{@code
 * public final class FrontDoorSettings implements ConfigExtension<FrontDoorConfig> {
 *     public String name() { return "front-door"; }
 *     public Set<String> configKeys() { return Set.of("client_header_timeout"); }
 *     public Set<String> tables() { return Set.of("auth"); }
 *     public FrontDoorConfig defaults() { return FrontDoorConfig.DEFAULT; }
 *     public FrontDoorConfig read(ConfigSection root) {
 *         ConfigSection config = root.table("config");
 *         ...
 *     }
 * }
 * RouterConfig c = ConfigLoader.load(file, env);
 * FrontDoorConfig door = c.extension(new FrontDoorSettings());
 * }</pre>
 *
 * @param <T> the extension's settings
 */
public interface ConfigExtension<T> {

    /** A short name, unique among extensions; names the settings in messages. */
    String name();

    /** The keys of {@code [config]} this extension reads (the router reports any other as unknown). */
    Set<String> configKeys();

    /** The top-level tables this extension reads whole, e.g. {@code "auth"}. */
    Set<String> tables();

    /** The settings when the file says nothing of them. */
    T defaults();

    /**
     * Reads the settings from the file. Throws a {@link ConfigException} naming the key, the value
     * and what is expected for a bad value ({@link ConfigSection} makes them); unknown keys of the
     * extension's own tables are its to report.
     */
    T read(ConfigSection root);

    /**
     * Files the settings were read from besides the configuration file (a keys file): editing one
     * alone reloads the configuration. Read them with {@link ConfigSection#readText}: a reload then
     * parses the copy it judged whole (a changed one that ends mid-line is not applied).
     */
    default List<Path> watchedFiles(T settings) {
        return List.of();
    }

    /**
     * What changing from {@code before} to {@code after} takes away that a file cut short must never
     * take away (API keys turned off), in words, or null. A reload of a file that ends mid-line is
     * refused when this is not null.
     */
    default String weakening(T before, T after) {
        return null;
    }

    /**
     * What changing from {@code before} to {@code after} would do that no reload may do, however
     * whole the file looks (API keys turned off: a write that stalls for longer than a reload waits
     * looks like a deliberate edit), in words, or null. Such a reload is refused; a restart applies it.
     */
    default String refusal(T before, T after) {
        return null;
    }
}
