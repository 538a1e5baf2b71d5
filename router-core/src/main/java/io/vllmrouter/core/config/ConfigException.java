package io.vllmrouter.core.config;

/**
 * A configuration that cannot be used: a missing or unreadable file, a TOML syntax error, or a
 * value that is wrong. The message tells the operator where and what, in one line:
 *
 * <pre>
 * servers.toml:4: servers[1].max_concurrent_requests = 0 (expected: integer &gt;= 1)
 * servers.toml:9: config.health_check_intervall = 10 (expected: a key of [config]; did you mean health_check_interval?)
 * servers.toml:3:19: TOML syntax error at line 3, column 19: Unexpected 'f', expected ... a number ...
 * environment: REQUEST_TIMEOUT = "fast" (expected: number of seconds &gt; 0)
 * /etc/vllm-router/servers.toml: file not found
 * </pre>
 *
 * <p>A file with several mistakes is reported at once: the exception names the first (its parts
 * below) and its message has one line per mistake; {@link #mistakes()} lists them all.
 *
 * <p>An {@link IllegalArgumentException}, as {@code VllmRouter.reconfigure(String)} promises for
 * invalid text. The parts are available on their own for tools ({@code check-config}, tests): {@link #file()},
 * {@link #line()}, {@link #key()}, {@link #value()}, {@link #expected()}.
 */
public final class ConfigException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** {@link #file()} of an error in an environment variable. */
    public static final String ENVIRONMENT = "environment";

    private final String file;
    private final int line;
    private final int column;
    private final String key;
    private final String value;
    private final String expected;
    private final java.util.List<ConfigException> mistakes;

    /**
     * A bad value.
     *
     * @param file     where it came from: the config file as named by the caller, or {@link #ENVIRONMENT}
     * @param line     1-based line of the key, or -1 when unknown
     * @param key      the full key ({@code config.request_timeout}, {@code servers[0].url}) or the
     *                 environment variable's name
     * @param value    the value as written (strings quoted), or null when the key is missing
     * @param expected what would have been accepted
     */
    public ConfigException(String file, int line, String key, String value, String expected) {
        this(file, line, -1, key, value, expected,
                location(file, line, -1) + key + (value == null ? " is missing" : " = " + value)
                        + " (expected: " + expected + ")",
                null);
    }

    private ConfigException(String file, int line, int column, String key, String value, String expected,
                            String message, Throwable cause) {
        super(message, cause);
        this.file = file;
        this.line = line;
        this.column = column;
        this.key = key;
        this.value = value;
        this.expected = expected;
        this.mistakes = java.util.List.of(this);
    }

    private ConfigException(java.util.List<ConfigException> all) {
        super(all.size() + " mistakes in the configuration:" + lines(all), all.get(0).getCause());
        ConfigException first = all.get(0);
        this.file = first.file;
        this.line = first.line;
        this.column = first.column;
        this.key = first.key;
        this.value = first.value;
        this.expected = first.expected;
        this.mistakes = java.util.List.copyOf(all);
    }

    private static String lines(java.util.List<ConfigException> all) {
        StringBuilder sb = new StringBuilder();
        for (ConfigException e : all) {
            sb.append("\n  ").append(e.getMessage());
        }
        return sb.toString();
    }

    /** {@code all} as one exception: the only one, or one naming the first whose message lists every mistake. */
    public static ConfigException of(java.util.List<ConfigException> all) {
        java.util.List<ConfigException> flat = new java.util.ArrayList<>();
        for (ConfigException e : all) {
            flat.addAll(e.mistakes());
        }
        return flat.size() == 1 ? flat.get(0) : new ConfigException(flat);
    }

    /** Every mistake found, in file order as read; just this one when there was one. */
    public java.util.List<ConfigException> mistakes() {
        return mistakes;
    }

    /** A TOML syntax error at {@code line}:{@code column}. */
    static ConfigException syntax(String file, int line, int column, String detail) {
        return new ConfigException(file, line, column, null, null, "valid TOML",
                location(file, line, column) + "TOML syntax error at line " + line + ", column " + column + ": " + detail,
                null);
    }

    /** The file itself is the problem (missing, unreadable, not UTF-8). */
    static ConfigException file(String file, String problem, Throwable cause) {
        return new ConfigException(file, -1, -1, null, null, "a readable TOML file in UTF-8",
                location(file, -1, -1) + problem, cause);
    }

    private static String location(String file, int line, int column) {
        StringBuilder sb = new StringBuilder(file);
        if (line > 0) {
            sb.append(':').append(line);
            if (column > 0) {
                sb.append(':').append(column);
            }
        }
        return sb.append(": ").toString();
    }

    /** The config file as the caller named it, or {@link #ENVIRONMENT} for a bad environment variable. */
    public String file() {
        return file;
    }

    /** 1-based line in {@link #file()}, or -1 when unknown (environment, missing file, some missing keys). */
    public int line() {
        return line;
    }

    /** 1-based column of a syntax error, or -1. */
    public int column() {
        return column;
    }

    /**
     * The full key ({@code config.request_timeout}, {@code servers[2].max_concurrent_requests},
     * 0-based index) or the environment variable's name; null for file and syntax errors.
     */
    public String key() {
        return key;
    }

    /** The offending value as written (strings in quotes); null when missing or not about a value. */
    public String value() {
        return value;
    }

    /** What would have been accepted, e.g. {@code integer >= 1}. */
    public String expected() {
        return expected;
    }
}
