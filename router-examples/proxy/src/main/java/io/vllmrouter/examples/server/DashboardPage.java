package io.vllmrouter.examples.server;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The web dashboard served at {@value #PATH}: one self-contained HTML page (inline CSS and script,
 * nothing loaded from elsewhere) that polls {@value #DATA_PATH}. Read once from the class path; every
 * request gets the same bytes.
 *
 * <pre>{@code
 * case "/dashboard": DashboardPage.send(exchange); return;                 // JDK HttpServer
 * ctx.writeAndFlush(... Unpooled.wrappedBuffer(DashboardPage.buffer()) ...); // any other server
 * }</pre>
 */
public final class DashboardPage {

    /** Where the proxy serves the page. */
    public static final String PATH = "/dashboard";
    /** Where the page reads its data ({@link io.vllmrouter.examples.dashboard.DashboardData}). */
    public static final String DATA_PATH = "/dashboard/data";
    public static final String CONTENT_TYPE = "text/html; charset=utf-8";
    /** Headers to send with the page: no caching of a live page, and a policy that lets it reach only its own origin. */
    public static final Map<String, String> HEADERS = Map.of(
            "Content-Type", CONTENT_TYPE,
            "Cache-Control", "no-cache",
            "X-Content-Type-Options", "nosniff",
            "Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                    + "connect-src 'self'; img-src 'self' data:");

    private static final byte[] PAGE = load();

    private DashboardPage() {
    }

    /** The page, read-only. */
    public static ByteBuffer buffer() {
        return ByteBuffer.wrap(PAGE).asReadOnlyBuffer();
    }

    /** The page's length in bytes. */
    public static int length() {
        return PAGE.length;
    }

    /** Answers a GET (or HEAD) with the page; other methods get 405 from the caller's own check. */
    public static void send(HttpExchange ex) throws IOException {
        HEADERS.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
        if ("HEAD".equalsIgnoreCase(ex.getRequestMethod())) {
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(200, PAGE.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(PAGE);
        }
    }

    /** The page's data source for a proxy on {@code router}, sampling on {@code scheduler}. */
    public static io.vllmrouter.examples.dashboard.WebDashboardFeed feed(io.vllmrouter.api.VllmRouter router, ProxyOptions options,
                                                               io.vllmrouter.api.time.Scheduler scheduler,
                                                               java.net.InetSocketAddress address, java.time.Instant startedAt) {
        io.vllmrouter.examples.dashboard.DashboardInfo info = new io.vllmrouter.examples.dashboard.DashboardInfo(
                "vllm-router " + options.version(), address.getHostString() + ":" + address.getPort(), startedAt, "");
        return io.vllmrouter.examples.dashboard.WebDashboardFeed.start(router::stats, options.metrics()::requestsByOutcome,
                () -> io.vllmrouter.examples.dashboard.ServerNames.of(router.config()), info, scheduler);
    }

    private static byte[] load() {
        try (InputStream in = DashboardPage.class.getResourceAsStream("dashboard.html")) {
            if (in == null) {
                throw new IllegalStateException("dashboard.html is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
