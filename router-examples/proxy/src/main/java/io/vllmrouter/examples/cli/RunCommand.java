package io.vllmrouter.examples.cli;

import io.vllmrouter.api.BackendSettings;
import io.vllmrouter.api.RouterSettings;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.core.DefaultVllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.discovery.DiscoveryConfig;
import io.vllmrouter.core.discovery.FleetDiscovery;
import io.vllmrouter.core.strategy.StrategyRegistry;
import io.vllmrouter.examples.dashboard.Dashboard;
import io.vllmrouter.examples.dashboard.ServerNames;
import io.vllmrouter.examples.tracing.ProxyTracing;
import io.vllmrouter.examples.dashboard.DashboardInfo;
import io.vllmrouter.examples.logging.LoggingSetup;
import io.vllmrouter.examples.logging.RequestLog;
import io.vllmrouter.examples.server.ProxyMetrics;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.EventLoops;
import io.vllmrouter.examples.server.upstream.NettyTransport;
import io.vllmrouter.examples.server.ProxyServer;
import io.vllmrouter.examples.server.config.FrontDoorSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * {@code vllm-router run}: the proxy. Reads the configuration, starts the router and the HTTP
 * server, watches the file for changes, shows the dashboard (or logs on the console with
 * {@code --console}) and on Ctrl-C or SIGTERM drains in-flight requests and exits 0.
 */
@Command(name = "run", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = {"Starts the proxy in front of the servers in the configuration file.",
                "On a terminal a live table fills the screen and logs go to files only;",
                "with output redirected (nohup, systemd, Docker) log lines go to stdout."},
        footer = {"", "Precedence: flag > environment variable > configuration file > default.",
                "Custom strategies: put their jars in plugins/ (see docs/strategies.md)."})
