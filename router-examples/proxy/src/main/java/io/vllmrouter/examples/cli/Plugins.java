package io.vllmrouter.examples.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Jars of custom strategies given to the proxy without rebuilding it: every {@code *.jar} in the
 * plugins directory joins a class loader whose parent holds the proxy, and that loader becomes the
 * thread's context class loader, where router-core's {@code StrategyRegistry} looks for
 * {@code META-INF/services/io.vllmrouter.api.spi.BalancingStrategyProvider}. Works with
 * {@code ./vllm-router} and plain {@code java -jar vllm-router.jar} alike.
 *
 * <p>The directory: {@code --plugins DIR}, else {@code VLLM_ROUTER_PLUGINS}, else {@code plugins}
 * in the working directory when it exists.
 */
final class Plugins {

    static final String ENV = "VLLM_ROUTER_PLUGINS";
    static final String DEFAULT_DIR = "plugins";

    /** The directory and the jars found in it (empty when there is none). */
    record Found(Path dir, List<Path> jars) {
        String describe() {
            StringBuilder sb = new StringBuilder();
            for (Path j : jars) {
                sb.append(sb.length() == 0 ? "" : ", ").append(j.getFileName());
            }
            return sb.toString();
        }
    }

    private Plugins() {
    }

    /**
     * Finds the jars of the plugins directory.
     *
     * @throws Main.CliException when a directory given by flag or environment does not exist
     */
    static Found find(Path flag, Map<String, String> env) {
        Path dir;
        boolean explicit = true;
        if (flag != null) {
            dir = flag;
        } else if (env.get(ENV) != null && !env.get(ENV).isBlank()) {
            dir = Path.of(env.get(ENV).trim());
        } else {
            dir = Path.of(DEFAULT_DIR);
            explicit = false;
        }
        if (!Files.isDirectory(dir)) {
            if (explicit) {
                throw new Main.CliException("plugins directory not found: " + dir.toAbsolutePath()
                        + " (given by " + (flag != null ? "--plugins" : ENV) + ")", 2);
            }
            return new Found(dir, List.of());
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> jars = new ArrayList<>(files.filter(p -> p.getFileName().toString().endsWith(".jar"))
                    .filter(Files::isRegularFile).sorted().toList());
            return new Found(dir, List.copyOf(jars));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /**
     * A class loader over the jars, child of the proxy's, installed as the current thread's context
     * class loader; the current loader when there are no jars.
     */
    static ClassLoader install(Found found) {
        ClassLoader parent = Plugins.class.getClassLoader();
        if (found.jars().isEmpty()) {
            return parent;
        }
        URL[] urls = new URL[found.jars().size()];
        for (int i = 0; i < urls.length; i++) {
            try {
                urls[i] = found.jars().get(i).toAbsolutePath().toUri().toURL();
            } catch (MalformedURLException e) {
                throw new IllegalStateException(found.jars().get(i) + ": " + e.getMessage(), e);
            }
        }
        ClassLoader loader = new URLClassLoader("vllm-router-plugins", urls, parent);
        Thread.currentThread().setContextClassLoader(loader);
        return loader;
    }
}
