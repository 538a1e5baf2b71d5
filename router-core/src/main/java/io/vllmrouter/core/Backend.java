package io.vllmrouter.core;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.time.Ticker;
import java.net.URI;
import java.util.List;

/**
 * One backend: its identity and configuration, the models it serves, and its three parts by job —
 * {@link #admission} (health and breaker), {@link #load} (the live estimate strategies read) and
 * {@link #counters} (request figures for stats). Strategies see it as a {@link BackendView}; its
 * reads take no lock.
 *
 * <p>Configuration, models and admission change only in the fleet's serial context, which then
 * publishes a new {@link Snapshot}; load figures and counters change at any time and are read live.
 */
final class Backend implements BackendView {

    private final String id;
    private final URI url;
    private volatile ServerConfig config;
    private volatile int index;
    /** Effective model ids: configured, or fetched; empty = unknown (serves any model). */
    private volatile List<String> models;
    /** Catalogue entries for {@code /v1/models}: configured (synthesized) or fetched; empty when unknown. */
    private volatile List<ModelInfo> modelInfos = List.of();

    final Admission admission = new Admission();
    final LoadEstimate load;
    final BackendCounters counters;
    /** The speed estimate (fleet context) and what relayed streams add to it (request threads). */
    final SpeedEstimate speedEstimate = new SpeedEstimate();
    final RelayedSpeed relayedSpeed = new RelayedSpeed();

    Backend(ServerConfig config, int index, Ticker ticker, long staleAfterNanos) {
        this.id = config.id();
        this.url = config.url();
        this.config = config;
        this.index = index;
        this.models = config.models();
        this.load = new LoadEstimate(ticker, staleAfterNanos);
        this.counters = new BackendCounters(ticker);
    }

    @Override public String id() { return id; }
    @Override public URI url() { return url; }
    @Override public int capacity() { return config.maxConcurrentRequests(); }
    @Override public int inFlight() { return load.inFlight(); }
    @Override public int index() { return index; }
    @Override public List<String> models() { return models; }
    @Override public double running() { return load.running(capacity()); }
    @Override public double waiting() { return load.waiting(capacity()); }
    @Override public double outstanding() { return load.outstanding(); }
    @Override public double kvCacheUsage() { return load.kvCacheUsage(); }
    @Override public boolean metricsFresh() { return load.fresh(); }
    @Override public long cacheBlocks() { return load.cacheBlocks(); }
    @Override public int cacheBlockSize() { return load.cacheBlockSize(); }
    @Override public long cacheTokens() { return config.cacheTokens() > 0 ? config.cacheTokens() : load.cacheTokens(); }
    @Override public boolean cacheTokensConfigured() { return config.cacheTokens() > 0; }
    @Override public long cacheEpoch() { return load.cacheEpoch(); }
    @Override public io.vllmrouter.api.spi.BackendSpeed speed() { return speedEstimate.speed(); }

    ServerConfig config() { return config; }

    /** How logs name the backend: {@code "gpu-1 (http://10.0.0.1:8000)"}, or the URL when it has no name. */
    String label() {
        String name = config.name();
        return name == null ? id : name + " (" + id + ")";
    }

    /** The key sent upstream as a bearer token, or null; read at each attempt, so a rotation applies at once. */
    String apiKey() { return config.apiKey(); }

    List<ModelInfo> modelInfos() { return modelInfos; }

    /** Fleet context only. */
    void config(ServerConfig c, int index) {
        this.config = c;
        this.index = index;
    }

    /** Fleet context only. */
    void models(List<String> ids, List<ModelInfo> infos) {
        this.models = List.copyOf(ids);
        this.modelInfos = List.copyOf(infos);
    }

    /** Fleet context only: the catalogue entries of configured models, as vLLM would list them. */
    void configuredModels(ServerConfig sc) {
        List<ModelInfo> infos = new java.util.ArrayList<>(sc.models().size());
        for (String m : sc.models()) {
            com.fasterxml.jackson.databind.node.ObjectNode entry = RouterJson.mapper().createObjectNode()
                    .put("id", m).put("object", "model").put("owned_by", "vllm");
            infos.add(new ModelInfo(m, entry.toString()));
        }
        models(sc.models(), infos);
    }

    BackendStats stats() {
        long current = Math.round(outstanding());
        int cap = capacity();
        String ineligible = admission.ineligibleReason();
        return new BackendStats(id, current, cap, Math.max(0, cap - current), round1(100.0 * current / cap),
                ineligible == null, load.detailed(), models, load.inFlight(), admission.circuitState(),
                admission.draining(), admission.healthStats(), counters.stats(), cacheTokens(), ineligible, speedStats());
    }

    private BackendStats.SpeedStats speedStats() {
        io.vllmrouter.api.spi.BackendSpeed s = speed();
        return new BackendStats.SpeedStats(s.timePerOutputToken() * 1000, s.timeToFirstToken() * 1000,
                s.prefillPerToken() * 1000, s.outputTokens(),
                io.vllmrouter.api.spi.ExpectedTime.queueSeconds(this) * 1000, s.confidence());
    }

    static double round1(double d) {
        return Math.round(d * 10.0) / 10.0;
    }

    @Override
    public String toString() {
        return "Backend[" + id + ", inFlight=" + load.inFlight() + "]";
    }
}
