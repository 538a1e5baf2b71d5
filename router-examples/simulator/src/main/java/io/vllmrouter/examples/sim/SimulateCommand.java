package io.vllmrouter.examples.sim;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code vllm-router simulate}: one simulated vLLM server, until Ctrl-C.
 *
 * <pre>{@code
 * vllm-router simulate --port 8001 --model Qwen/Qwen3-0.6B --max-num-seqs 8 --tpot-ms 15
 * }</pre>
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run a simulated vLLM server (OpenAI API, SSE streaming, vLLM /metrics) until Ctrl-C.")
public final class SimulateCommand implements Callable<Integer> {

    @Option(names = "--host", paramLabel = "HOST", defaultValue = SimConfig.DEFAULT_HOST, description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8000", description = "Port, 0 for any free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--model", paramLabel = "NAME", description = "Model served; repeat for several (default: " + SimConfig.DEFAULT_MODEL + ").")
    List<String> models;

    @Option(names = "--max-num-seqs", paramLabel = "N", defaultValue = "" + SimConfig.DEFAULT_MAX_NUM_SEQS,
            description = "Requests running at once; the rest wait (default: ${DEFAULT-VALUE}).")
    int maxNumSeqs;

    @Option(names = "--max-model-len", paramLabel = "TOKENS", defaultValue = "" + SimConfig.DEFAULT_MAX_MODEL_LEN,
            description = "Context length (default: ${DEFAULT-VALUE}).")
    int maxModelLen;

    @Option(names = "--ttft-ms", paramLabel = "MS", defaultValue = "" + SimConfig.DEFAULT_TTFT_BASE_MS,
            description = "Fixed part of the time to first token, ms (default: ${DEFAULT-VALUE}).")
    double ttftMs;

    @Option(names = "--ttft-per-token-ms", paramLabel = "MS", defaultValue = "" + SimConfig.DEFAULT_TTFT_PER_PROMPT_TOKEN_MS,
            description = "Prefill cost per prompt token, ms (default: ${DEFAULT-VALUE}).")
    double ttftPerTokenMs;

    @Option(names = "--tpot-ms", paramLabel = "MS", defaultValue = "" + SimConfig.DEFAULT_TPOT_BASE_MS,
            description = "Time per output token with a batch of one, ms (default: ${DEFAULT-VALUE}).")
    double tpotMs;

    @Option(names = "--tpot-alpha", paramLabel = "X", defaultValue = "" + SimConfig.DEFAULT_TPOT_BATCH_ALPHA,
            description = "Slow-down per extra sequence in the batch (default: ${DEFAULT-VALUE}).")
    double tpotAlpha;

    @Option(names = "--default-max-tokens", paramLabel = "N", defaultValue = "" + SimConfig.DEFAULT_OUTPUT_TOKENS,
            description = "Output length when a request gives no max_tokens (default: ${DEFAULT-VALUE}).")
    int defaultMaxTokens;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed for generated text and faults (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--error-rate", paramLabel = "SHARE", defaultValue = "0", description = "Share 0..1 of requests answered 500/503 (default: ${DEFAULT-VALUE}).")
    double errorRate;

    @Option(names = "--reasoning-tokens", paramLabel = "N", defaultValue = "0",
            description = "A reasoning model: the first N tokens of each answer are its thinking (default: ${DEFAULT-VALUE}, none).")
    int reasoningTokens;

    @Option(names = "--reasoning-field", paramLabel = "NAME", defaultValue = "reasoning",
            description = "Field of the thinking: reasoning (vLLM v0.11.1 on) or reasoning_content (before) (default: ${DEFAULT-VALUE}).")
    String reasoningField;

    @Option(names = "--prefix-cache", description = "Enable the prefix cache (a hit shortens time to first token).")
    boolean prefixCache;

    @Option(names = "--time-scale", paramLabel = "X", defaultValue = "1", description = "Simulated ms per real ms; 10 runs ten times faster (default: ${DEFAULT-VALUE}).")
    double timeScale;

    @Option(names = "--data-parallel-size", paramLabel = "N", defaultValue = "1",
            description = "Data-parallel engines reported in /metrics, one engine label each (default: ${DEFAULT-VALUE}).")
    int dataParallelSize;

    @Option(names = "--no-responses-store", description = "Keep no Responses API responses for follow-ups "
            + "(vLLM without VLLM_ENABLE_RESPONSES_API_STORE=1).")
    boolean noResponsesStore;
    @Option(names = "--kv-events-port", paramLabel = "PORT", defaultValue = "-1",
            description = "Publish KV-cache events as vLLM's --kv-events-config does, on tcp://127.0.0.1:PORT (plus the "
                    + "data-parallel rank); turns the prefix cache on; 0 for any free port, -1 for none (default: ${DEFAULT-VALUE}).")
    int kvEventsPort;

    @Option(names = "--kv-events-replay-port", paramLabel = "PORT", defaultValue = "-1",
            description = "The replay socket's port (plus the rank); 0 for any free port, -1 for none (default: ${DEFAULT-VALUE}).")
    int kvEventsReplayPort;

    @Option(names = "--kv-events-shape", paramLabel = "SHAPE", defaultValue = "map",
            description = "Wire shape: map (current vLLM) or array (its first releases' tagged tuples) (default: ${DEFAULT-VALUE}).")
    String kvEventsShape;

    @Option(names = "--kv-hash-bytes", description = "Block hashes as 32-byte strings, as with VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0.")
    boolean kvHashBytes;

    @Option(names = "--kv-hash-seed", paramLabel = "N",
            description = "Fixed block-hash seed, as PYTHONHASHSEED fixes vLLM's (default: random per start).")
    Long kvHashSeed;

    @Option(names = "--data-parallel-rank", paramLabel = "R", defaultValue = "0",
            description = "The data-parallel rank to publish as; ports are offset by it (default: ${DEFAULT-VALUE}).")
    int dataParallelRank;

    @Option(names = "--drift", paramLabel = "S:F,...", description = "Speed over time: SECONDS:FACTOR points after start, a factor on the time per token and the prefill, linear between points; 30:1,35:4 slows the server 4x from 30 to 35 s (default: none).")
    String drift;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The configuration these options describe; throws IllegalArgumentException naming a bad value. */
    public SimConfig toConfig() {
        SimConfig.Builder b = SimConfig.builder()
                .host(host)
                .port(port)
                .maxNumSeqs(maxNumSeqs)
                .maxModelLen(maxModelLen)
                .ttftBaseMs(ttftMs)
                .ttftPerPromptTokenMs(ttftPerTokenMs)
                .tpotBaseMs(tpotMs)
                .tpotBatchAlpha(tpotAlpha)
                .defaultOutputTokens(defaultMaxTokens)
                .seed(seed)
                .faults(new Faults(errorRate, false, 0))
                .reasoning(new Reasoning(reasoningTokens, reasoningField))
                .prefixCache(prefixCache || kvEventsPort >= 0)
                .timeScale(timeScale)
                .dataParallelSize(dataParallelSize)
                .responsesStore(!noResponsesStore)
                .drift(SpeedDrift.parse(drift));
        if (kvEventsPort >= 0) {
            io.vllmrouter.examples.kvevents.KvEventEncoder.Shape shape = switch (kvEventsShape) {
                case "map" -> io.vllmrouter.examples.kvevents.KvEventEncoder.Shape.MAP;
                case "array" -> io.vllmrouter.examples.kvevents.KvEventEncoder.Shape.ARRAY;
                default -> throw new IllegalArgumentException("kv-events-shape: " + kvEventsShape + " (expected: map or array)");
            };
            b.kvEvents(new KvEventsSettings(kvEventsPort, kvEventsReplayPort, shape, kvHashBytes, kvHashSeed, dataParallelRank));
        }
        if (models != null && !models.isEmpty()) {
            b.models(models);
        }
        return b.build();
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec != null ? spec.commandLine().getOut() : new PrintWriter(System.out, true);
        SimConfig config;
        try {
            config = toConfig();
        } catch (IllegalArgumentException e) {
            PrintWriter err = spec != null ? spec.commandLine().getErr() : new PrintWriter(System.err, true);
            err.println("simulate: " + e.getMessage());
            err.flush();
            return 2;
        }
        SimulatedVllm sim = SimulatedVllm.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            sim.close();
            stopped.countDown();
        }, "simulate-shutdown"));
        out.println("Simulated vLLM serving " + config.models() + " at " + sim.baseUrl()
                + " (max_num_seqs=" + config.maxNumSeqs() + ", time scale " + config.timeScale()
                + (config.drift() == SpeedDrift.NONE ? "" : ", drift " + config.drift()) + ")"
                + (sim.kvEventsPort() < 0 ? "" : "; KV-cache events on tcp://127.0.0.1:" + sim.kvEventsPort()
                        + (sim.kvEventsReplayPort() < 0 ? "" : ", replay on tcp://127.0.0.1:" + sim.kvEventsReplayPort()))
                + "; Ctrl-C to stop");
        out.flush();
        stopped.await();
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new SimulateCommand()).execute(args));
    }
}
