package io.vllmrouter.core.metrics;

/**
 * Whether a vLLM server's engines are awake, from {@code vllm:engine_sleep_state}: one series per
 * engine and per {@code sleep_state} label ({@code awake}, {@code weights_offloaded},
 * {@code discard_all}), which vLLM sets on every engine at once when {@code POST /sleep} or
 * {@code POST /wake_up} runs. A server whose engines are asleep does not generate until woken.
 */
public enum SleepState {

    /** The page has no {@code vllm:engine_sleep_state} (older vLLM, SGLang): taken as awake. */
    UNKNOWN("not published"),
    /** Every engine's {@code awake} series is 1. */
    AWAKE("awake"),
    /** Sleep level 1: the weights are offloaded to CPU memory, the KV cache is discarded. */
    WEIGHTS_OFFLOADED("sleep level 1: weights offloaded"),
    /** Sleep level 2: the weights and the KV cache are discarded. */
    DISCARD_ALL("sleep level 2: weights and KV cache discarded"),
    /** An engine's {@code awake} series is 0 and neither level is set. */
    ASLEEP("asleep");

    private final String description;

    SleepState(String description) {
        this.description = description;
    }

    /** Whether the server must get no requests: some engine says it is not awake. */
    public boolean asleep() {
        return this == WEIGHTS_OFFLOADED || this == DISCARD_ALL || this == ASLEEP;
    }

    /** A few words for people: "sleep level 1: weights offloaded". */
    public String describe() {
        return description;
    }
}
