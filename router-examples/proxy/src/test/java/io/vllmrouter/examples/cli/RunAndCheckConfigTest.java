package io.vllmrouter.examples.cli;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.vllmrouter.testing.RouterEvents;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code check-config} and {@code run} against WireMock backends, in-process. */
class RunAndCheckConfigTest {

    private static final Duration SAFETY = Duration.ofSeconds(20);

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

    private WireMockServer backend;

    @TempDir
    Path dir;

    @BeforeEach
    void startBackend() {
        backend = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        backend.start();
        backend.stubFor(get(urlEqualTo("/health")).willReturn(aResponse().withStatus(200)));
        backend.stubFor(get(urlEqualTo("/metrics")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "text/plain").withBody("vllm:num_requests_running 0\nvllm:num_requests_waiting 0\n")));
        backend.stubFor(get(urlEqualTo("/v1/models")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json")
                .withBody("{\"object\":\"list\",\"data\":[{\"id\":\"llama\",\"object\":\"model\",\"max_model_len\":8192}]}")));
        backend.stubFor(post(urlEqualTo("/v1/chat/completions")).willReturn(aResponse().withStatus(200)
                .withHeader("Content-Type", "application/json").withBody("{\"choices\":[]}")));
    }

    @AfterEach
    void stopBackend() {
        backend.stop();
    }

    private String url() {
        return "http://127.0.0.1:" + backend.port();
    }

    private Path config(String... urls) throws Exception {
        StringBuilder b = new StringBuilder("[servers]\nservers = [\n");
        for (String u : urls) {
            b.append("  { url = \"").append(u).append("\", max_concurrent_requests = 4 },\n");
        }
        b.append("]\n\n[config]\nhealth_check_interval = 1\nconfig_reload_interval = 60\n");
        return Files.writeString(dir.resolve("servers.toml"), b.toString());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void checkConfigReportsReachableServersAndModels() throws Exception {
        CliTest.Result r = CliTest.run("check-config", config(url()).toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("valid (1 server(s)").contains(url()).contains("healthy")
                .contains("llama (max_model_len 8192)").contains("1 of 1 server(s) healthy");
    }

    @Test
    void checkConfigExits2WhenAServerIsUnreachable() throws Exception {
        String dead = "http://127.0.0.1:" + freePort();
        CliTest.Result r = CliTest.run("check-config", "--timeout", "2", config(url(), dead).toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).contains(dead).contains("UNREACHABLE").contains("1 of 2 server(s) healthy");
    }

    @Test
    void brokenConfigNamesTheKey() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.toml"),
                "[servers]\nservers = [ { url = \"" + url() + "\", max_concurrent_requests = 4 } ]\n[config]\nmax_retries = -1\n");
        for (String[] args : new String[][] {{"check-config", bad.toString()}, {"run", "--config", bad.toString()}}) {
            CliTest.Result r = CliTest.run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(1);
            assertThat(r.err().strip().lines()).hasSize(1);
            assertThat(r.err()).contains("max_retries").contains("-1").doesNotContain("\tat ");
        }
        Path syntax = Files.writeString(dir.resolve("syntax.toml"), "[servers\nservers = \n");
        CliTest.Result r = CliTest.run("check-config", syntax.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("syntax.toml");
    }

    @Test
    void checkConfigRefusesAnOpenAiBaseUrlAndListsEveryMistake() throws Exception {
        Path bad = Files.writeString(dir.resolve("v1.toml"), "[servers]\nservers = [\n  { url = \"" + url()
                + "/v1\", max_concurrent_requests = 4 },\n  { url = \"" + url() + "\", max_concurrent_requests = 0 },\n]\n");
        CliTest.Result r = CliTest.run("check-config", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("v1.toml:3: servers[0].url").contains("drop /v1").contains(url() + ";")
                .contains("v1.toml:4: servers[1].max_concurrent_requests = 0").doesNotContain("\tat ");
    }

    @Test
    void runOnAPortInUseSaysToChooseAnother() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            CliTest.Result r = CliTest.run("run", "--console", "--config", config(url()).toString(), "--host", "127.0.0.1",
                    "--port", String.valueOf(taken.getLocalPort()), "--log-dir", dir.resolve("logs").toString());
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .contains("in use").contains("--port").doesNotContain("Exception");
        }
    }

    @Test
    void checkConfigRefusesAnUnknownStrategyListingTheKnownOnes() throws Exception {
        Path bad = Files.writeString(dir.resolve("strategy.toml"),
                "[servers]\nservers = [ { url = \"" + url() + "\", max_concurrent_requests = 4 } ]\n[config]\nstrategy = \"fastest\"\n");
        CliTest.Result r = CliTest.run("check-config", "--no-probe", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("strategy.toml:4").contains("config.strategy").contains("fastest")
                .contains("weighted-score").contains("least-loaded").contains("round-robin").doesNotContain("\tat ");
    }

    @Test
    void runServesReloadsAndStopsWithExitZero() throws Exception {
        Path file = config(url());
        Path logs = dir.resolve("logs");
        RunCommand run = new RunCommand(Map.of());
        run.handleSignals(false);
        CompletableFuture<RunCommand.Running> started = new CompletableFuture<>();
        run.onStarted(started::complete);
        RouterEvents events = new RouterEvents();
        run.listener(events);
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(run);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(new StringWriter(), true));
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> cl.execute(
                "--config", file.toString(), "--host", "127.0.0.1", "--port", "0", "--console", "--reload",
                "--log-dir", logs.toString(), "--log-level", "WARNING", "--grace", "2"), OWN_THREAD);
        RunCommand.Running running;
        try {
            running = started.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("not started; exit=" + exit.getNow(null) + " out=" + out);
        }
        int port = running.server().port();
        assertThat(out.toString()).contains("listening on http://127.0.0.1:" + port);

        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .timeout(SAFETY).POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama\",\"messages\":[]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);

        // --reload: a second server in the file joins without waiting for config_reload_interval.
        WireMockServer second = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        second.start();
        try {
            second.stubFor(get(urlEqualTo("/health")).willReturn(aResponse().withStatus(200)));
            String secondUrl = "http://127.0.0.1:" + second.port();
            config(url(), secondUrl);
            events.awaitUntil("reload", () -> running.router().config().servers().size() == 2, SAFETY);
            assertThat(running.router().config().servers().get(1).id()).isEqualTo(secondUrl);
        } finally {
            second.stop();
        }

        run.requestStop();
        assertThat(exit.get(SAFETY.toSeconds(), TimeUnit.SECONDS)).isZero();
        assertThat(out.toString()).contains("vllm-router stopped");

        String structured = Files.readString(logs.resolve("vllm-router-structured.log"));
        assertThat(structured).endsWith("}\n");
        assertThat(structured.lines()).allSatisfy(line -> assertThat(line).startsWith("{\"ts\":").endsWith("}"));
        assertThat(structured.lines()).anySatisfy(line -> assertThat(line)
                .contains("\"model\":\"llama\"").contains("\"status\":200").contains("\"backend\":\"" + url() + "\""));
        assertThat(logs.resolve("vllm-router.log")).exists();
        assertThat(logs.resolve("vllm-router-error.log")).exists();
    }
}
