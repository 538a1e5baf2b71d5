package io.vllmrouter.examples.server;

import java.util.Map;
import java.util.Set;

/**
 * vLLM's administration endpoints, each with the one method vLLM serves it with (its API server's
 * routes, most behind {@code VLLM_SERVER_DEV_MODE=1}): {@code GET} for the two that only read a
 * server's state, {@code /is_sleeping} and {@code /server_info}; {@code POST} for the rest,
 * {@code /is_scaling_elastic_ep} included. The proxy forwards them only with
 * {@code allow_admin_paths = true}, and answers another method with 405 and {@code Allow}.
 */
final class AdminRoutes {

    private static final Map<String, String> METHODS = Map.ofEntries(
            Map.entry("/v1/load_lora_adapter", "POST"),
            Map.entry("/v1/unload_lora_adapter", "POST"),
            Map.entry("/reset_prefix_cache", "POST"),
            Map.entry("/reset_mm_cache", "POST"),
            Map.entry("/start_profile", "POST"),
            Map.entry("/stop_profile", "POST"),
            Map.entry("/sleep", "POST"),
            Map.entry("/wake_up", "POST"),
            Map.entry("/is_sleeping", "GET"),
            Map.entry("/collective_rpc", "POST"),
            Map.entry("/scale_elastic_ep", "POST"),
            Map.entry("/is_scaling_elastic_ep", "POST"),
            Map.entry("/server_info", "GET"));

    /** The administration paths. */
    static final Set<String> PATHS = METHODS.keySet();

    private AdminRoutes() {
    }

    /** The method vLLM serves administration path {@code path} with, as an {@code Allow} value. */
    static String method(String path) {
        return METHODS.getOrDefault(path, "POST");
    }
}
