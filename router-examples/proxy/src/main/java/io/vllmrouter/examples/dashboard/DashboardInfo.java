package io.vllmrouter.examples.dashboard;

import java.time.Instant;
import java.util.Objects;

/**
 * What the dashboard shows besides the router's stats.
 *
 * @param title      the first line's name, e.g. {@code "vllm-router 0.1.0"}
 * @param listen     where the proxy listens, e.g. {@code "0.0.0.0:8888"}
 * @param startedAt  when the proxy started (uptime is measured to the stats' time)
 * @param footer     a hint for the last lines, e.g. {@code "Ctrl-C to stop"}; {@code \n} separates lines; may be empty
 */
public record DashboardInfo(String title, String listen, Instant startedAt, String footer) {

    public DashboardInfo {
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(startedAt, "startedAt");
        footer = footer == null ? "" : footer;
    }
}
