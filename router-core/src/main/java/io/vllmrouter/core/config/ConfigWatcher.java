package io.vllmrouter.core.config;

import io.vllmrouter.core.strategy.StrategyRegistry;
import io.vllmrouter.api.time.Scheduler;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Watches the config file and hands over each new valid configuration: the file half of hot reload
 * (applying it to the running router is the engine's part).
 *
 * <pre>{@code
 * ConfigWatcher watcher = new ConfigWatcher(file, System.getenv(), scheduler,
 *         config.configReloadInterval(), router::reconfigure, e -> System.err.println(e.getMessage()));
 * watcher.start();
 * ...
 * watcher.close();
 * }</pre>
 *
 * <p>Every {@code interval} (and on {@link #checkNow()}) the file's bytes are read and hashed
 * (SHA-256). A change is judged by content, not modification time: mtime has coarse granularity on
 * some file systems and misses two edits within it, and a touch without an edit is not a change.
 *
 * <p>Only a whole file is applied. A new content is judged once it has stayed the same for
 * {@link #SETTLE}: only the look scheduled {@code SETTLE} after it was first seen judges it, when
 * the file still holds it (an editor or a deployment rewriting the file in place is caught half way
 * otherwise, and half a file can parse: fewer servers, or no {@code [auth]}; two looks a moment
 * apart, such as two change events of one write, prove nothing). An empty file is refused, and so
 * is one that ends in the middle of a line when it would remove servers or turn API keys off: that
 * is what a write cut short looks like (a complete file ends with a newline). A reload never removes
 * every server, however whole the file looks (a write stalled before {@code [servers]}), and a valid
 * content with fewer servers than the running one is applied only once it has stayed the same for
 * {@link #REMOVAL_SETTLE} more (a write stalled at a line end between two servers looks like it),
 * unless the file was replaced by another (a new inode: written whole, then renamed over the old;
 * a file deleted and written anew in place has a new inode too, and is not held either). What an extension
 * says no reload may do ({@link ConfigExtension#refusal}, such as turning API keys off) is refused
 * whatever the file looks like. When a settled content differs from the last seen:
 * <ul>
 *   <li>valid, and a different configuration from the last one handed over: {@code onChange(config)}.
 *       An edit that changes only comments or layout calls nothing;</li>
 *   <li>invalid: {@code onError(exception)} once for this content; the old config stays in force
 *       since {@code onChange} is not called. The next edit is checked again;</li>
 *   <li>file missing or unreadable: {@code onError} once for that condition; watching goes on, and
 *       when the file comes back it is checked like any other content.</li>
 * </ul>
 *
 * <p>Threads: checks run on the scheduler's thread (or the caller's, for {@link #checkNow()}) and
 * are serialized, so callbacks never run concurrently with each other. A callback may call {@link
 * #setInterval} (to apply a new {@code config_reload_interval}). An exception thrown by a callback is
 * logged and does not stop the watcher. Reading a config file is a short blocking read, which is
 * why this runs on the background scheduler and never on a request thread.
 */
public final class ConfigWatcher implements AutoCloseable {

    /** How long a new content must stay unchanged before it is judged. */
    public static final Duration SETTLE = Duration.ofSeconds(1);

    /**
     * How much longer a valid content with fewer servers than the running configuration must stay
     * unchanged before it is applied: an in-place write stalled at a line end between two servers
     * looks like such an edit.
     */
    public static final Duration REMOVAL_SETTLE = Duration.ofSeconds(10);

    /** Why the file is looked at: a periodic or asked-for look, or the one that judges a settled content. */
    private enum Look { ANY, SETTLED, REMOVAL_SETTLED }

    private static final System.Logger LOG = System.getLogger(ConfigWatcher.class.getName());

    private final Path file;
    private final Map<String, String> env;
    private final Scheduler scheduler;
    private final Consumer<RouterConfig> onChange;
    private final Consumer<ConfigException> onError;
    private final StrategyRegistry strategies;

    /** Serializes checks; callbacks run while it is held. */
    private final Object checkLock = new Object();
    /** Guards the schedule; never held while checking, so a callback may reschedule. */
    private final Object scheduleLock = new Object();

    // Guarded by checkLock.
    /** Hash of the last content seen, or a description of the last read failure; null before the first look. */
    private String lastSeen;
    /** The file's identity (device and inode) when {@link #lastSeen} was read; null when unknown. */
    private Object lastSeenFile;
    /** The last configuration handed over (or given as current); null when none yet. */
    private RouterConfig applied;
    /** The other files' hashes (a keys file's) when {@link #lastSeen} was taken as the current content. */
    private Map<Path, String> appliedOthers = Map.of();
    /** A new content seen once and not yet settled (its hash), and the check that looks again. */
    private String pending;
    /** The pending content is valid and has fewer servers: its second, longer settle is under way. */
    private boolean removalWaits;
    /** The number of the latest settle look scheduled. */
    private long scheduledLook;
    private Scheduler.Cancellable settleCheck;

    // Guarded by scheduleLock.
    private Duration interval;
    private Scheduler.Cancellable task;
    private boolean started;
    private volatile boolean closed;

    /**
     * A watcher whose baseline is the file as {@link #start()} finds it: changes after that are
     * reported. Use the other constructor to compare against a config loaded earlier.
     *
     * @param file      the config file
     * @param env       environment overrides, as for {@link ConfigLoader#load(Path, Map)}
     * @param scheduler runs the periodic check
     * @param interval  time between checks, &gt; 0
     * @param onChange  receives each new valid configuration
     * @param onError   receives each new problem (invalid content, missing or unreadable file)
     */
    public ConfigWatcher(Path file, Map<String, String> env, Scheduler scheduler, Duration interval,
                         Consumer<RouterConfig> onChange, Consumer<ConfigException> onError) {
        this(file, env, scheduler, interval, null, onChange, onError);
    }

    /**
     * A watcher that compares the file against {@code current}, the configuration the caller loaded
     * and runs: an edit made between that load and {@link #start()} is reported at the first check.
     */
    public ConfigWatcher(Path file, Map<String, String> env, Scheduler scheduler, Duration interval,
                         RouterConfig current, Consumer<RouterConfig> onChange, Consumer<ConfigException> onError) {
        this(file, env, scheduler, interval, current, onChange, onError, StrategyRegistry.defaultRegistry());
    }

    /**
     * As above, judging the {@code strategy} name against {@code strategies} (the router's registry)
     * rather than the default one.
     */
    public ConfigWatcher(Path file, Map<String, String> env, Scheduler scheduler, Duration interval,
                         RouterConfig current, Consumer<RouterConfig> onChange, Consumer<ConfigException> onError,
                         StrategyRegistry strategies) {
        this.strategies = Objects.requireNonNull(strategies, "strategies");
        this.file = Objects.requireNonNull(file, "file");
        this.env = Map.copyOf(Objects.requireNonNull(env, "env"));
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.interval = checkInterval(interval);
        this.applied = current;
        this.onChange = Objects.requireNonNull(onChange, "onChange");
        this.onError = Objects.requireNonNull(onError, "onError");
    }

    /**
     * Starts periodic checks, the first one {@code interval} from now. Without a current config,
     * first records the file as it is now as the baseline, calling nothing. With one, the file as it
     * is now is the baseline when it parses to that same configuration (so the first check does not
     * take the unchanged file for a new content and parse it again); else the first check judges it.
     * Idempotent.
     */
    public void start() {
        synchronized (scheduleLock) {
            if (started || closed) {
                return;
            }
            started = true;
        }
        synchronized (checkLock) {
            if (lastSeen == null) {
                takeBaseline();
            }
            lastSeenFile = fileIdentity();
        }
        synchronized (scheduleLock) {
            if (!closed) {
                task = scheduler.scheduleAtFixedRate(() -> checkQuietly(Look.ANY, 0), interval, interval);
            }
        }
    }

    /**
     * Looks at the file now, on the calling thread, calling {@code onChange} or {@code onError}
     * before returning if a read failure has something to report; a new content is judged by a look
     * {@link #SETTLE} after it was first seen (one is scheduled), however often it is looked at
     * meanwhile. Does nothing once closed.
     */
    public void checkNow() {
        check(Look.ANY, 0);
    }

    /**
     * One look at the file; {@link Look#SETTLED}: the look {@link #SETTLE} after a new content was
     * seen, which judges it if the file still holds it; {@link Look#REMOVAL_SETTLED}: the look
     * {@link #REMOVAL_SETTLE} after that, which applies a content with fewer servers.
     */
    private void check(Look look, long lookId) {
        synchronized (checkLock) {
            if (closed) {
                return;
            }
            if (look != Look.ANY && lookId != scheduledLook) {
                look = Look.ANY; // a settle look overtaken by a newer content: that content's own look judges it
            }
            byte[] bytes;
            Object identity = fileIdentity();
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                pending = null;     // whatever comes back is new, and settles from the start
                removalWaits = false;
                lastSeenFile = null;
                String state = "unreadable: " + e;
                if (!state.equals(lastSeen)) {
                    lastSeen = state;
                    report(ConfigLoader.readError(file, e));
                }
                return;
            }
            if (identity != null && !identity.equals(fileIdentity())) {
                identity = null; // replaced while being read: which file the bytes are from is unknown
            }
            // The other files the settings are read from (a keys file), read once: the same bytes
            // are judged and parsed, so a write between two reads cannot slip a torn copy in.
            Map<Path, byte[]> others = otherFiles();
            Map<Path, String> otherHashes = hashes(others);
            String hash = sha256(bytes) + state(otherHashes);
            if (hash.equals(lastSeen)) {
                pending = null;
                lastSeenFile = identity; // the same content under a new name is the file from now on
                return;
            }
            if (!hash.equals(pending)) {
                // New content: judged once it has stayed the same for SETTLE (a write may be under way).
                pending = hash;
                removalWaits = false;
                lookAgainAfter(SETTLE, Look.SETTLED);
                return;
            }
            if (look == Look.ANY || (look == Look.REMOVAL_SETTLED) != removalWaits) {
                return;      // seen again before its settle look: that look judges it
            }
            RouterConfig config;
            try {
                config = ConfigLoader.parse(bytes, file.toString(), env, strategies, others);
                refuseIfCutShort(bytes, config, others, otherHashes);
            } catch (ConfigException e) {
                pending = null;
                lastSeen = hash;
                lastSeenFile = identity;
                report(e);
                return;
            }
            // A file renamed over the old one was written whole before it took the name: not held.
            boolean replaced = identity != null && lastSeenFile != null && !identity.equals(lastSeenFile);
            if (applied != null && config.servers().size() < applied.servers().size() && !removalWaits && !replaced) {
                removalWaits = true;
                LOG.log(Level.INFO, file + " has fewer servers (" + applied.servers().size() + " -> "
                        + config.servers().size() + "): applied if it stays the same for "
                        + REMOVAL_SETTLE.toSeconds() + " s more (a write in progress can look like that)");
                lookAgainAfter(REMOVAL_SETTLE, Look.REMOVAL_SETTLED);
                return;
            }
            pending = null;
            removalWaits = false;
            lastSeen = hash;
            lastSeenFile = identity;
            appliedOthers = otherHashes;
            if (config.equals(applied)) {
                return;
            }
            applied = config;
            try {
                onChange.accept(config);
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "config change handler failed for " + file, e);
            }
        }
    }

    /** Schedules {@code look}; only the latest one scheduled judges (an earlier one may already be waiting to run). */
    private void lookAgainAfter(Duration wait, Look look) {
        long id = ++scheduledLook;
        synchronized (scheduleLock) {
            if (settleCheck != null) {
                settleCheck.cancel();
            }
            settleCheck = closed ? null : scheduler.schedule(() -> checkQuietly(look, id), wait);
        }
    }

    /**
     * Refuses what a write cut short looks like: an empty file, one that would remove every server
     * (a write stalled before {@code [servers]}), or one ending mid-line that would remove servers or
     * turn API keys off; and what an extension says no reload may do. None is applied; the running
     * configuration stays.
     */
    private void refuseIfCutShort(byte[] bytes, RouterConfig config, Map<Path, byte[]> others,
                                  Map<Path, String> otherHashes) {
        String text = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        if (text.isBlank()) {
            throw ConfigException.file(file.toString(), "the file is empty: not applied (a write in progress, or"
                    + " a file emptied by mistake?); the running configuration stays", null);
        }
        if (applied == null) {
            return;
        }
        for (Map.Entry<Path, byte[]> other : others.entrySet()) {
            byte[] b = other.getValue();
            // A keys file cut mid-line would make its last key's first characters a key: a changed
            // one is taken only whole (a line end after its last line).
            if (b.length > 0 && b[b.length - 1] != '\n'
                    && !otherHashes.get(other.getKey()).equals(appliedOthers.get(other.getKey()))) {
                throw ConfigException.file(other.getKey().toString(), "the file ends in the middle of a line: it looks"
                        + " cut short by a write in progress, so the configuration is not reloaded; the running"
                        + " configuration stays (a complete file ends with a newline)", null);
            }
        }
        String refused = config.servers().isEmpty() && !applied.servers().isEmpty()
                ? "remove every server, which a reload never does (restart the router to run without [servers])"
                : null;
        for (ConfigExtension<?> e : ConfigExtensions.installed()) {
            if (refused == null) {
                refused = refusal(e, applied, config);
            }
        }
        if (refused != null) {
            throw ConfigException.file(file.toString(), "the file would " + refused + ": not applied;"
                    + " the running configuration stays", null);
        }
        if (text.endsWith("\n")) {
            return;
        }
        String weakened = config.servers().size() < applied.servers().size()
                ? "remove servers (" + applied.servers().size() + " -> " + config.servers().size() + ")" : null;
        for (ConfigExtension<?> e : ConfigExtensions.installed()) {
            if (weakened == null) {
                weakened = weakening(e, applied, config);
            }
        }
        if (weakened != null) {
            throw ConfigException.file(file.toString(), "the file ends in the middle of a line and would " + weakened
                    + ": it looks cut short by a write in progress, so it is not applied;"
                    + " the running configuration stays (a complete file ends with a newline)", null);
        }
    }

    /**
     * Changes the time between checks. When it differs from the current one and the watcher runs,
     * the schedule restarts: the next check is {@code interval} from now. May be called from a callback.
     */
    public void setInterval(Duration interval) {
        Duration checked = checkInterval(interval);
        synchronized (scheduleLock) {
            boolean reschedule = task != null && !closed && !checked.equals(this.interval);
            this.interval = checked;
            if (reschedule) {
                task.cancel();
                task = scheduler.scheduleAtFixedRate(() -> checkQuietly(Look.ANY, 0), checked, checked);
            }
        }
    }

    /** The time between checks. */
    public Duration interval() {
        synchronized (scheduleLock) {
            return interval;
        }
    }

    /** Stops checking; a check running now finishes. Idempotent. Does not close the scheduler. */
    @Override
    public void close() {
        synchronized (scheduleLock) {
            closed = true;
            if (task != null) {
                task.cancel();
                task = null;
            }
            if (settleCheck != null) {
                settleCheck.cancel();
                settleCheck = null;
            }
        }
    }

    /**
     * The file as it is now as the baseline. Without a current configuration, whatever it holds
     * (the caller loaded and reported it already): its configuration becomes the current one. With
     * one, only when it parses to that same configuration: a file changed since that configuration
     * was loaded, or one that does not parse, is left to the first check, which reports it.
     */
    private void takeBaseline() {
        boolean adopt = applied == null;
        try {
            byte[] bytes = Files.readAllBytes(file);
            Map<Path, byte[]> others = Map.of();
            try {
                RouterConfig parsed = ConfigLoader.parse(bytes, file.toString(), env, strategies);
                others = otherFiles(parsed);
                if (!others.isEmpty()) {
                    // Parsed again from the copies hashed below: a keys file written between the
                    // parse's read and that copy is then a change the first check sees, not a baseline.
                    try {
                        parsed = ConfigLoader.parse(bytes, file.toString(), env, strategies, others);
                    } catch (ConfigException e) {
                        if (applied == null) {
                            applied = parsed;   // what the caller loaded; the first check judges the new copy
                        }
                        adopt = false;
                        throw e;
                    }
                }
                if (applied == null) {
                    applied = parsed;
                } else {
                    adopt = parsed.equals(applied);
                }
            } catch (ConfigException e) {
                // without a current configuration: reported by the caller; with one: by the first check
            }
            if (adopt) {
                Map<Path, String> otherHashes = hashes(others);
                lastSeen = sha256(bytes) + state(otherHashes);
                appliedOthers = otherHashes;
            }
        } catch (IOException e) {
            if (adopt) {
                lastSeen = "unreadable: " + e;
            }
        }
    }

    /** The file's identity (device and inode, where the file system has them), or null. */
    private Object fileIdentity() {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    private void checkQuietly(Look look, long lookId) {
        try {
            check(look, lookId);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "config check failed for " + file, e);
        }
    }

    private void report(ConfigException e) {
        try {
            onError.accept(e);
        } catch (RuntimeException ex) {
            LOG.log(Level.ERROR, "config error handler failed for " + file, ex);
        }
    }

    private static Duration checkInterval(Duration d) {
        Objects.requireNonNull(d, "interval");
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("interval: " + d + " (expected: > 0)");
        }
        return d;
    }

    private static <T> String refusal(ConfigExtension<T> e, RouterConfig before, RouterConfig after) {
        return e.refusal(before.extension(e), after.extension(e));
    }

    private static <T> String weakening(ConfigExtension<T> e, RouterConfig before, RouterConfig after) {
        return e.weakening(before.extension(e), after.extension(e));
    }

    /**
     * The other files the current configuration was read from (an extension's keys file), read now:
     * editing one alone reloads too, and a reload parses these copies. An unreadable one is left out
     * (the parse reads it, and says why it cannot).
     */
    private Map<Path, byte[]> otherFiles() {
        return otherFiles(applied);
    }

    /** The other files {@code config} was read from, read now; none when {@code config} is null. */
    private static Map<Path, byte[]> otherFiles(RouterConfig config) {
        if (config == null) {
            return Map.of();
        }
        Map<Path, byte[]> files = new java.util.LinkedHashMap<>();
        for (ConfigExtension<?> e : ConfigExtensions.installed()) {
            for (Path p : watchedFiles(e, config)) {
                try {
                    files.put(p, Files.readAllBytes(p));
                } catch (IOException ex) {
                    // left out: the state says "unreadable", and the parse says why
                }
            }
        }
        return files;
    }

    /** The other files' hashes in one string, for telling a change ("" when there is none). */
    private String state(Map<Path, String> otherHashes) {
        StringBuilder state = new StringBuilder();
        if (applied != null) {
            for (ConfigExtension<?> e : ConfigExtensions.installed()) {
                for (Path p : watchedFiles(e, applied)) {
                    String h = otherHashes.get(p);
                    state.append('+').append(h == null ? "unreadable" : h);
                }
            }
        }
        return state.toString();
    }

    private static Map<Path, String> hashes(Map<Path, byte[]> others) {
        Map<Path, String> h = new java.util.HashMap<>();
        others.forEach((p, b) -> h.put(p, sha256(b)));
        return h;
    }

    private static <T> List<Path> watchedFiles(ConfigExtension<T> e, RouterConfig c) {
        return e.watchedFiles(c.extension(e));
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
