package io.vllmrouter.examples.server.exchange;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.ProxyContext;

/**
 * Who may send a request, decided on its route ({@link Routes}): with {@code [auth]} keys, a client
 * key ({@code Authorization: Bearer <key>}) for everything but {@code /health} and the dashboard's
 * page, and for the fleet's figures ({@code /}, {@code /load-stats}, {@code /metrics}, the
 * dashboard's data) only when {@code protect_stats} — there an admin key ({@code admin_keys}) does
 * too, which opens nothing else; vLLM's administration paths
 * only with {@code allow_admin_paths} (403); and a forwarded request within its key's limits
 * ({@code requests_per_minute}, {@code max_concurrent}: 429 with {@code Retry-After}). The first
 * refusal of an exchange stands. Stateless (the key limits are the context's).
 */
@ChannelHandler.Sharable
public final class AccessGuard extends ChannelInboundHandlerAdapter {

    private final ProxyContext context;

    public AccessGuard(ProxyContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ProxyExchange x && x.refusal == null && x.route != null) {
            judge(x, context.access());
        }
        ctx.fireChannelRead(msg);
    }

    private void judge(ProxyExchange x, FrontDoorConfig access) {
        Routes.Route route = x.route;
        boolean keyed = switch (route.audience()) {
            case ANYONE -> false;
            case STATS -> access.protectStats() && (access.authEnabled() || !access.adminKeyDigests().isEmpty());
            case CLIENTS -> access.authEnabled();
        };
        if (keyed) {
            String presented = bearer(x.head.headers().get(HttpHeaderNames.AUTHORIZATION));
            x.keyId = access.match(presented);
            if (x.keyId == null && route.audience() == Routes.Audience.STATS && access.matchAdmin(presented) != null) {
                return; // an admin key opens the fleet's figures, and nothing else
            }
            if (x.keyId == null) {
                x.refuse(new ProxyExchange.Refusal(401, "invalid_request_error", "invalid_api_key",
                        "Missing or invalid API key: send it as \"Authorization: Bearer <key>\"", -1, null, true, false));
                return;
            }
        }
        if (route.admin() && !access.allowAdminPaths()) {
            x.refuse(new ProxyExchange.Refusal(403, "invalid_request_error", "admin_path_forbidden",
                    "Backend administration path " + x.path + " is not forwarded (allow_admin_paths = false)"));
            return;
        }
        if (route.forward() && x.methodAllowed && x.keyId != null) {
            int wait = context.keyLimits().acquire(x.keyId, access.requestsPerMinute(), access.maxConcurrent());
            if (wait > 0) {
                x.refuse(new ProxyExchange.Refusal(429, "rate_limit_error", "rate_limit_exceeded",
                        "Too many requests for this API key ("
                                + (access.maxConcurrent() > 0 ? "max_concurrent " + access.maxConcurrent() + ", " : "")
                                + "requests_per_minute " + (access.requestsPerMinute() > 0 ? access.requestsPerMinute() : "unlimited")
                                + "); retry after " + wait + " s", wait, null, false, false));
                return;
            }
            x.holdsKeySlot = access.maxConcurrent() > 0;
        }
    }

    /** The key of an {@code Authorization: Bearer <key>} header, or null. */
    static String bearer(String authorization) {
        if (authorization == null || authorization.length() < 7
                || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String key = authorization.substring(7).strip();
        return key.isEmpty() ? null : key;
    }
}
