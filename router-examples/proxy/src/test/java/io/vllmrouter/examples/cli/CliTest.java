package io.vllmrouter.examples.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line run in-process with captured output. */
class CliTest {

    record Result(int code, String out, String err) {
    }

    static Result run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(args, env, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static Result run(String... args) {
        return run(Map.of(), args);
    }

    @Test
    void helpListsTheCommands() {
        Result r = run("--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Usage: vllm-router").contains("run").contains("check-config")
                .contains("--version").contains("CONFIG_PATH");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void runHelpListsEveryFlag() {
        Result r = run("run", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--config").contains("--host").contains("--port").contains("--console")
                .contains("--reload").contains("--log-level").contains("--grace").contains("0.0.0.0").contains("8888")
                .contains("--io-threads").contains("--max-concurrent-streams").contains("--no-request-log");
    }

    @Test
    void aNegativeIoThreadCountIsRefusedWithWhatIsExpected() {
        Result r = run("run", "--io-threads", "-1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--io-threads: -1 (expected: 0 for one per core, or 1 to 1024)")
                .doesNotContain("Exception");
    }

    @Test
    void checkConfigHelpDocumentsExitCodes() {
        Result r = run("check-config", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Exit codes").contains("unreachable");
    }

    @Test
    void versionComesFromTheBuild() {
        Result r = run("--version");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("vllm-router ").doesNotContain("${").doesNotContain("unknown");
        assertThat(r.out().lines().findFirst().orElseThrow()).matches("vllm-router \\d+\\.\\d+\\.\\d+.*");
    }

    @Test
    void badFlagGivesOneLineAndUsageExitCode() {
        Result r = run("run", "--bogus");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("--bogus").contains("vllm-router run --help").doesNotContain("Exception");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void badPortValueIsOneLine() {
        Result r = run("run", "--port", "http");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("--port").contains("http");
    }

    @Test
    void noCommandIsAUsageError() {
        Result r = run();
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("missing command").contains("run").contains("check-config");
    }

    @Test
    void missingConfigFileIsOneLine(@TempDir Path dir) {
        String missing = dir.resolve("nope.toml").toString();
        for (String[] args : new String[][] {{"run", "--config", missing}, {"check-config", missing}}) {
            Result r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(1);
            assertThat(r.err().lines().findFirst().orElseThrow()).contains("config file not found").contains("nope.toml");
            assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception");
        }
    }

    @Test
    void missingConfigFileSuggestsCopyingTheExample(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("servers.example.toml"), "[servers]\nservers = []\n");
        Result r = run("run", "--config", dir.resolve("servers.toml").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("cp ").contains("servers.example.toml").contains("servers.toml")
                .contains("--config FILE");
    }

    @Test
    void unknownCommandSuggestsTheNearest() {
        Result r = run("serve");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown command 'serve'").contains("did you mean").contains("run")
                .doesNotContain("Unmatched argument").doesNotContain("index 0");
        assertThat(r.err().strip().lines()).hasSize(1);
    }

    @Test
    void unknownStrategyNamesNoExceptionClass(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("servers.toml"),
                "[servers]\nservers = [{ url = \"http://127.0.0.1:9\" }]\n[config]\nstrategy = \"fastest\"\n");
        Result r = run("run", "--config", file.toString(), "--port", "0", "--host", "127.0.0.1", "--console",
                "--log-dir", dir.resolve("logs").toString(), "--log-level", "WARNING");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("fastest").contains("weighted-score").doesNotContain("Exception");
    }

    /** Every command's help at 80 columns: no line wider, no picocli {@code <camelCase>} placeholders. */
    @Test
    void everyHelpReadsCleanlyAtEightyColumns() {
        CommandLine root = Main.commandLine(Map.of());
        List<CommandLine> all = new ArrayList<>();
        all.add(root);
        all.addAll(root.getSubcommands().values());
        for (CommandLine c : all) {
            c.getCommandSpec().usageMessage().autoWidth(false).width(80);
            String usage = c.getUsageMessage(CommandLine.Help.Ansi.OFF);
            String name = c.getCommandSpec().qualifiedName();
            assertThat(usage.lines()).as(name + " --help:%n%s", usage)
                    .allSatisfy(line -> assertThat(line.length()).as(line).isLessThanOrEqualTo(80));
            assertThat(usage).as(name + " --help").doesNotContainPattern("<[a-z]+[A-Z][A-Za-z]*>");
            // A path is never split across lines ("docs/proxy." / "md", "." / "/logs").
            String joined = usage.replaceAll("\n\\s+", " ");
            assertThat(joined).as(name + " --help").doesNotContainPattern("/[A-Za-z0-9_-]+\\. (md|toml|jar|xml|txt)\\b")
                    .doesNotContainPattern("\\. /");
        }
    }

    @Test
    void configPathComesFromTheEnvironment(@TempDir Path dir) {
        Map<String, String> env = new HashMap<>();
        env.put("CONFIG_PATH", dir.resolve("from-env.toml").toString());
        Result r = run(env, "run");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("from-env.toml");
    }

    @Test
    void badEnvironmentValuesAreNamed(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("servers.toml"), "[servers]\nservers = []\n");
        Result r = run(Map.of("PORT", "eighty"), "run", "--config", file.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("PORT").contains("eighty");
        r = run(Map.of("LOG_LEVEL", "loud"), "run", "--config", file.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("loud");
    }
}
