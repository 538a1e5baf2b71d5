package io.vllmrouter.examples.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Settings of one {@link SimulatedVllm}; immutable, built and validated by {@link #builder()}.
 *
 * <pre>{@code
 * SimConfig config = SimConfig.builder()
 *         .models("Qwen/Qwen3-0.6B")
 *         .maxNumSeqs(4)
 *         .ttftBaseMs(30).tpotBaseMs(15)
 *         .timeScale(20)          // 20 simulated seconds per wall-clock second
 *         .seed(42)
 *         .build();
 * }</pre>
 *
 * <p>All durations are in simulated milliseconds; {@link #timeScale()} says how many simulated
 * milliseconds pass per wall-clock millisecond.
 */
public final class SimConfig {

    public static final String DEFAULT_MODEL = "Qwen/Qwen3-0.6B";
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_MAX_NUM_SEQS = 16;
    public static final int DEFAULT_MAX_MODEL_LEN = 8192;
    public static final double DEFAULT_TTFT_BASE_MS = 20;
    public static final double DEFAULT_TTFT_PER_PROMPT_TOKEN_MS = 0.05;
    public static final double DEFAULT_TPOT_BASE_MS = 10;
    public static final double DEFAULT_TPOT_BATCH_ALPHA = 0.05;
    public static final int DEFAULT_OUTPUT_TOKENS = 64;
    public static final int DEFAULT_KV_CACHE_BLOCKS = 4096;
    public static final double DEFAULT_STEP_MS = 5;

    private final String host;
    private final int port;
    private final List<String> models;
    private final int maxNumSeqs;
    private final int maxModelLen;
    private final ServiceModel serviceModel;
    private final int defaultOutputTokens;
    private final int kvCacheBlocks;
    private final boolean prefixCache;
    private final int prefixCacheBlocks;
    private final boolean sharedPrefill;
    private final long seed;
    private final Faults faults;
    private final Reasoning reasoning;
    private final double timeScale;
    private final double stepMs;
    private final int dataParallelSize;
    private final boolean responsesStore;
    private final KvEventsSettings kvEvents;
    private final SpeedDrift drift;

    private SimConfig(Builder b) {
        this.host = b.host;
        this.port = b.port;
        this.models = List.copyOf(b.models);
        this.maxNumSeqs = b.maxNumSeqs;
        this.maxModelLen = b.maxModelLen;
        this.serviceModel = new ServiceModel(b.ttftBaseMs, b.ttftPerPromptTokenMs, b.tpotBaseMs, b.tpotBatchAlpha);
        this.defaultOutputTokens = b.defaultOutputTokens;
        this.kvCacheBlocks = b.kvCacheBlocks;
        this.prefixCache = b.prefixCache;
        this.prefixCacheBlocks = b.prefixCacheBlocks > 0 ? b.prefixCacheBlocks : b.kvCacheBlocks;
        this.sharedPrefill = b.sharedPrefill;
        this.seed = b.seed;
        this.faults = b.faults;
        this.reasoning = b.reasoning;
        this.timeScale = b.timeScale;
        this.stepMs = b.stepMs;
        this.dataParallelSize = b.dataParallelSize;
        this.responsesStore = b.responsesStore;
        this.kvEvents = b.kvEvents;
        this.drift = b.drift;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults: one model {@value #DEFAULT_MODEL}, ephemeral port on 127.0.0.1. */
    public static SimConfig defaults() {
        return builder().build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.host = host;
        b.port = port;
        b.models = new ArrayList<>(models);
        b.maxNumSeqs = maxNumSeqs;
        b.maxModelLen = maxModelLen;
        b.ttftBaseMs = serviceModel.ttftBaseMs();
        b.ttftPerPromptTokenMs = serviceModel.ttftPerPromptTokenMs();
        b.tpotBaseMs = serviceModel.tpotBaseMs();
        b.tpotBatchAlpha = serviceModel.tpotBatchAlpha();
        b.defaultOutputTokens = defaultOutputTokens;
        b.kvCacheBlocks = kvCacheBlocks;
        b.prefixCache = prefixCache;
        b.prefixCacheBlocks = prefixCacheBlocks;
        b.sharedPrefill = sharedPrefill;
        b.seed = seed;
        b.faults = faults;
        b.reasoning = reasoning;
        b.timeScale = timeScale;
        b.stepMs = stepMs;
        b.dataParallelSize = dataParallelSize;
        b.responsesStore = responsesStore;
        b.kvEvents = kvEvents;
        b.drift = drift;
        return b;
    }

    public String host() { return host; }
    /** 0 means an ephemeral port. */
    public int port() { return port; }
    /** Models served, never empty; the first is the one answered when a request names none. */
    public List<String> models() { return models; }
    /** Batch slots ({@code --max-num-seqs}). */
    public int maxNumSeqs() { return maxNumSeqs; }
    /** Context length reported by /v1/models; caps prompt plus output. */
    public int maxModelLen() { return maxModelLen; }
    public ServiceModel serviceModel() { return serviceModel; }
    /** Output length when a request gives no {@code max_tokens}; such requests end with "stop". */
    public int defaultOutputTokens() { return defaultOutputTokens; }
    public int kvCacheBlocks() { return kvCacheBlocks; }
    public boolean prefixCache() { return prefixCache; }
    /** Blocks the prefix cache remembers (LRU); defaults to {@link #kvCacheBlocks()}. */
    public int prefixCacheBlocks() { return prefixCacheBlocks; }
    /** Whether prefills share the server's one GPU (see {@link BatchEngine}); default true. */
    public boolean sharedPrefill() { return sharedPrefill; }
    public long seed() { return seed; }
    public Faults faults() { return faults; }
    /** How the model thinks ({@link Reasoning#NONE}: it does not). */
    public Reasoning reasoning() { return reasoning; }
    public double timeScale() { return timeScale; }
    public double stepMs() { return stepMs; }
    /**
     * Data-parallel engines ({@code --data-parallel-size}) the server reports in {@code /metrics}:
     * one series per {@code engine} label, the batch's counts spread over them; default 1.
     */
    public int dataParallelSize() { return dataParallelSize; }
    /**
     * Whether the Responses API stores responses for later follow-ups, as vLLM does with
     * {@code VLLM_ENABLE_RESPONSES_API_STORE=1} (its own default is off); default true.
     */
    public boolean responsesStore() { return responsesStore; }
    /** KV-cache events ({@link KvEventsSettings#OFF} by default). */
    public KvEventsSettings kvEvents() { return kvEvents; }
    /** How the server's speed changes from its start ({@link SpeedDrift#NONE}: it does not). */
    public SpeedDrift drift() { return drift; }

    @Override
    public String toString() {
        return "SimConfig[host=" + host + ", port=" + port + ", models=" + models + ", maxNumSeqs=" + maxNumSeqs
                + ", maxModelLen=" + maxModelLen + ", " + serviceModel + ", defaultOutputTokens=" + defaultOutputTokens
                + ", kvCacheBlocks=" + kvCacheBlocks + ", prefixCache=" + prefixCache + ", prefixCacheBlocks=" + prefixCacheBlocks
                + ", sharedPrefill=" + sharedPrefill + ", seed=" + seed
                + ", faults=" + faults + ", reasoning=" + reasoning + ", timeScale=" + timeScale + ", stepMs=" + stepMs
                + ", dataParallelSize=" + dataParallelSize + ", responsesStore=" + responsesStore
                + (kvEvents.enabled() ? ", kvEvents=" + kvEvents : "") + ", drift=" + drift + "]";
    }

    /** Every setter checks its argument and names it with the bad value when it throws. */
    public static final class Builder {
        private String host = DEFAULT_HOST;
        private int port = 0;
        private List<String> models = new ArrayList<>(List.of(DEFAULT_MODEL));
        private int maxNumSeqs = DEFAULT_MAX_NUM_SEQS;
        private int maxModelLen = DEFAULT_MAX_MODEL_LEN;
        private double ttftBaseMs = DEFAULT_TTFT_BASE_MS;
        private double ttftPerPromptTokenMs = DEFAULT_TTFT_PER_PROMPT_TOKEN_MS;
        private double tpotBaseMs = DEFAULT_TPOT_BASE_MS;
        private double tpotBatchAlpha = DEFAULT_TPOT_BATCH_ALPHA;
        private int defaultOutputTokens = DEFAULT_OUTPUT_TOKENS;
        private int kvCacheBlocks = DEFAULT_KV_CACHE_BLOCKS;
        private boolean prefixCache;
        private int prefixCacheBlocks;
        private boolean sharedPrefill = true;
        private long seed;
        private Faults faults = Faults.NONE;
        private Reasoning reasoning = Reasoning.NONE;
        private double timeScale = 1;
        private double stepMs = DEFAULT_STEP_MS;
        private int dataParallelSize = 1;
        private boolean responsesStore = true;
        private KvEventsSettings kvEvents = KvEventsSettings.OFF;
        private SpeedDrift drift = SpeedDrift.NONE;

        private Builder() {
        }

        /** Publishes KV-cache events from the prefix cache (which must be on). */
        public Builder kvEvents(KvEventsSettings settings) {
            this.kvEvents = Objects.requireNonNull(settings, "kvEvents");
            return this;
        }

        public Builder host(String host) {
            Objects.requireNonNull(host, "host");
            if (host.isBlank()) {
                throw new IllegalArgumentException("host: '" + host + "' (expected: a host name or address)");
            }
            this.host = host;
            return this;
        }

        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port: " + port + " (expected: 0..65535, 0 = ephemeral)");
            }
            this.port = port;
            return this;
        }

        public Builder models(String... models) {
            return models(List.of(models));
        }

        public Builder models(List<String> models) {
            Objects.requireNonNull(models, "models");
            if (models.isEmpty()) {
                throw new IllegalArgumentException("models: [] (expected: at least one model name)");
            }
            for (String m : models) {
                if (m == null || m.isBlank()) {
                    throw new IllegalArgumentException("models: " + models + " (expected: non-blank names)");
                }
            }
            this.models = new ArrayList<>(models);
            return this;
        }

        public Builder maxNumSeqs(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("max_num_seqs: " + n + " (expected: >= 1)");
            }
            this.maxNumSeqs = n;
            return this;
        }

        public Builder maxModelLen(int n) {
            if (n < 2) {
                throw new IllegalArgumentException("max_model_len: " + n + " (expected: >= 2)");
            }
            this.maxModelLen = n;
            return this;
        }

        public Builder ttftBaseMs(double ms) {
            ServiceModel.requireFinite("ttft_base_ms", ms, 0, false);
            this.ttftBaseMs = ms;
            return this;
        }

        public Builder ttftPerPromptTokenMs(double ms) {
            ServiceModel.requireFinite("ttft_per_prompt_token_ms", ms, 0, false);
            this.ttftPerPromptTokenMs = ms;
            return this;
        }

        public Builder tpotBaseMs(double ms) {
            ServiceModel.requireFinite("tpot_base_ms", ms, 0, true);
            this.tpotBaseMs = ms;
            return this;
        }

        public Builder tpotBatchAlpha(double alpha) {
            ServiceModel.requireFinite("tpot_batch_alpha", alpha, 0, false);
            this.tpotBatchAlpha = alpha;
            return this;
        }

        /** Sets all four timing figures at once. */
        public Builder serviceModel(ServiceModel m) {
            Objects.requireNonNull(m, "serviceModel");
            this.ttftBaseMs = m.ttftBaseMs();
            this.ttftPerPromptTokenMs = m.ttftPerPromptTokenMs();
            this.tpotBaseMs = m.tpotBaseMs();
            this.tpotBatchAlpha = m.tpotBatchAlpha();
            return this;
        }

        public Builder defaultOutputTokens(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("default_output_tokens: " + n + " (expected: >= 1)");
            }
            this.defaultOutputTokens = n;
            return this;
        }

        public Builder kvCacheBlocks(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("kv_cache_blocks: " + n + " (expected: >= 1)");
            }
            this.kvCacheBlocks = n;
            return this;
        }

        public Builder prefixCache(boolean on) {
            this.prefixCache = on;
            return this;
        }

        /** LRU size of the prefix cache in blocks; 0 = same as the KV cache. */
        public Builder prefixCacheBlocks(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("prefix_cache_blocks: " + n + " (expected: >= 0)");
            }
            this.prefixCacheBlocks = n;
            return this;
        }

        /** Whether prefills share one GPU (true, the default) or run in parallel, each at full speed. */
        public Builder sharedPrefill(boolean on) {
            this.sharedPrefill = on;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder faults(Faults faults) {
            this.faults = Objects.requireNonNull(faults, "faults");
            return this;
        }

        /** Makes the model a reasoning model, as vLLM serves one with {@code --reasoning-parser}. */
        public Builder reasoning(Reasoning reasoning) {
            this.reasoning = Objects.requireNonNull(reasoning, "reasoning");
            return this;
        }

        /** Simulated milliseconds per wall-clock millisecond; 10 runs ten times faster than real. */
        public Builder timeScale(double scale) {
            if (!Double.isFinite(scale) || scale <= 0) {
                throw new IllegalArgumentException("time_scale: " + scale + " (expected: > 0)");
            }
            this.timeScale = scale;
            return this;
        }

        /** Simulated length of one scheduler step; smaller is finer and costs more CPU. */
        public Builder stepMs(double ms) {
            ServiceModel.requireFinite("step_ms", ms, 0, true);
            this.stepMs = ms;
            return this;
        }

        /** Data-parallel engines reported in {@code /metrics}; {@code kv_cache_blocks} is their total. */
        public Builder dataParallelSize(int n) {
            if (n < 1 || n > 1024) {
                throw new IllegalArgumentException("data_parallel_size: " + n + " (expected: 1..1024)");
            }
            this.dataParallelSize = n;
            return this;
        }

        /** Whether the Responses API keeps responses for follow-ups (vLLM's {@code VLLM_ENABLE_RESPONSES_API_STORE}). */
        public Builder responsesStore(boolean on) {
            this.responsesStore = on;
            return this;
        }

        /** How the server's speed changes from its start, e.g. {@code SpeedDrift.parse("30:1,35:4")}. */
        public Builder drift(SpeedDrift d) {
            this.drift = Objects.requireNonNull(d, "drift");
            return this;
        }

        public SimConfig build() {
            if (defaultOutputTokens >= maxModelLen) {
                throw new IllegalArgumentException("default_output_tokens: " + defaultOutputTokens
                        + " (expected: < max_model_len " + maxModelLen + ")");
            }
            if (kvEvents.enabled() && !prefixCache) {
                throw new IllegalArgumentException("kv_events_port: " + kvEvents.port()
                        + " (expected: the prefix cache on, whose blocks the events report)");
            }
            return new SimConfig(this);
        }
    }
}
