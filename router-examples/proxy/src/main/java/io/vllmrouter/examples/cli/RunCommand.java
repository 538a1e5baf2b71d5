package io.vllmrouter.examples.cli;

import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.examples.dashboard.Dashboard;
import io.vllmrouter.examples.dashboard.DashboardInfo;
import io.vllmrouter.examples.logging.LoggingSetup;
import io.vllmrouter.examples.logging.RequestLog;
import io.vllmrouter.examples.server.CompositeListener;
import io.vllmrouter.examples.server.ProxyMetrics;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.ProxyServer;
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
                "Without --console a live table fills the terminal; logs go to files only."},
        footer = {"", "Precedence: flag > environment variable > configuration file > default."})
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
            description = "Log to the console instead of showing the dashboard. Env: LOG_TO_CONSOLE=true")
    boolean console;

    @Option(names = "--reload",
            description = "Reload the configuration as soon as the file changes (it is also checked every config_reload_interval)")
    boolean reload;

    @Option(names = "--log-level", paramLabel = "LEVEL",
            description = "DEBUG, INFO, WARNING or ERROR. Env: LOG_LEVEL. Default: INFO")
    String logLevel;

    @Option(names = "--log-dir", paramLabel = "DIR",
            description = "Directory of the log files. Env: LOG_DIR. Default: ./logs")
    Path logDir;

    @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "10",
            description = "On shutdown, time in-flight requests get to finish. Default: ${DEFAULT-VALUE}")
    double graceSeconds;

    private final Map<String, String> env;
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private volatile Consumer<Running> onStarted = r -> { };
    private volatile boolean handleSignals = true;
    private volatile java.util.function.IntFunction<String> hint = port -> "";

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

    /**
     * Lines printed under the "listening on" line and kept above the dashboard's footer (the demo's
     * ready-to-paste curl), given the port the server listens on. {@code \n} separates lines.
     */
    void hint(java.util.function.IntFunction<String> lines) {
        this.hint = java.util.Objects.requireNonNull(lines, "lines");
    }

    /** Whether to install SIGINT/SIGTERM handlers; tests running in-process turn this off. */
    void handleSignals(boolean on) {
        this.handleSignals = on;
    }

    /** Makes {@link #call} shut down as on Ctrl-C. */
    void requestStop() {
        stopRequested.countDown();
    }

    @Override
    public Integer call() throws Exception {
        Path configPath = ConfigLoader.resolveConfigPath(config, env);
        if (!Files.isRegularFile(configPath)) {
            throw new Main.CliException("config file not found: " + configPath.toAbsolutePath()
                    + " (give --config FILE or set CONFIG_PATH)", 1);
        }
        String bindHost = Settings.string(host, env, "HOST", ProxyOptions.DEFAULT_HOST);
        int bindPort = Settings.port(port, env, ProxyOptions.DEFAULT_PORT);
        boolean toConsole = Settings.bool(console, env, "LOG_TO_CONSOLE");
        String level = Settings.string(logLevel, env, "LOG_LEVEL", "INFO");
        try {
            LoggingSetup.level(level);
        } catch (IllegalArgumentException e) {
            throw new Main.CliException(e.getMessage(), 2);
        }
        if (!(graceSeconds >= 0)) {
            throw new Main.CliException("--grace: " + graceSeconds + " (expected: seconds >= 0)", 2);
        }
        Duration grace = Duration.ofMillis(Math.round(graceSeconds * 1000));

        RouterConfig routerConfig = ConfigLoader.load(configPath, env);

        Path dir = logDir != null ? logDir : LoggingSetup.logDir(env);
        LoggingSetup.configure(new LoggingSetup.Settings(dir, level, toConsole));
        LOG.info("vllm-router {} starting: config {} ({} servers, strategy {})", VersionProvider.version(),
                configPath.toAbsolutePath(), routerConfig.servers().size(), routerConfig.strategy());

        ProxyMetrics metrics = new ProxyMetrics();
        RouterListener listener = CompositeListener.of(metrics, new RequestLog());
        // configFile(...) next to config(...): the router keeps the loaded config and watches the file
        // every config_reload_interval, applying valid edits and refusing (logging) invalid ones.
        VllmRouter router = VllmRouters.builder().config(routerConfig).configFile(configPath).env(env)
                .listener(listener).build();
        ProxyServer server;
        try {
            server = ProxyServer.start(router, ProxyOptions.builder().host(bindHost).port(bindPort).grace(grace)
                    .metrics(metrics).version(VersionProvider.version()).build());
        } catch (IOException e) {
            router.close();
            throw new Main.CliException("cannot listen on " + bindHost + ":" + bindPort + ": " + e.getMessage(), 1);
        }

        ConfigFileWatch fileWatch = null;
        if (reload) {
            try {
                fileWatch = ConfigFileWatch.start(configPath, router::reloadConfig);
            } catch (IOException e) {
                LOG.warn("--reload: cannot watch {} ({}); relying on the periodic check", configPath, e.toString());
            }
        }

        String listen = bindHost + ":" + server.port();
        PrintStream terminal = System.out;
        spec.commandLine().getOut().println("vllm-router " + VersionProvider.version() + " listening on http://"
                + listen + " (" + routerConfig.servers().size() + " servers, logs in " + dir.toAbsolutePath() + ")");
        String hintLines = hint.apply(server.port());
        if (!hintLines.isEmpty()) {
            spec.commandLine().getOut().println(hintLines);
        }
        spec.commandLine().getOut().flush();

        Dashboard dashboard = toConsole ? null : Dashboard.start(router::stats,
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
            router.close();
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
}
