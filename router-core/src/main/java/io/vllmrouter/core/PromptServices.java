package io.vllmrouter.core;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.KvCacheIndex;
import io.vllmrouter.api.spi.KvCacheIndexProvider;
import io.vllmrouter.api.spi.KvEventSource;
import io.vllmrouter.api.spi.PickInputs;
import io.vllmrouter.api.spi.PromptTokenizer;
import io.vllmrouter.api.spi.PromptTokenizerProvider;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the strategy asks the router to prepare before each pick ({@link PickInputs}): the KV-event
 * index that follows the servers' {@code kv_events} streams, and the tokenizer that gives a request
 * its prompt tokens. One per router, owned by the {@link Fleet}: {@link #apply} runs in the fleet's
 * serial context at each configuration applied and returns the {@link Active} services the next
 * snapshot carries; the request path only reads that.
 *
 * <p>The index comes from a {@link KvCacheIndexProvider} found with {@link ServiceLoader} (the
 * {@code router-kv-events} module), a local tokenizer from a {@link PromptTokenizerProvider}
 * (the {@code router-tokenizers} module); {@code tokenizer = "backend"} is {@link BackendTokenizer}.
 * A setting that names a module that is not there fails the configuration with the key in question.
 */
final class PromptServices implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(PromptServices.class.getName());

    /** The services in force, as one snapshot carries them. */
    static final class Active {

        static final Active NONE = new Active(PickInputs.NONE, null, null, null);

        private final PickInputs inputs;
        private final KvCacheIndex index;
        private final TokenSource tokenizer;
        private final LongAdder timeouts;

        Active(PickInputs inputs, KvCacheIndex index, TokenSource tokenizer, LongAdder timeouts) {
            this.inputs = inputs;
            this.index = index;
            this.tokenizer = tokenizer;
            this.timeouts = timeouts;
        }

        PickInputs inputs() { return inputs; }
        /** The KV-event index, or null. */
        KvCacheIndex index() { return index; }
        /** The tokenizer, or null when the strategy wants no tokens. */
        TokenSource tokenizer() { return tokenizer; }

        void tokenizeTimedOut() {
            if (timeouts != null) {
                timeouts.increment();
            }
        }

        /** The index's and the tokenizer's figures. */
        Map<String, Long> stats() {
            if (index == null && tokenizer == null) {
                return Map.of();
            }
            Map<String, Long> m = new LinkedHashMap<>();
            if (index != null) {
                m.putAll(index.stats());
            }
            if (tokenizer != null) {
                m.putAll(tokenizer.stats());
                m.put("tokenizer_timeouts", timeouts.sum());
            }
            return m;
        }
    }

    /** The host's index provider, or null for ServiceLoader's. */
    private final KvCacheIndexProvider indexProvider;

    // Fleet context only.
    private KvCacheIndex index;
    private TokenSource tokenizer;
    private String tokenizerSpec;
    private final LongAdder timeouts = new LongAdder();
    private boolean warnedUnfollowed;

    /** @param indexProvider makes the KV-event index; null: the first one {@link ServiceLoader} finds */
    PromptServices(KvCacheIndexProvider indexProvider) {
        this.indexProvider = indexProvider;
    }

    /**
     * Brings the services in line with {@code strategy}'s needs and {@code config}'s servers.
     *
     * @throws IllegalArgumentException {@code "index: ..."} or {@code "tokenizer: ..."} when a needed
     *                                  module is missing or the tokenizer cannot be loaded; nothing changed then
     */
    Active apply(RouterConfig config, BalancingStrategy strategy) {
        PickInputs in = strategy.pickInputs();
        KvCacheIndex newIndex = in.kvEvents() && index == null ? createIndex(in.kvIndexMaxBytes(), indexProvider) : null;
        TokenSource newTokenizer = null;
        try {
            if (in.wantsTokens() && !in.tokenizer().equals(tokenizerSpec)) {
                newTokenizer = createTokenizer(in.tokenizer(), in.tokenizeTimeout());
            }
        } catch (RuntimeException e) {
            if (newIndex != null) {
                newIndex.close();
            }
            throw e;
        }
        if (newIndex != null) {
            index = newIndex;
        } else if (!in.kvEvents() && index != null) {
            index.close();
            index = null;
        }
        if (newTokenizer != null) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            tokenizer = newTokenizer;
            tokenizerSpec = in.tokenizer();
        } else if (!in.wantsTokens() && tokenizer != null) {
            tokenizer.close();
            tokenizer = null;
            tokenizerSpec = null;
        }
        List<KvEventSource> sources = sources(config);
        if (index != null) {
            index.follow(sources);
            if (sources.isEmpty()) {
                LOG.log(Level.WARNING, "index = \"kv-events\" but no server has kv_events: every backend uses the approximate index");
            }
        } else if (!sources.isEmpty() && !warnedUnfollowed) {
            warnedUnfollowed = true;
            LOG.log(Level.WARNING, "{0} server(s) have kv_events, but the strategy does not read them "
                    + "([strategies.cache-aware] index = \"kv-events\" with strategy = \"cache-aware\")", sources.size());
        }
        return index == null && tokenizer == null ? Active.NONE : new Active(in, index, tokenizer, timeouts);
    }

    static List<KvEventSource> sources(RouterConfig config) {
        List<KvEventSource> out = new ArrayList<>();
        for (ServerConfig s : config.servers()) {
            if (s.kvEvents() != null) {
                out.add(new KvEventSource(s.id(), s.kvEvents().endpoint(), s.kvEvents().replay(), s.kvEvents().ranks()));
            }
        }
        return out;
    }

    private static KvCacheIndex createIndex(long maxBytes, KvCacheIndexProvider given) {
        if (given != null) {
            return given.create(maxBytes);
        }
        for (KvCacheIndexProvider p : load(KvCacheIndexProvider.class)) {
            return p.create(maxBytes);
        }
        throw new IllegalArgumentException("index: \"kv-events\" (expected: the router-kv-events module on the class path, "
                + "as in the standalone proxy; or index = \"approximate\")");
    }

    private static TokenSource createTokenizer(String spec, Duration timeout) {
        if (spec.equals("backend")) {
            // One /tokenize call may outlast the request's wait: its answer still fills the cache.
            return new BackendTokenizer(timeout.multipliedBy(50).plusSeconds(1));
        }
        for (PromptTokenizerProvider p : load(PromptTokenizerProvider.class)) {
            if (p.accepts(spec)) {
                PromptTokenizer t = p.create(spec);
                return new LocalTokenizer(t, spec);
            }
        }
        throw new IllegalArgumentException("tokenizer: " + spec + " (expected: \"backend\", or a local tokenizer's "
                + "directory with the router-tokenizers module on the class path)");
    }

    private static <T> List<T> load(Class<T> type) {
        ClassLoader own = PromptServices.class.getClassLoader();
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        ClassLoader loader = own;
        if (context != null && context != own) {
            try {
                if (Class.forName(type.getName(), false, context) == type) {
                    loader = context;
                }
            } catch (ClassNotFoundException | LinkageError e) {
                loader = own;
            }
        }
        List<T> found = new ArrayList<>();
        java.util.Iterator<T> it = ServiceLoader.load(type, loader).iterator();
        while (true) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                found.add(it.next());
            } catch (ServiceConfigurationError | LinkageError e) {
                LOG.log(Level.WARNING, "A " + type.getSimpleName() + " failed to load and is skipped: " + e);
            }
        }
        return found;
    }

    /** Stops following the servers and frees the tokenizer. Fleet context or close. */
    @Override
    public void close() {
        if (index != null) {
            index.close();
            index = null;
        }
        if (tokenizer != null) {
            tokenizer.close();
            tokenizer = null;
            tokenizerSpec = null;
        }
    }
}
