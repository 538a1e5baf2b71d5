package io.vllmrouter.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.examples.sim.DemoFleet;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code vllm-router demo}: a simulated fleet behind the real proxy, answering the curl it prints. */
class DemoCommandTest {

    private static final Duration SAFETY = Duration.ofSeconds(60);

    /**
     * Runs each blocking task on a new daemon thread. Never the common pool: the JDK's HttpClient
     * completes every {@code sendAsync} future through {@code CompletableFuture}'s default executor,
     * which on Java 25 is the common pool even when its parallelism is 1 (2 CPUs), so a test task
     * blocked there stalls the router's forwarded requests and health checks (Java 17 used a thread
     * per task at parallelism 1, which hid this).
     */
    private static final Executor OWN_THREAD = task -> {
        Thread t = new Thread(task, "test-blocking-task");
        t.setDaemon(true);
        t.start();
    };

    @TempDir
    Path dir;

    @Test
    void theDemoServesThePrintedCurlsModelAndStopsWithExitZero() throws Exception {
        // --console logs on the build's stdout: errors only (the grace period running out at the
        // end, with the load still running, is expected), so a green build stays quiet.
        DemoCommand demo = new DemoCommand(Map.of("LOG_LEVEL", "ERROR"));
        demo.handleSignals(false);
        CompletableFuture<RunCommand.Running> started = new CompletableFuture<>();
        demo.onStarted(started::complete);
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(demo);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> cl.execute(
                "--port", "0", "--console", "--load", "--rate", "5", "--log-dir", dir.resolve("logs").toString()), OWN_THREAD);
        RunCommand.Running running = started.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        int port = running.server().port();
        assertThat(out.toString()).contains("curl -N http://127.0.0.1:" + port + "/v1/chat/completions");
        assertThat(running.router().config().servers()).hasSize(3);

        // The printed request, streamed.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .timeout(SAFETY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + DemoFleet.MODEL
                        + "\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("chat.completion.chunk").endsWith("data: [DONE]\n\n");

        // The second model is served by one server only.
        HttpResponse<String> models = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
                .timeout(SAFETY).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(models.body()).contains(DemoFleet.MODEL).contains(DemoFleet.SECOND_MODEL);

        demo.requestStop();
        assertThat(exit.get(SAFETY.toSeconds(), TimeUnit.SECONDS)).isZero();
        assertThat(out.toString()).contains("vllm-router stopped");
    }

    @Test
    void theWrittenConfigurationIsAValidConfigFileAndTheCurlFits80Columns() throws Exception {
        List<DemoFleet.Server> servers = List.of(
                new DemoFleet.Server("a", URI.create("http://127.0.0.1:1234"), 3, List.of("m1")),
                new DemoFleet.Server("b", URI.create("http://127.0.0.1:1235"), 5, List.of("m1", "m2")));
        RouterConfig c = ConfigLoader.parse(DemoCommand.toml(servers, "least-loaded"), "demo.toml", Map.of());
        assertThat(c.servers()).hasSize(2);
        assertThat(c.servers().get(1).models()).containsExactly("m1", "m2");
        assertThat(c.servers().get(1).maxConcurrentRequests()).isEqualTo(5);
        assertThat(c.strategy()).isEqualTo("least-loaded");
        assertThat(DemoCommand.curl("127.0.0.1", 8888).lines()).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(80));
    }

    @Test
    void aBadRateIsOneClearLine() {
        StringWriter err = new StringWriter();
        int code = Main.execute(new String[] {"demo", "--rate", "-1"}, Map.of(), new PrintWriter(new StringWriter()),
                new PrintWriter(err, true));
        assertThat(code).isEqualTo(2);
        assertThat(err.toString().strip()).contains("--rate: -1.0").doesNotContain("\n");
    }
}
