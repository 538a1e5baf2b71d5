package io.vllmrouter.examples.logging;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import org.slf4j.LoggerFactory;

import java.net.URL;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Configures logback for the proxy from {@code vllm-router-logback.xml}: rolling
 * {@code vllm-router.log} (everything at the level), {@code vllm-router-error.log} (ERROR only),
 * {@code vllm-router-structured.log} (one JSON line per request) under the log directory, and the
 * console only when asked. Without this call the jar's plain {@code logback.xml} applies (WARN and
 * above to stderr, no files), which suits the short commands such as {@code check-config}.
 *
 * <p>A {@code -Dlogback.configurationFile=...} given by the operator wins: nothing is changed then.
 */
public final class LoggingSetup {

    /** Environment variable and system property naming the log directory. */
    public static final String LOG_DIR_ENV = "LOG_DIR";
    public static final String LOG_DIR_PROPERTY = "vllmrouter.log.dir";

    private LoggingSetup() {
    }

    /**
     * The settings as given on the command line or in the environment.
     *
     * @param dir      directory of the log files, created when missing
     * @param level    of the router's loggers: DEBUG, INFO, WARN or WARNING, ERROR or CRITICAL, any
     *                 case (Python names accepted)
     * @param console  also write log lines to stdout (otherwise the console stays untouched)
     * @param libraryLevel  of every other logger, or null for INFO (or {@code level} when stricter)
     */
    public record Settings(Path dir, String level, boolean console, String libraryLevel) {

        /** Other loggers (JDK, libraries) at INFO, or at {@code level} when that is stricter. */
        public Settings(Path dir, String level, boolean console) {
            this(dir, level, console, null);
        }
    }

    private static final java.util.List<String> ORDER = java.util.List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

    /**
     * The level of loggers outside {@code io.vllmrouter}: the one asked for, else INFO, or the
     * router's level when that is stricter (so DEBUG does not bring the JDK's debug output).
     */
    static String libraryLevel(String routerLevel, String asked) {
        if (asked != null && !asked.isBlank()) {
            return level(asked);
        }
        String r = level(routerLevel);
        return ORDER.indexOf(r) > ORDER.indexOf("INFO") ? r : "INFO";
    }

    /** The log directory: {@code -Dvllmrouter.log.dir}, else {@code LOG_DIR}, else {@code ./logs}. */
    public static Path logDir(Map<String, String> env) {
        String p = System.getProperty(LOG_DIR_PROPERTY);
        if (p == null || p.isBlank()) {
            p = env.get(LOG_DIR_ENV);
        }
        return Path.of(p == null || p.isBlank() ? "logs" : p);
    }

    /**
     * Maps a level name to logback's.
     *
     * @throws IllegalArgumentException naming the value and what is expected
     */
    public static String level(String name) {
        String n = name.trim().toUpperCase(Locale.ROOT);
        switch (n) {
            case "TRACE": case "DEBUG": case "INFO": case "WARN": case "ERROR": case "OFF":
                return n;
            case "WARNING":
                return "WARN";
            case "CRITICAL": case "FATAL":
                return "ERROR";
            default:
                throw new IllegalArgumentException("log level: \"" + name
                        + "\" (expected: DEBUG, INFO, WARNING, ERROR or CRITICAL)");
        }
    }

    /**
     * Replaces the logging configuration. Call before the router starts so nothing reaches the
     * console in dashboard mode.
     *
     * @throws IllegalStateException when logback rejects the configuration
     */
    public static void configure(Settings settings) {
        if (System.getProperty("logback.configurationFile") != null) {
            return;
        }
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext)) {
            return;
        }
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        URL xml = LoggingSetup.class.getResource("/vllm-router-logback.xml");
        if (xml == null) {
            throw new IllegalStateException("vllm-router-logback.xml missing from the class path");
        }
        context.reset();
        context.putProperty("LOG_DIR", settings.dir().toAbsolutePath().toString());
        context.putProperty("LOG_LEVEL", level(settings.level()));
        context.putProperty("LIBRARY_LOG_LEVEL", libraryLevel(settings.level(), settings.libraryLevel()));
        context.putProperty("CONSOLE_THRESHOLD", settings.console() ? "TRACE" : "OFF");
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
            configurator.doConfigure(xml);
        } catch (JoranException e) {
            throw new IllegalStateException("logging configuration failed: " + e.getMessage(), e);
        }
    }

    /** Flushes and stops the appenders (call last on shutdown). */
    public static void shutdown() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext) {
            ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
        }
    }
}
