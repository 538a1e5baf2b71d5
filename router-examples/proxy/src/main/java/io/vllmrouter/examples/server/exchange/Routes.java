package io.vllmrouter.examples.server.exchange;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vllmrouter.examples.server.DashboardPage;

import java.util.Set;
import java.util.TreeSet;

/**
 * Where a request goes, by its method and decoded path: one of the proxy's own endpoints, forwarded
 * to a backend, or nowhere (404). It only classifies ({@link ProxyExchange#route}); who may send it
 * is {@link AccessGuard}'s decision, and the answer {@link Dispatch}'s. Stateless.
 *
 * <p>Forwarded: every path under {@code /v1/} (GET, POST; DELETE for stored responses), vLLM's endpoints outside it
 * ({@link #EXTRA_FORWARDED}, POST), and its administration endpoints ({@link #ADMIN_PATHS}) when
 * {@code allow_admin_paths} is set.
 */
@ChannelHandler.Sharable
public final class Routes extends ChannelInboundHandlerAdapter {

    /** The proxy's own endpoints. */
    enum Local { INFO, HEALTH, LOAD_STATS, METRICS, MODELS, MODEL, DASHBOARD, DASHBOARD_DATA }

    /** Who may call a path when {@code [auth]} lists keys. */
    enum Audience {
        /** Anyone ({@code /health}, and the dashboard's page, which holds no data). */
        ANYONE,
        /** The fleet's figures: anyone unless {@code protect_stats}; then a client or admin key. */
        STATS,
        /** A client key. */
        CLIENTS
    }

    /**
     * A route: a local endpoint ({@code local} non-null) or a forward ({@code forward}), with the
     * methods it takes; {@code admin} for vLLM's administration paths.
     */
    record Route(Local local, boolean forward, String methods, boolean admin, Audience audience) {
        static final Route UNKNOWN = new Route(null, false, null, false, Audience.CLIENTS);

        boolean known() {
            return local != null || forward;
        }

        /** Whether {@code method} is one of {@link #methods}, compared in place (this runs per request). */
        boolean allows(String method) {
            for (int i = 0; i < methods.length(); ) {
                int end = methods.indexOf(',', i);
                if (end < 0) {
                    end = methods.length();
                }
                if (end - i == method.length() && methods.regionMatches(i, method, 0, method.length())) {
                    return true;
                }
                i = end + 1;
                while (i < methods.length() && methods.charAt(i) == ' ') {
                    i++;
                }
            }
            return false;
        }
    }

    /**
     * vLLM's administration endpoints, each with the one method vLLM's API server serves it with
     * (most behind {@code VLLM_SERVER_DEV_MODE=1}): GET for the two that only read a server's
     * state, POST for the rest. Never forwarded unless {@code allow_admin_paths}.
     */
    private static final java.util.Map<String, String> ADMIN_METHODS = java.util.Map.ofEntries(
            java.util.Map.entry("/v1/load_lora_adapter", "POST"),
            java.util.Map.entry("/v1/unload_lora_adapter", "POST"),
            java.util.Map.entry("/reset_prefix_cache", "POST"),
            java.util.Map.entry("/reset_mm_cache", "POST"),
            java.util.Map.entry("/start_profile", "POST"),
            java.util.Map.entry("/stop_profile", "POST"),
            java.util.Map.entry("/sleep", "POST"),
            java.util.Map.entry("/wake_up", "POST"),
            java.util.Map.entry("/is_sleeping", "GET"),
            java.util.Map.entry("/collective_rpc", "POST"),
            java.util.Map.entry("/scale_elastic_ep", "POST"),
            java.util.Map.entry("/is_scaling_elastic_ep", "POST"),
            java.util.Map.entry("/server_info", "GET"));

    /** vLLM's administration paths. */
    public static final Set<String> ADMIN_PATHS = ADMIN_METHODS.keySet();

    /** vLLM endpoints outside /v1 that are forwarded (POST). */
    public static final Set<String> EXTRA_FORWARDED = Set.of(
            "/tokenize", "/detokenize", "/pooling", "/classify", "/score", "/rerank", "/v2/rerank");

    private static final Route FORWARD_V1 = new Route(null, true, "GET, POST", false, Audience.CLIENTS);
    /** Stored Responses API objects may be deleted (OpenAI's DELETE /v1/responses/{id}). */
    private static final Route FORWARD_RESPONSES = new Route(null, true, "GET, POST, DELETE", false, Audience.CLIENTS);
    private static final Route FORWARD_POST = new Route(null, true, "POST", false, Audience.CLIENTS);
    private static final Route ADMIN_POST = new Route(null, true, "POST", true, Audience.CLIENTS);
    private static final Route ADMIN_GET = new Route(null, true, "GET", true, Audience.CLIENTS);

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ProxyExchange x && x.path != null) {
            x.route = route(x.path, x.method);
            x.methodAllowed = x.route.known() && x.route.allows(x.method);
        }
        ctx.fireChannelRead(msg);
    }

    private static final java.util.Map<String, Route> LOCAL = java.util.Map.of(
            "/", local(Local.INFO, Audience.STATS),
            "/health", local(Local.HEALTH, Audience.ANYONE),
            "/load-stats", local(Local.LOAD_STATS, Audience.STATS),
            "/metrics", local(Local.METRICS, Audience.STATS),
            "/v1/models", local(Local.MODELS, Audience.CLIENTS),
            DashboardPage.PATH, local(Local.DASHBOARD, Audience.ANYONE),
            DashboardPage.DATA_PATH, local(Local.DASHBOARD_DATA, Audience.STATS));
    private static final Route MODEL = local(Local.MODEL, Audience.CLIENTS);

    static Route route(String path, String method) {
        Route r = LOCAL.get(path);
        if (r != null) {
            return r;
        }
        String admin = ADMIN_METHODS.get(path);
        if (admin == null && path.length() > 1 && path.charAt(path.length() - 1) == '/') {
            // vLLM's server (Starlette) redirects "/sleep/" to "/sleep": an administration path too
            admin = ADMIN_METHODS.get(path.substring(0, path.length() - 1));
        }
        if (admin != null) {
            return admin.equals("GET") ? ADMIN_GET : ADMIN_POST;
        }
        if (path.startsWith("/v1/models/") && (method.equals("GET") || method.equals("HEAD"))) {
            return MODEL;
        }
        if (path.startsWith("/v1/")) {
            return path.startsWith("/v1/responses/") ? FORWARD_RESPONSES : FORWARD_V1;
        }
        if (EXTRA_FORWARDED.contains(path)) {
            return FORWARD_POST;
        }
        return Route.UNKNOWN;
    }

    /** The proxy's own endpoints take GET, and HEAD as every general-purpose server must (RFC 9110). */
    private static Route local(Local l, Audience a) {
        return new Route(l, false, "GET, HEAD", false, a);
    }

    /** The forwarded paths outside /v1, sorted, for the endpoint list at {@code GET /}. */
    static String extraForwarded() {
        return String.join(", ", new TreeSet<>(EXTRA_FORWARDED));
    }
}
