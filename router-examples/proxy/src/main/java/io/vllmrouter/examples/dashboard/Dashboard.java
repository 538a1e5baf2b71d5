package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.RouterStats;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The full-screen live table: switches the terminal to its alternate screen, hides the cursor and
 * redraws {@link DashboardRenderer#render} about twice a second on a daemon thread. {@link #close}
 * (also run from a shutdown hook, so Ctrl-C and SIGTERM restore the terminal) shows the cursor
 * and returns to the normal screen.
 *
 * <pre>{@code
 * Dashboard dashboard = Dashboard.start(router::stats, info, System.out, System.getenv());
 * ...
 * dashboard.close();
 * }</pre>
 *
 * <p>Nothing else should write to the terminal meanwhile (run logging without the console).
 */
public final class Dashboard implements AutoCloseable {

    static final String ALT_SCREEN_ON = "\u001b[?1049h";
    static final String ALT_SCREEN_OFF = "\u001b[?1049l";
    static final String CURSOR_HIDE = "\u001b[?25l";
    static final String CURSOR_SHOW = "\u001b[?25h";
    static final String HOME = "\u001b[H";
    static final String CLEAR_LINE_RIGHT = "\u001b[K";
    static final String CLEAR_BELOW = "\u001b[J";

    public static final Duration REFRESH = Duration.ofMillis(500);
    private static final Duration SIZE_CHECK = Duration.ofSeconds(2);

    private final Supplier<RouterStats> stats;
    private final Supplier<Map<String, String>> names;
    private final DashboardInfo info;
    private final PrintStream out;
    private final Map<String, String> env;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread thread;
    private final Thread hook;
    private volatile int width;
    private volatile int height;

    private Dashboard(Supplier<RouterStats> stats, Supplier<Map<String, String>> names, DashboardInfo info,
                      PrintStream out, Map<String, String> env) {
        this.stats = stats;
        this.names = names;
        this.info = info;
        this.out = out;
        this.env = env;
        this.thread = new Thread(this::loop, "vllm-router-dashboard");
        this.thread.setDaemon(true);
        this.hook = new Thread(this::restore, "vllm-router-dashboard-restore");
    }

    /** Takes over the terminal on {@code out} and starts redrawing. */
    public static Dashboard start(Supplier<RouterStats> stats, DashboardInfo info, PrintStream out, Map<String, String> env) {
        return start(stats, Map::of, info, out, env);
    }

    /**
     * Takes over the terminal on {@code out} and starts redrawing, showing servers by the names
     * {@code names} gives (by URL; read at each frame so that a reloaded configuration shows).
     */
    public static Dashboard start(Supplier<RouterStats> stats, Supplier<Map<String, String>> names, DashboardInfo info,
                                  PrintStream out, Map<String, String> env) {
        Objects.requireNonNull(stats, "stats");
        Objects.requireNonNull(names, "names");
        Objects.requireNonNull(info, "info");
        Objects.requireNonNull(out, "out");
        Dashboard d = new Dashboard(stats, names, info, out, env == null ? Map.of() : env);
        d.measure();
        Runtime.getRuntime().addShutdownHook(d.hook);
        d.write(ALT_SCREEN_ON + CURSOR_HIDE);
        d.thread.start();
        return d;
    }

    private void loop() {
        long nextSizeCheck = System.nanoTime() + SIZE_CHECK.toNanos();
        while (!closed.get()) {
            try {
                if (System.nanoTime() >= nextSizeCheck) {
                    measure();
                    nextSizeCheck = System.nanoTime() + SIZE_CHECK.toNanos();
                }
                String frame = DashboardRenderer.render(stats.get(), info, width, height, names.get());
                StringBuilder b = new StringBuilder(frame.length() + 64).append(HOME);
                for (String line : frame.split("\n", -1)) {
                    b.append(line).append(CLEAR_LINE_RIGHT).append("\r\n");
                }
                b.setLength(b.length() - 2);
                b.append(CLEAR_BELOW);
                if (!closed.get()) {
                    write(b.toString());
                }
            } catch (RuntimeException e) {
                // A failed frame (stats unavailable while closing) is skipped; the next one retries.
            }
            try {
                TimeUnit.NANOSECONDS.sleep(REFRESH.toNanos()); // the redraw period itself, not a wait for an event
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void measure() {
        int[] size = TerminalSize.detect(env);
        width = size[0];
        height = size[1];
    }

    private synchronized void write(String s) {
        out.print(s);
        out.flush();
    }

    /** Stops redrawing and gives the terminal back. Idempotent. */
    @Override
    public void close() {
        restore();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook runs restore() itself
        }
    }

    private void restore() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        write(CURSOR_SHOW + ALT_SCREEN_OFF);
    }

    /** Terminal size from {@code COLUMNS}/{@code LINES}, else {@code stty size} on the tty, else 80x24. */
    static final class TerminalSize {
        private TerminalSize() {
        }

        static int[] detect(Map<String, String> env) {
            int cols = parse(env.get("COLUMNS"));
            int rows = parse(env.get("LINES"));
            if (cols <= 0 || rows <= 0) {
                int[] tty = stty();
                if (cols <= 0) {
                    cols = tty[0];
                }
                if (rows <= 0) {
                    rows = tty[1];
                }
            }
            return new int[] {cols > 0 ? cols : 80, rows > 0 ? rows : 24};
        }

        private static int parse(String s) {
            if (s == null) {
                return -1;
            }
            try {
                return Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        /** {@code stty size} prints "rows cols"; -1s when there is no terminal. */
        private static int[] stty() {
            try {
                Process p = new ProcessBuilder("sh", "-c", "stty size < /dev/tty")
                        .redirectErrorStream(false)
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
                if (!p.waitFor(2, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return new int[] {-1, -1};
                }
                String[] parts = s.split("\\s+");
                if (parts.length == 2) {
                    return new int[] {parse(parts[1]), parse(parts[0])};
                }
            } catch (IOException e) {
                // no sh or no tty
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new int[] {-1, -1};
        }
    }
}
