package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.testing.FakeClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigWatcherTest {

    private static final Duration INTERVAL = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private Path file;
    private final FakeClock clock = new FakeClock();
    private final List<RouterConfig> changes = new ArrayList<>();
    private final List<ConfigException> errors = new ArrayList<>();
    private ConfigWatcher watcher;

    @BeforeEach
    void writeInitialFile() throws IOException {
        file = dir.resolve("servers.toml");
        write(servers("http://a:8000"));
    }

    @AfterEach
    void closeWatcher() {
        if (watcher != null) {
            watcher.close();
        }
    }

    private static String servers(String... urls) {
        StringBuilder sb = new StringBuilder("[servers]\nservers = [\n");
        for (String url : urls) {
            sb.append("  { url = \"").append(url).append("\", max_concurrent_requests = 4 },\n");
        }
        return sb.append("]\n").toString();
    }

    private void write(String text) throws IOException {
        Files.writeString(file, text);
    }

    /** One look at the file, then long enough for a new content to settle and be judged. */
    private void check() {
        watcher.checkNow();
        clock.advance(ConfigWatcher.SETTLE);
    }

    private ConfigWatcher startWatcher() {
        watcher = new ConfigWatcher(file, Map.of(), clock, INTERVAL, changes::add, errors::add);
        watcher.start();
        return watcher;
    }

    /** A watcher started with {@code current} as the configuration in force. */
    private ConfigWatcher startWatcherWith(RouterConfig current) {
        watcher = new ConfigWatcher(file, Map.of(), clock, INTERVAL, current, changes::add, errors::add);
        watcher.start();
        return watcher;
    }

    /** The keys of the test extension's [test_keys] table (a host's part of the file). */
    private static List<String> keys(RouterConfig c) {
        return c.extension(TestKeysExtension.INSTANCE).keys();
    }

    private static List<String> urls(RouterConfig c) {
        return c.servers().stream().map(ServerConfig::id).toList();
    }

    @Test
    void noCallbackWhileContentIsUnchanged() throws IOException {
        startWatcher();

        clock.advance(INTERVAL.multipliedBy(3));
        write(servers("http://a:8000"));   // same bytes written again: a new mtime, no new content
        clock.advance(INTERVAL);
        check();

        assertThat(changes).isEmpty();
        assertThat(errors).isEmpty();
    }

    @Test
    void changeIsDetectedAtTheNextInterval() throws IOException {
        startWatcher();
        write(servers("http://a:8000", "http://b:8000"));

        clock.advance(INTERVAL);
        assertThat(changes).as("seen, and judged once it has stayed the same for SETTLE").isEmpty();
        clock.advance(ConfigWatcher.SETTLE);

        assertThat(changes).hasSize(1);
        assertThat(urls(changes.get(0))).containsExactly("http://a:8000", "http://b:8000");
        clock.advance(INTERVAL.multipliedBy(2));
        assertThat(changes).hasSize(1);
    }

    @Test
    void twoQuickEditsOfTheSameSizeAreBothSeen() throws IOException {
        startWatcher();

        write(servers("http://b:8000"));
        check();
        write(servers("http://c:8000"));
        check();

        assertThat(changes).extracting(ConfigWatcherTest::urls)
                .containsExactly(List.of("http://b:8000"), List.of("http://c:8000"));
    }

    @Test
    void invalidFileIsReportedOnceAndFixedFileAcceptedAfterwards() throws IOException {
        startWatcher();
        write(servers("http://a:8000") + "[config]\nrequest_timeout = 0\n");

        clock.advance(INTERVAL.multipliedBy(4));

        assertThat(changes).isEmpty();
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0).key()).isEqualTo("config.request_timeout");
        assertThat(errors.get(0).file()).isEqualTo(file.toString());
        assertThat(errors.get(0).line()).isEqualTo(6);

        write(servers("http://a:8000") + "[config]\nrequest_timeout = 60\n");
        clock.advance(INTERVAL.plus(ConfigWatcher.SETTLE));

        assertThat(errors).hasSize(1);
        assertThat(changes).hasSize(1);
        assertThat(changes.get(0).requestTimeout()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void eachDistinctBadContentIsReported() throws IOException {
        startWatcher();

        write("[config]\nmax_retries = -1\n");
        check();
        check();
        write("[config]\nmax_retries = -2\n");
        check();

        assertThat(errors).extracting(ConfigException::value).containsExactly("-1", "-2");
        assertThat(changes).isEmpty();
    }

    @Test
    void syntaxErrorIsReportedWithItsLine() throws IOException {
        startWatcher();
        write("[config]\nrequest_timeout = \n");

        check();

        assertThat(errors).singleElement().satisfies(e -> assertThat(e.line()).isEqualTo(2));
    }

    @Test
    void deletedFileIsReportedOnceAndWatchingGoesOn() throws IOException {
        startWatcher();
        Files.delete(file);

        clock.advance(INTERVAL.multipliedBy(3));

        assertThat(errors).singleElement().satisfies(e -> {
            assertThat(e.file()).isEqualTo(file.toString());
            assertThat(e.getMessage()).contains("file not found");
        });

        write(servers("http://b:8000"));
        clock.advance(INTERVAL.plus(ConfigWatcher.SETTLE));

        assertThat(changes).singleElement().satisfies(c -> assertThat(urls(c)).containsExactly("http://b:8000"));
        assertThat(errors).hasSize(1);
    }

    @Test
    void fileRestoredWithTheSameConfigCallsNothing() throws IOException {
        startWatcher();
        Files.delete(file);
        check();

        write(servers("http://a:8000"));
        check();

        assertThat(errors).hasSize(1);
        assertThat(changes).isEmpty();
    }

    @Test
    void commentOnlyEditCallsNothing() throws IOException {
        startWatcher();
        write("# edited by ops\n" + servers("http://a:8000"));

        check();

        assertThat(changes).isEmpty();
        assertThat(errors).isEmpty();
    }

    @Test
    void revertingToTheRunningConfigAfterABadEditCallsNothing() throws IOException {
        startWatcher();
        write("[config]\nmax_retries = -1\n");
        check();

        write(servers("http://a:8000"));
        check();

        assertThat(errors).hasSize(1);
        assertThat(changes).isEmpty();
    }

    @Test
    void environmentOverridesApplyToReloadedFiles() throws IOException {
        watcher = new ConfigWatcher(file, Map.of("REQUEST_TIMEOUT", "7"), clock, INTERVAL, changes::add, errors::add);
        watcher.start();
        write(servers("http://a:8000") + "[config]\nrequest_timeout = 60\nmax_retries = 1\n");

        check();

        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(7));
            assertThat(c.maxRetries()).isEqualTo(1);
        });
    }

    @Test
    void withCurrentConfigAnEditBeforeStartIsReported() throws IOException {
        RouterConfig current = ConfigLoader.load(file, Map.of());
        write(servers("http://a:8000", "http://b:8000"));
        startWatcherWith(current);

        clock.advance(INTERVAL.plus(ConfigWatcher.SETTLE));

        assertThat(changes).singleElement().satisfies(c -> assertThat(urls(c)).hasSize(2));
    }

    @Test
    void withCurrentConfigTheUnchangedFileCallsNothing() {
        startWatcherWith(ConfigLoader.load(file, Map.of()));

        clock.advance(INTERVAL); // the first periodic check: the file is the baseline, not a new content
        assertThat(clock.pendingTasks()).as("the periodic check alone, no settle look for an unchanged file")
                .isEqualTo(1);
        clock.advance(INTERVAL);

        assertThat(changes).isEmpty();
        assertThat(errors).isEmpty();
    }

    @Test
    void setIntervalReschedules() throws IOException {
        startWatcher();
        clock.advance(Duration.ofSeconds(20));
        watcher.setInterval(Duration.ofSeconds(5));
        write(servers("http://b:8000"));

        clock.advance(Duration.ofSeconds(4));
        assertThat(changes).isEmpty();
        clock.advance(Duration.ofSeconds(1).plus(ConfigWatcher.SETTLE));

        assertThat(changes).hasSize(1);
        assertThat(watcher.interval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(clock.pendingTasks()).isEqualTo(1);
    }

    @Test
    void callbackMayChangeTheInterval() throws IOException {
        watcher = new ConfigWatcher(file, Map.of(), clock, INTERVAL,
                c -> watcher.setInterval(c.configReloadInterval()), errors::add);
        watcher.start();
        write(servers("http://a:8000") + "[config]\nconfig_reload_interval = 2\n");

        clock.advance(INTERVAL.plus(ConfigWatcher.SETTLE));

        assertThat(watcher.interval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(clock.pendingTasks()).isEqualTo(1);
    }

    @Test
    void throwingCallbackDoesNotStopTheWatcher() throws IOException {
        List<RouterConfig> seen = new ArrayList<>();
        watcher = new ConfigWatcher(file, Map.of(), clock, INTERVAL, c -> {
            seen.add(c);
            throw new IllegalStateException("engine refused it");
        }, errors::add);
        watcher.start();

        write(servers("http://b:8000"));
        clock.advance(INTERVAL.plus(ConfigWatcher.SETTLE));
        write(servers("http://c:8000"));
        clock.advance(INTERVAL.plus(ConfigWatcher.SETTLE));

        assertThat(seen).hasSize(2);
    }

    @Test
    void closeStopsChecks() throws IOException {
        startWatcher();
        watcher.close();
        write(servers("http://b:8000"));

        clock.advance(INTERVAL.multipliedBy(2));
        check();

        assertThat(changes).isEmpty();
        assertThat(clock.pendingTasks()).isZero();
    }

    @Test
    void intervalMustBePositive() {
        assertThatThrownBy(() -> new ConfigWatcher(file, Map.of(), clock, Duration.ZERO, changes::add, errors::add))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("interval: PT0S (expected: > 0)");
    }

    /** A watcher started on a configuration whose test keys come from a keys file holding {@code content}. */
    private Path startWatcherWithKeysFile(String content) throws IOException {
        Path keys = file.resolveSibling("keys.txt");
        Files.writeString(keys, content);
        write(servers("http://a:8000") + "[test_keys]\nkeys_file = \"" + keys.toString().replace("\\", "/") + "\"\n");
        startWatcher();
        return keys;
    }

    @Test
    void editingTheKeysFileAloneReloads() throws IOException {
        Path keys = startWatcherWithKeysFile("sk-old\n");

        Files.writeString(keys, "sk-new\n");
        check();

        assertThat(changes).hasSize(1);
        assertThat(keys(changes.get(0))).containsExactly("sk-new");
        check();
        assertThat(changes).hasSize(1);
    }

    @Test
    void aKeysFileCutMidLineIsNotAppliedUntilItEndsWithANewline() throws IOException {
        Path keys = startWatcherWithKeysFile("sk-old-1\n");

        Files.writeString(keys, "sk-live-1\nsk-li"); // a rewrite stalled in its second key for longer than SETTLE
        check();
        assertThat(changes).as("a key's first characters never become a key").isEmpty();
        assertThat(errors).singleElement().satisfies(e -> assertThat(e.getMessage())
                .contains("keys.txt").contains("ends in the middle of a line"));

        Files.writeString(keys, "sk-live-1\nsk-live-2\n"); // the writer finishes
        check();
        assertThat(changes).singleElement().satisfies(c -> assertThat(keys(c)).containsExactly("sk-live-1", "sk-live-2"));
    }

    /**
     * Starts a watcher (on the running configuration when {@code running}) over a file with a keys
     * file holding sk-1, while {@code edit} lands in the keys file right after the baseline's first read.
     */
    private Path startWatcherWithAnEditBetweenReads(boolean running, String edit) throws IOException {
        Path keys = file.resolveSibling("keys.txt");
        Files.writeString(keys, "sk-1\n");
        write(servers("http://a:8000") + "[test_keys]\nkeys_file = \"" + keys.toString().replace("\\", "/") + "\"\n");
        watcher = running
                ? new ConfigWatcher(file, Map.of(), clock, INTERVAL, ConfigLoader.load(file, Map.of()), changes::add, errors::add)
                : new ConfigWatcher(file, Map.of(), clock, INTERVAL, changes::add, errors::add);
        boolean[] written = {false};
        TestKeysExtension.afterReading = () -> {
            if (!written[0]) {
                written[0] = true;
                try {
                    Files.writeString(keys, edit);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        try {
            watcher.start();
        } finally {
            TestKeysExtension.afterReading = null;
        }
        assertThat(written[0]).as("the edit landed during the start").isTrue();
        return keys;
    }

    @Test
    void aKeysFileWrittenWhileTheWatcherStartsIsAppliedByTheFirstCheck() throws IOException {
        startWatcherWithAnEditBetweenReads(true, "sk-2\n");

        check();

        assertThat(errors).isEmpty();
        assertThat(changes).as("the edit is not taken for the running keys").singleElement()
                .satisfies(c -> assertThat(keys(c)).containsExactly("sk-2"));
    }

    @Test
    void withoutARunningConfigABadKeysFileWrittenWhileTheWatcherStartsIsReportedByTheFirstCheck() throws IOException {
        Path keys = startWatcherWithAnEditBetweenReads(false, "!not-a-key\n");

        check();
        assertThat(errors).singleElement().satisfies(e -> assertThat(e.getMessage()).contains("none starting with !"));
        Files.writeString(keys, "sk-3\n");                  // the keys file is still watched
        check();
        assertThat(changes).singleElement().satisfies(c -> assertThat(keys(c)).containsExactly("sk-3"));
    }

    @Test
    void aKeysFileIsParsedFromTheCopyJudgedNotReadAgain() throws IOException {
        Path keys = startWatcherWithKeysFile("sk-1\n");

        Files.writeString(keys, "sk-2\n");
        watcher.checkNow(); // seen: judged SETTLE later
        // A writer rewrites the file in place while the reload reads it, and ends with the same bytes.
        TestKeysExtension.whileReading = () -> {
            try {
                Files.writeString(keys, "sk-");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        try {
            clock.advance(ConfigWatcher.SETTLE);
        } finally {
            TestKeysExtension.whileReading = null;
        }
        Files.writeString(keys, "sk-2\n");
        check();

        assertThat(errors).isEmpty();
        assertThat(changes).singleElement().satisfies(c -> assertThat(keys(c)).containsExactly("sk-2"));
    }

    /** A watcher comparing against {@code text}, written to the file and loaded as the running configuration. */
    private void startWatcherRunning(String text) throws IOException {
        write(text);
        watcher = new ConfigWatcher(file, Map.of(), clock, INTERVAL, ConfigLoader.load(file, Map.of()),
                changes::add, errors::add);
        watcher.start();
    }

    // ---- only whole files -----------------------------------------------------------------------

    @Test
    void aFileCaughtHalfWrittenIsNeverApplied() throws IOException {
        String whole = servers("http://a:8000", "http://b:8000", "http://c:8000") + "[test_keys]\nkeys = [\"sk-1\"]\n";
        startWatcherRunning(whole);

        // An in-place rewrite, caught after its first server and before [test_keys]: it parses.
        write(servers("http://a:8000"));
        watcher.checkNow();
        write(whole.replace("http://c:8000", "http://d:8000")); // the writer finishes
        clock.advance(ConfigWatcher.SETTLE);
        clock.advance(ConfigWatcher.SETTLE);

        assertThat(errors).isEmpty();
        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(urls(c)).containsExactly("http://a:8000", "http://b:8000", "http://d:8000");
            assertThat(keys(c)).isNotEmpty();
        });
    }

    @Test
    void aHalfWrittenFileSeenTwiceAMomentApartIsNotApplied() throws IOException {
        String whole = servers("http://a:8000", "http://b:8000") + "[test_keys]\nkeys = [\"sk-1\"]\n";
        startWatcherRunning(whole);

        // Two change events of one in-place write (truncate, then the first part) read the same half file.
        write(servers("http://a:8000"));
        watcher.checkNow();
        clock.advance(ConfigWatcher.SETTLE.dividedBy(10));
        watcher.checkNow();
        assertThat(changes).as("two looks a moment apart prove nothing").isEmpty();
        write(whole.replace("http://b:8000", "http://c:8000")); // the writer finishes 300 ms later
        clock.advance(ConfigWatcher.SETTLE.dividedBy(5));
        watcher.checkNow();
        clock.advance(ConfigWatcher.SETTLE);

        assertThat(errors).isEmpty();
        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(urls(c)).containsExactly("http://a:8000", "http://c:8000");
            assertThat(keys(c)).containsExactly("sk-1");
        });
    }

    @Test
    void anEmptyFileIsRefused() throws IOException {
        startWatcher();
        write("");
        check();

        assertThat(changes).isEmpty();
        assertThat(errors).singleElement().satisfies(e -> assertThat(e.getMessage()).contains("the file is empty")
                .contains("the running configuration stays"));
    }

    @Test
    void aFileEndingMidLineThatWouldRemoveServersOrKeysIsRefused() throws IOException {
        write(servers("http://a:8000", "http://b:8000") + "[test_keys]\nkeys = [\"sk-1\"]\n");
        startWatcher();

        write(servers("http://a:8000").stripTrailing()); // stopped after the first server, mid-line
        check();
        write(servers("http://a:8000", "http://b:8000") + "[test_keys]\nkeys = [\"sk-1\"]"); // keys cut off mid-line
        write(servers("http://a:8000", "http://b:8000") + "[test_keys]");
        check();

        assertThat(changes).isEmpty();
        assertThat(errors).hasSize(2).allSatisfy(e -> assertThat(e.getMessage()).contains("looks cut short"));
        assertThat(errors.get(0).getMessage()).contains("remove servers (2 -> 1)");
        assertThat(errors.get(1).getMessage()).contains("turn test keys off");
    }

    @Test
    void aCompleteFileThatRemovesAServerOrTheKeysIsApplied() throws IOException {
        write(servers("http://a:8000", "http://b:8000") + "[test_keys]\nkeys = [\"sk-1\"]\n");
        startWatcher();

        write(servers("http://a:8000"));
        check();
        clock.advance(ConfigWatcher.REMOVAL_SETTLE.minusMillis(1));
        assertThat(changes).as("a removal waits REMOVAL_SETTLE more").isEmpty();
        clock.advance(Duration.ofMillis(1));

        assertThat(errors).isEmpty();
        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(urls(c)).containsExactly("http://a:8000");
            assertThat(keys(c)).isEmpty();
        });
    }

    @Test
    void aWriteStalledBetweenTwoServersLongerThanTheSettleDoesNotRemoveOne() throws IOException {
        String whole = "[test_keys]\nkeys = [\"sk-1\"]\n" + servers("http://a:8000", "http://b:8000");
        startWatcherRunning(whole);

        // An in-place rewrite stalled for 3 s at a line end after its first server: a whole, valid file.
        String cut = "[test_keys]\nkeys = [\"sk-1\"]\n" + servers("http://a:8000");
        write(cut);
        check();
        clock.advance(Duration.ofSeconds(3).minus(ConfigWatcher.SETTLE));
        watcher.checkNow();
        assertThat(changes).isEmpty();
        write(whole.replace("http://b:8000", "http://c:8000")); // the writer finishes
        check();
        clock.advance(ConfigWatcher.REMOVAL_SETTLE);

        assertThat(errors).isEmpty();
        assertThat(changes).as("only the finished file, which replaces b with c, is applied").singleElement()
                .satisfies(c -> assertThat(urls(c)).containsExactly("http://a:8000", "http://c:8000"));
    }

    /** Writes {@code text} under another name, then renames it over the file (a new inode). */
    private void renameOver(String text) throws IOException {
        Path next = file.resolveSibling("servers.toml.new");
        Files.writeString(next, text);
        Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private void assumeFileIdentities() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class).fileKey() != null,
                "the file system gives files an identity (inode)");
    }

    @Test
    void aFileWithFewerServersRenamedOverTheOldOneIsNotHeld() throws IOException {
        startWatcherRunning(servers("http://a:8000", "http://b:8000"));
        assumeFileIdentities();

        renameOver(servers("http://a:8000"));
        check();

        assertThat(errors).isEmpty();
        assertThat(changes).as("applied at the first settle").singleElement()
                .satisfies(c -> assertThat(urls(c)).containsExactly("http://a:8000"));
    }

    @Test
    void aRemovalWrittenInPlaceWaitsAlthoughTheSameContentWasOnceRenamedOverTheFile() throws IOException {
        String whole = servers("http://a:8000", "http://b:8000");
        startWatcherRunning(whole);
        assumeFileIdentities();

        check(); // the running file, looked at once
        renameOver(whole); // a deployment that changed nothing: a new inode, the same content
        check();
        write(servers("http://a:8000")); // then an in-place rewrite, stalled between the two servers
        check();
        assertThat(changes).as("written in place: waits").isEmpty();
        clock.advance(ConfigWatcher.REMOVAL_SETTLE);

        assertThat(changes).singleElement().satisfies(c -> assertThat(urls(c)).containsExactly("http://a:8000"));
    }

    @Test
    void aRemovalThatTheFileUndoesIsNeverApplied() throws IOException {
        String whole = servers("http://a:8000", "http://b:8000");
        startWatcherRunning(whole);

        write(servers("http://a:8000"));
        check();
        write(whole); // back as it was, before the removal's wait ended
        clock.advance(ConfigWatcher.REMOVAL_SETTLE);
        watcher.checkNow();
        clock.advance(ConfigWatcher.REMOVAL_SETTLE);

        assertThat(changes).isEmpty();
        assertThat(errors).isEmpty();
    }

    @Test
    void aReloadNeverRemovesEveryServerHoweverWholeTheFileLooks() throws IOException {
        String whole = "[test_keys]\nkeys = [\"sk-1\"]\n" + servers("http://a:8000", "http://b:8000");
        startWatcherRunning(whole);

        // An in-place rewrite stalled after its first table, at a line end, for longer than SETTLE.
        write("[test_keys]\nkeys = [\"sk-1\"]\n");
        check();
        assertThat(changes).isEmpty();
        assertThat(errors).singleElement().satisfies(e -> assertThat(e.getMessage())
                .contains("remove every server").contains("the running configuration stays"));

        write(whole.replace("http://b:8000", "http://c:8000")); // the writer finishes
        check();
        assertThat(changes).singleElement().satisfies(c ->
                assertThat(urls(c)).containsExactly("http://a:8000", "http://c:8000"));
    }
}
