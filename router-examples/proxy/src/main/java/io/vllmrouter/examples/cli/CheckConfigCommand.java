package io.vllmrouter.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.BackendClient;
import io.vllmrouter.core.metrics.BackendProbe;
import io.vllmrouter.core.strategy.StrategyRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code vllm-router check-config FILE}: validates the file (with the router's own loader, so an
 * unknown strategy is refused with the known names), then asks every server for {@code GET /health}
 * and {@code GET /v1/models} through the router's own {@link BackendProbe} (in parallel, each
 * bounded by {@code --timeout}, with the server's api_key).
 */
@Command(name = "check-config", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = {"Validates a configuration file, then asks each server for /health and /v1/models.",
                "Prints each server's answer and the models it serves."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the file is valid and every server answered /health with 200",
            "1:the file is missing or invalid",
            "2:the file is valid but some server is unreachable or unhealthy",
            "  :(also: bad command-line arguments)"})
public final class CheckConfigCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "FILE",
            description = "Configuration file (TOML). Default: CONFIG_PATH, else servers.toml")
    String file;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "5",
            description = "Bound on each server's answers. Default: ${DEFAULT-VALUE}")
    double timeoutSeconds;

    @Option(names = "--no-probe", description = "Only validate the file; do not contact the servers")
    boolean noProbe;

    @Option(names = "--plugins", paramLabel = "DIR",
            description = "Directory of strategy jars (see run --help). Default: plugins/ in the working directory, when it exists")
    Path plugins;

    private final Map<String, String> env;

    public CheckConfigCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Path path = ConfigLoader.resolveConfigPath(file, env);
        if (!Files.isRegularFile(path)) {
            throw new Main.CliException(ConfigFiles.notFound(path, "vllm-router check-config FILE, or CONFIG_PATH"), 1);
        }
        if (!(timeoutSeconds > 0)) {
            throw new Main.CliException("--timeout: " + timeoutSeconds + " (expected: seconds > 0)", 2);
        }
        // Plugins first: the strategy the file names may come from one of their jars.
        Plugins.Found pluginJars = Plugins.find(plugins, env);
        StrategyRegistry strategies = StrategyRegistry.load(Plugins.install(pluginJars));
        RouterConfig config;
        try {
            config = ConfigLoader.load(path, env, strategies);
        } catch (ConfigException e) {
            String where = !e.getMessage().contains("config.strategy =") ? ""
                    : pluginJars.jars().isEmpty() ? "; no plugin jars in " + pluginJars.dir()
                    : "; plugins: " + pluginJars.describe();
            throw new Main.CliException(path + ": invalid: " + e.getMessage() + where, 1);
        }
        out.println(path + ": valid (" + config.servers().size() + " server(s), strategy " + config.strategy() + ")");
        if (noProbe || config.servers().isEmpty()) {
            out.flush();
            return 0;
        }
        Duration timeout = Duration.ofMillis(Math.round(timeoutSeconds * 1000));
        HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
        BackendProbe backends = new BackendClient(client);
        List<CompletableFuture<Probe>> probes = new ArrayList<>();
        for (ServerConfig s : config.servers()) {
            probes.add(probe(backends, s, timeout));
        }
        int width = config.servers().stream().mapToInt(s -> s.id().length()).max().orElse(10);
        int reachable = 0;
        for (CompletableFuture<Probe> f : probes) {
            Probe p = f.join();
            if (p.healthy()) {
                reachable++;
            }
            out.println("  " + pad(p.server().id(), width) + "  " + p.describe());
        }
        out.println(reachable + " of " + config.servers().size() + " server(s) healthy");
        out.flush();
        return reachable == config.servers().size() ? 0 : 2;
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - s.length()));
    }

    private record Probe(ServerConfig server, int healthStatus, long healthMillis, String healthError,
                         List<String> models, String modelsError) {

        boolean healthy() {
            return healthStatus == 200;
        }

        String describe() {
            StringBuilder b = new StringBuilder();
            if (healthError != null) {
                b.append("UNREACHABLE  ").append(healthError);
                return b.toString();
            }
            b.append(healthy() ? "healthy" : "UNHEALTHY").append(" (/health ").append(healthStatus)
                    .append(" in ").append(healthMillis).append(" ms)");
            if (modelsError != null) {
                b.append("  models: ? (").append(modelsError).append(')');
            } else {
                b.append("  models: ").append(models.isEmpty() ? "(none listed)" : String.join(", ", models));
            }
            return b.toString();
        }
    }

    /** Asks one server through the router's own probe, so /health and /v1/models carry its api_key. */
    private static CompletableFuture<Probe> probe(BackendProbe probe, ServerConfig s, Duration timeout) {
        long start = System.nanoTime();
        CompletableFuture<Object[]> health = probe.checkHealth(s.url(), s.apiKey(), timeout)
                .handle((status, e) -> new Object[] {status, e, (System.nanoTime() - start) / 1_000_000});
        CompletableFuture<Object[]> list = probe.fetchModels(s.url(), s.apiKey(), timeout)
                .handle((models, e) -> new Object[] {models, e});
        return health.thenCombine(list, (h, m) -> {
            String healthError = h[1] == null ? null : describe((Throwable) h[1], timeout);
            List<String> ids = new ArrayList<>();
            String modelsError = null;
            if (m[1] != null) {
                modelsError = describe((Throwable) m[1], timeout);
            } else {
                @SuppressWarnings("unchecked")
                List<ModelInfo> models = (List<ModelInfo>) m[0];
                for (ModelInfo info : models) {
                    ids.add(describe(info));
                }
            }
            return new Probe(s, h[0] == null ? -1 : (Integer) h[0], (Long) h[2], healthError, ids, modelsError);
        });
    }

    /** The id, with {@code max_model_len} when the backend lists it. */
    private static String describe(ModelInfo m) {
        try {
            JsonNode len = JSON.readTree(m.json()).get("max_model_len");
            return len != null && len.canConvertToLong() ? m.id() + " (max_model_len " + len.asLong() + ")" : m.id();
        } catch (java.io.IOException e) {
            return m.id();
        }
    }

    private static String describe(Throwable t, Duration timeout) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (c instanceof java.net.http.HttpTimeoutException) {
            return "no answer within " + timeout.toMillis() + " ms";
        }
        if (c instanceof java.net.ConnectException) {
            return "connection refused" + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")");
        }
        if (c instanceof java.net.UnknownHostException) {
            return "unknown host" + (c.getMessage() == null ? "" : " " + c.getMessage());
        }
        if (c instanceof javax.net.ssl.SSLException) {
            return "TLS failed" + (c.getMessage() == null ? "" : ": " + c.getMessage());
        }
        if (c instanceof java.io.IOException) {
            return "connection failed" + (c.getMessage() == null ? "" : ": " + c.getMessage());
        }
        return "failed" + (c.getMessage() == null ? "" : ": " + c.getMessage());
    }
}
