package io.vllmrouter.examples.cli;

import io.vllmrouter.examples.sim.DemoFleet;
import io.vllmrouter.examples.sim.SyntheticLoad;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code vllm-router demo}: the router on its built-in default, a simulated vLLM fleet. Starts
 * {@link DemoFleet} (three simulated servers of capacities 3, 5 and 4 at different speeds, the
 * second also serving a second model) on free 127.0.0.1 ports, writes their configuration to a
 * temporary TOML file, and runs the proxy on it exactly as {@code run} does (dashboard, logs,
 * hot reload, Ctrl-C). With {@code --load}, a light Poisson load keeps the dashboard moving.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = {"Starts a simulated vLLM fleet and the router in front of it: no GPU needed.",
                "Prints a ready-to-paste curl; Ctrl-C stops everything."})
public final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", paramLabel = "PORT",
            description = "Router port; 0 picks a free one. Env: PORT. Default: 8888")
    Integer port;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address the router binds. Default: ${DEFAULT-VALUE} (the fleet is always local)")
    String host;

    @Option(names = "--load", description = "Drive a light synthetic load (Poisson arrivals) through the router")
    boolean load;

    @Option(names = "--rate", paramLabel = "REQ/S", defaultValue = "1.5",
            description = "Requests per second of --load. Default: ${DEFAULT-VALUE} (the fleet serves ~2.7)")
    double rate;

    @Option(names = "--strategy", paramLabel = "NAME", defaultValue = "weighted-score",
            description = "Balancing strategy. Default: ${DEFAULT-VALUE}")
    String strategy;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
            description = "Seed of the simulators and the load, for repeatable runs. Default: ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--console",
            description = "Log lines on stdout, no dashboard (the default when stdout is not a terminal)")
    boolean console;

    @Option(names = "--dashboard", description = "Show the dashboard even when stdout does not look like a terminal")
    boolean dashboard;

    @Option(names = "--plugins", paramLabel = "DIR",
            description = "Directory of strategy jars (see run --help). Default: plugins/ in the working directory, when it exists")
    Path plugins;

    @Option(names = "--log-dir", paramLabel = "DIR", description = "Directory of the log files. Default: logs/ in the working directory")
    Path logDir;

    private final Map<String, String> env;
    private volatile java.util.function.Consumer<RunCommand.Running> onStarted = r -> { };
    private volatile RunCommand running;
    private volatile boolean handleSignals = true;
    private volatile java.util.function.BooleanSupplier interactive;

    /** For tests: whether stdout counts as a terminal. */
    void interactive(java.util.function.BooleanSupplier isTerminal) {
        this.interactive = isTerminal;
    }

    /** For tests: called once the proxy listens. */
    void onStarted(java.util.function.Consumer<RunCommand.Running> callback) {
        this.onStarted = callback;
    }

    /** For tests running in-process: no signal handlers. */
    void handleSignals(boolean on) {
        this.handleSignals = on;
    }

    /** Stops the demo as Ctrl-C does. */
    void requestStop() {
        RunCommand r = running;
        if (r != null) {
            r.requestStop();
        }
    }

    public DemoCommand(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Integer call() throws Exception {
        if (!(rate > 0) || rate > 1000) {
            throw new Main.CliException("--rate: " + rate + " (expected: requests per second > 0 and <= 1000)", 2);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("starting a simulated vLLM fleet on 127.0.0.1 ...");
        out.flush();
        try (DemoFleet fleet = DemoFleet.start(seed)) {
            Path dir = Files.createTempDirectory("vllm-router-demo");
            Path config = dir.resolve("servers.toml");
            Files.writeString(config, toml(fleet.servers(), strategy));
            for (DemoFleet.Server s : fleet.servers()) {
                out.printf("  %-8s %s  capacity %d  models %s%n", s.name(), s.url(), s.capacity(), s.models());
            }
            out.println("  configuration: " + config);
            out.flush();

            RunCommand run = new RunCommand(env);
            run.spec = spec;
            run.config = config.toString();
            run.host = host;
            run.port = port;
            run.console = console;
            run.dashboard = dashboard;
            run.plugins = plugins;
            if (interactive != null) {
                run.interactive(interactive);
            }
            run.logDir = logDir;
            run.graceSeconds = 5;
            String shown = "0.0.0.0".equals(host) ? "127.0.0.1" : host;
            AtomicReference<SyntheticLoad> synthetic = new AtomicReference<>();
            run.handleSignals(handleSignals);
            run.onStarted(r -> {
                if (load) {
                    synthetic.set(SyntheticLoad.start(URI.create("http://" + shown + ":" + r.server().port()), rate,
                            seed, List.of(DemoFleet.MODEL, DemoFleet.SECOND_MODEL)));
                }
                onStarted.accept(r);
            });
            running = run;
            run.hint(actualPort -> "Dashboard: http://" + shown + ":" + actualPort + "/dashboard\n" + curl(shown, actualPort));
            try {
                return run.call();
            } finally {
                SyntheticLoad l = synthetic.get();
                if (l != null) {
                    l.stop();
                }
                Files.deleteIfExists(config);
                Files.deleteIfExists(dir);
            }
        }
    }

    /** The configuration of the fleet, in the file format users write. */
    static String toml(List<DemoFleet.Server> servers, String strategy) {
        StringBuilder sb = new StringBuilder("# Written by 'vllm-router demo' for its simulated fleet.\n[servers]\nservers = [\n");
        for (DemoFleet.Server s : servers) {
            sb.append("  { name = \"").append(s.name()).append("\", url = \"").append(s.url())
                    .append("\", max_concurrent_requests = ").append(s.capacity())
                    .append(", models = [");
            for (int i = 0; i < s.models().size(); i++) {
                sb.append(i == 0 ? "\"" : ", \"").append(s.models().get(i)).append('"');
            }
            sb.append("] },\n");
        }
        return sb.append("]\n\n[config]\nstrategy = \"").append(strategy).append("\"\n")
                .append("health_check_interval = 2\nmetrics_interval = 0.5\nconfig_reload_interval = 5\n").toString();
    }

    /** A chat completion to paste into another terminal, in lines that fit 80 columns. */
    static String curl(String host, int port) {
        String where = host + ":" + port;
        return "Try it (streams tokens as they are generated):\n"
                + "  curl -N http://" + where + "/v1/chat/completions \\\n"
                + "    -H 'Content-Type: application/json' -d '{\"model\": \"" + DemoFleet.MODEL + "\",\n"
                + "    \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}]}'";
    }

}
