package io.vllmrouter.examples.loadgen;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterStats;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** What the loopback benchmarks share: quiet logging, a description of the machine, stats sums. */
final class BenchSupport {

    private BenchSupport() {
    }

    /**
     * Process-wide settings every loopback benchmark wants before anything starts: TCP_NODELAY on
     * the JDK HTTP servers (the simulator's as well as the proxy's; the JDK reads the property once,
     * when the first server is created, so whichever starts first decides for all: a simulator
     * started without it holds each small write back ~40 ms by Nagle plus delayed ACKs, which real
     * vLLM, on uvicorn with TCP_NODELAY, does not) and quiet logging.
     */
    static void setup() {
        io.vllmrouter.examples.server.JvmSettings.apply();
        quietLogging();
    }

    /**
     * Sets logback's root logger to WARN (and the structured request log off). The proxy's own
     * DEBUG lines and Resilience4j's per-call DEBUG events would otherwise cost more than the
     * router itself. A {@code -Dlogback.configurationFile} given by the operator wins.
     */
    static void quietLogging() {
        if (System.getProperty("logback.configurationFile") != null) {
            return;
        }
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
            ctx.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.WARN);
            ctx.getLogger("vllmrouter.structured").setLevel(Level.OFF);
            ctx.getLogger("vllmrouter.access").setLevel(Level.OFF);
        }
    }

    /** One line: cores, CPU model, JVM, max heap, load average. */
    static String machine() {
        Runtime rt = Runtime.getRuntime();
        return String.format(Locale.ROOT, "machine: %d cores (%s), %s %s (%s), max heap %d MiB, load average %s",
                rt.availableProcessors(), cpuModel(), System.getProperty("java.vm.name"),
                System.getProperty("java.version"), System.getProperty("java.vendor"),
                rt.maxMemory() >> 20, loadAverage());
    }

    /** The first three fields of {@code /proc/loadavg}, or the JVM's 1-minute figure elsewhere. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    /** Requests the router has on its backends now. */
    static int inFlight(RouterStats stats) {
        int n = 0;
        for (BackendStats s : stats.servers()) {
            n += s.inFlight();
        }
        return n;
    }

    /** Whether the JVM has virtual threads (Java 21+); the proxy and the simulator use them then. */
    static boolean virtualThreads() {
        try {
            Thread.class.getMethod("ofVirtual");
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }
}