public final class RunCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Configuration file (TOML). Env: CONFIG_PATH. Default: servers.toml")
    String config;

    @Option(names = "--host", paramLabel = "HOST",
            description = "Address to bind. Env: HOST. Default: 0.0.0.0 (all interfaces)")
    String host;

    @Option(names = "--port", paramLabel = "PORT",
            description = "Port to bind; 0 picks a free port (printed at start). Env: PORT. Default: 8888")
    Integer port;

    @Option(names = "--console",
            description = "Log lines on stdout, no dashboard (the default when stdout is not a terminal). "
                    + "Env: LOG_TO_CONSOLE=true")
    boolean console;

    @Option(names = "--dashboard",
            description = "Show the dashboard even when stdout does not look like a terminal")
    boolean dashboard;

    @Option(names = "--plugins", paramLabel = "DIR",
            description = "Directory of strategy jars added to the class path. Env: VLLM_ROUTER_PLUGINS. "
                    + "Default: plugins/ in the working directory, when it exists")
    Path plugins;

    @Option(names = "--reload",
            description = "Reload the configuration as soon as the file changes "
                    + "(it is also checked every config_reload_interval)")
    boolean reload;

    @Option(names = "--log-level", paramLabel = "LEVEL",
            description = "Level of the router's own logs: DEBUG, INFO, WARNING or ERROR. Env: LOG_LEVEL. "
                    + "Default: INFO (other libraries stay at INFO; env LIBRARY_LOG_LEVEL)")
    String logLevel;

    @Option(names = "--log-dir", paramLabel = "DIR",
            description = "Directory of the log files. Env: LOG_DIR. Default: logs/ in the working directory")
    Path logDir;

    @Option(names = "--no-request-log",
            description = "Write no line per request (structured log, access lines); an answer cut short is still "
                    + "logged at WARN, and fleet events as always. Env: REQUEST_LOG=false. Default: every request is logged")
    boolean noRequestLog;

    @Option(names = "--max-concurrent-streams", paramLabel = "N", defaultValue = "1000",
            description = "Streams an HTTP/2 (h2c) client may have open at once on one connection. "
                    + "Default: ${DEFAULT-VALUE}")
    int maxConcurrentStreams = io.vllmrouter.examples.server.ProxyOptions.DEFAULT_MAX_CONCURRENT_STREAMS;

    @Option(names = "--io-threads", paramLabel = "N", defaultValue = "0",
            description = "Event-loop threads carrying every connection, both sides. "
                    + "Default: 0, one per core")
    int ioThreads;

    @Option(names = "--otlp-endpoint", paramLabel = "URL",
            description = "Send traces (a span per request and per attempt, GenAI attributes) to this OpenTelemetry "
                    + "collector over OTLP/HTTP, e.g. http://127.0.0.1:4318. Env: OTEL_EXPORTER_OTLP_ENDPOINT and the "
                    + "other OTEL_* variables. Default: no tracing")
    String otlpEndpoint;

    @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "10",
            description = "On shutdown, time in-flight requests get to finish. Default: ${DEFAULT-VALUE}")
    double graceSeconds;

    private final Map<String, String> env;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private volatile Consumer<Running> onStarted = r -> { };
    private volatile RouterListener extraListener = new RouterListener() { };
    private volatile boolean handleSignals = true;
    private volatile java.util.function.IntFunction<String> hint = port -> "";
    private volatile java.util.function.BooleanSupplier interactive = Terminals::interactive;

    public RunCommand(Map<String, String> env) {
        this.env = env;
    }

    /** What a started proxy is made of; handed to {@link #onStarted} (tests, embedding). */
    public record Running(ProxyServer server, VllmRouter router, Path configPath) {
    }

    /** Called once the server listens (on the command's thread). */
    void onStarted(Consumer<Running> callback) {
        this.onStarted = callback;
    }

    /** Also hears the router's events, after the proxy's own listeners (tests). */
    void listener(RouterListener extra) {
        this.extraListener = extra;
    }

    /**
     * Lines printed under the "listening on" line and kept above the dashboard's footer (the demo's
     * ready-to-paste curl), given the port the server listens on. {@code \n} separates lines.
     */
    void hint(java.util.function.IntFunction<String> lines) {
        this.hint = java.util.Objects.requireNonNull(lines, "lines");
    }

    /** Whether stdout is a person's terminal (the dashboard's default); tests pass their own. */
    void interactive(java.util.function.BooleanSupplier isTerminal) {
        this.interactive = java.util.Objects.requireNonNull(isTerminal, "isTerminal");
    }

    /** Whether to install SIGINT/SIGTERM handlers; tests running in-process turn this off. */
    void handleSignals(boolean on) {
        this.handleSignals = on;
    }

    /** Makes {@link #call} shut down as on Ctrl-C. */
    void requestStop() {
        stopRequested.countDown();
    }

    /** The configured server names by URL, for the dashboard. */
    @Override
    public Integer call() throws Exception {
        // Usage errors first: they need no config file.
        if (ioThreads < 0 || ioThreads > 1024) {
            throw new Main.CliException("--io-threads: " + ioThreads + " (expected: 0 for one per core, or 1 to 1024)", 2);
        }
        Path configPath = ConfigLoader.resolveConfigPath(config, env);
        if (!Files.isRegularFile(configPath)) {
            throw new Main.CliException(ConfigFiles.notFound(configPath, "--config FILE, or CONFIG_PATH"), 1);
        }
        String bindHost = Settings.string(host, env, "HOST", ProxyOptions.DEFAULT_HOST);
        int bindPort = Settings.port(port, env, ProxyOptions.DEFAULT_PORT);
        if (console && dashboard) {
            throw new Main.CliException("--console and --dashboard: choose one", 2);
        }
        boolean toConsole = !dashboard && (Settings.bool(console, env, "LOG_TO_CONSOLE") || !interactive.getAsBoolean());
        String level = Settings.string(logLevel, env, "LOG_LEVEL", "INFO");
        String libraryLevel = env.get("LIBRARY_LOG_LEVEL");
        try {
            LoggingSetup.level(level);
            if (libraryLevel != null && !libraryLevel.isBlank()) {
                LoggingSetup.level(libraryLevel);
            }
        } catch (IllegalArgumentException e) {
            throw new Main.CliException(e.getMessage(), 2);
        }
        Plugins.Found pluginJars = Plugins.find(plugins, env);
        if (!(graceSeconds >= 0)) {
            throw new Main.CliException("--grace: " + graceSeconds + " (expected: seconds >= 0)", 2);
        }
        Duration grace = Duration.ofMillis(Math.round(graceSeconds * 1000));
        if (maxConcurrentStreams < 1) {
            throw new Main.CliException("--max-concurrent-streams: " + maxConcurrentStreams
                    + " (expected: an integer >= 1)", 2);
        }

        // Before the config is read: the strategy it names may come from a plugin jar.
        StrategyRegistry strategies = StrategyRegistry.load(Plugins.install(pluginJars));
        RouterConfig routerConfig = ConfigLoader.load(configPath, env, strategies);

        Path dir = logDir != null ? logDir : LoggingSetup.logDir(env);
        LoggingSetup.configure(new LoggingSetup.Settings(dir, level, toConsole, libraryLevel));
        if (!pluginJars.jars().isEmpty()) {
            LOG.info("plugins from {}: {}", pluginJars.dir().toAbsolutePath(), pluginJars.describe());
        }
        LOG.info("vllm-router {} starting: config {} ({} servers, strategy {})", VersionProvider.version(),
                configPath.toAbsolutePath(), routerConfig.servers().size(), routerConfig.strategy());

        ProxyMetrics metrics = new ProxyMetrics();
        ProxyTracing tracing;
        try {
            tracing = ProxyTracing.start(otlpEndpoint, env);
        } catch (RuntimeException e) {
            throw new Main.CliException("tracing: " + e.getMessage(), 2);
        }
        // configFile(...) next to config(...): the router keeps the loaded config and watches the file
        // every config_reload_interval, applying valid edits and refusing (logging) invalid ones.
        // With [discovery] the file is watched by FleetDiscovery instead, so that reloads keep the discovered servers.
        DiscoveryConfig discovery = DiscoveryConfig.load(configPath);
        // One event-loop group (a thread per core) serves the clients and the upstream calls.
        EventLoops loops = EventLoops.create(ioThreads);
        NettyTransport transport = NettyTransport.create(loops);
        VllmRouters.Builder routerBuilder = VllmRouters.builder().config(routerConfig).env(env)
                .strategies(strategies).listener(metrics).listener(requestLog()).listener(extraListener)
                .transport(transport).requestScheduler(loops.timers());
        if (tracing != null) {
            routerBuilder.listener(tracing.listener());
        }
        DefaultVllmRouter router = (discovery == null ? routerBuilder.configFile(configPath) : routerBuilder).buildRouter();
        FleetDiscovery fleet = discovery == null ? null : DiscoverySetup.start(router, discovery, configPath, env);
        ProxyServer server;
        try {
            server = ProxyServer.start(router, ProxyOptions.builder().host(bindHost).port(bindPort).grace(grace)
                    .maxConcurrentStreams(maxConcurrentStreams)
                    .metrics(metrics).version(VersionProvider.version()).eventLoops(loops).build());
        } catch (IOException e) {
            router.close();
            transport.close();
            loops.close();
            if (tracing != null) {
                tracing.close();
            }
            throw new Main.CliException(ListenError.describe(bindHost, bindPort, e), 1);
        }

        ConfigFileWatch fileWatch = null;
        if (reload) {
            try {
                fileWatch = ConfigFileWatch.start(configPath, fleet != null ? fleet::reloadFileNow : router::reloadConfig);
            } catch (IOException e) {
                LOG.warn("--reload: cannot watch {} ({}); relying on the periodic check", configPath, e.toString());
            }
        }

        // Announce once the servers have answered their first check (bounded): a server is not
        // eligible before, so a request sent to the printed address would get 503 meanwhile.
        for (String problem : FirstChecks.await(router, routerConfig.healthCheckTimeout().plusSeconds(1))) {
            spec.commandLine().getOut().println("warning: " + problem);
        }
        String listen = bindHost + ":" + server.port();
        PrintStream terminal = System.out;
        spec.commandLine().getOut().println("vllm-router " + VersionProvider.version() + " listening on "
                + (FrontDoorSettings.of(routerConfig).tls() ? "https://" : "http://") + listen + " ("
                + (FrontDoorSettings.of(routerConfig).authEnabled() ? "API keys required, " : "")
                + routerConfig.servers().size() + " servers, strategy " + routerConfig.strategy()
                + ", logs in " + dir.toAbsolutePath() + ")");
        if (!pluginJars.jars().isEmpty()) {
            spec.commandLine().getOut().println("plugins: " + pluginJars.describe() + " (from "
                    + pluginJars.dir().toAbsolutePath() + ")");
        }
        if (tracing != null) {
            spec.commandLine().getOut().println("tracing: " + tracing.describe());
        }
        String hintLines = hint.apply(server.port());
        if (!hintLines.isEmpty()) {
            spec.commandLine().getOut().println(hintLines);
        }
        spec.commandLine().getOut().flush();

        Dashboard dashboard = toConsole ? null : Dashboard.start(router::stats, () -> ServerNames.of(router.config()),
                new DashboardInfo("vllm-router " + VersionProvider.version(), listen, server.startedAt(),
                        (hintLines.isEmpty() ? "" : hintLines + "\n") + "Ctrl-C to stop · logs in " + dir), terminal, env);

        ConfigFileWatch files = fileWatch;
        AtomicBoolean down = new AtomicBoolean();
        Runnable shutdown = () -> {
            if (!down.compareAndSet(false, true)) {
                return;
            }
            if (dashboard != null) {
                dashboard.close();
            }
            LOG.info("shutting down: draining in-flight requests for up to {} ms", grace.toMillis());
            server.stop(grace);
            if (files != null) {
                files.close();
            }
            if (fleet != null) {
                fleet.close();
            }
            router.close();
            transport.close();
            loops.close();
            if (tracing != null) {
                tracing.close();
            }
            LOG.info("vllm-router stopped");
        };
        Thread hook = new Thread(shutdown, "vllm-router-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        if (handleSignals) {
            Signals.onInterruptOrTerminate(this::requestStop);
        }
        try {
            onStarted.accept(new Running(server, router, configPath));
            stopRequested.await();
        } finally {
            shutdown.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already exiting
            }
        }
        spec.commandLine().getOut().println("vllm-router stopped");
        spec.commandLine().getOut().flush();
        LoggingSetup.shutdown();
        return 0;
    }

    /** The per-request log, or only its warnings with {@code --no-request-log} or {@code REQUEST_LOG=false}. */
    private RequestLog requestLog() {
        boolean everyRequest = !noRequestLog && Settings.bool(env, "REQUEST_LOG", true);
        return everyRequest ? new RequestLog() : RequestLog.warningsOnly();
    }

}
