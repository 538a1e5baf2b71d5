package io.vllmrouter.examples.cli;

import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.EditDistance;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/**
 * The {@code vllm-router} command: {@code run}, {@code check-config}, and the subcommands other
 * parts register in {@link #commandLine}. Exit codes: 0 success, 1 error (bad configuration,
 * address in use), 2 usage error (unknown flag, missing argument), and what a subcommand documents.
 */
@Command(name = "vllm-router", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = "Routes OpenAI-compatible requests over a fleet of vLLM servers by their live load.",
        footer = {"", "Environment: CONFIG_PATH, HOST, PORT, LOG_LEVEL, LOG_TO_CONSOLE, LOG_DIR,",
                "VLLM_ROUTER_PLUGINS, HEALTH_CHECK_INTERVAL, CONFIG_RELOAD_INTERVAL,",
                "REQUEST_TIMEOUT. See docs/proxy.md."})
public final class Main implements Runnable {

    @Spec
    CommandSpec spec;

    /** Without a subcommand: the usage, as a usage error. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command (choose one of: " + String.join(", ", spec.subcommands().keySet()) + ")");
    }

    public static void main(String[] args) {
        io.vllmrouter.examples.server.JvmSettings.applyForCommandLine();
        int code = execute(args, System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.exit(code);
    }

    /** Runs the command line in-process; tests capture {@code out} and {@code err}. */
    public static int execute(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
        CommandLine cl = commandLine(env);
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }

    /**
     * The command tree. Subcommands are added here; each takes the environment so tests can pass
     * their own. To add one, e.g. {@code demo}: {@code cl.addSubcommand("demo", new DemoCommand(env));}
     */
    public static CommandLine commandLine(Map<String, String> env) {
        CommandLine cl = new CommandLine(new Main());
        cl.addSubcommand("run", new RunCommand(env));
        cl.addSubcommand("check-config", new CheckConfigCommand(env));
        cl.addSubcommand("demo", new DemoCommand(env));
        cl.addSubcommand("simulate", new io.vllmrouter.examples.sim.SimulateCommand());
        cl.setParameterExceptionHandler(Main::usageError);
        cl.setExecutionExceptionHandler(Main::executionError);
        return cl;
    }

    /** One line on stderr naming the problem and where to look; no stack trace. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName();
        PrintWriter err = cmd.getErr();
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()
                && cmd.getCommandSpec().subcommands().size() > 0 && !u.getUnmatched().get(0).startsWith("-")) {
            // An unknown command: name it and suggest the nearest ones.
            String unknown = u.getUnmatched().get(0);
            List<String> near = nearest(unknown, cmd.getCommandSpec().subcommands().keySet(), u.getSuggestions());
            err.println(name + ": unknown command '" + unknown + "'"
                    + (near.isEmpty() ? "" : "; did you mean " + String.join(" or ", near.subList(0, Math.min(3, near.size()))) + "?")
                    + " (commands: " + String.join(", ", cmd.getCommandSpec().subcommands().keySet()) + ")");
        } else if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()
                && u.getUnmatched().get(0).startsWith("--")) {
            String unknown = u.getUnmatched().get(0);
            int eq = unknown.indexOf('=');
            String option = eq > 0 ? unknown.substring(0, eq) : unknown;
            java.util.Set<String> names = new java.util.TreeSet<>();
            cmd.getCommandSpec().options().forEach(o -> names.addAll(List.of(o.names())));
            List<String> near = u.getSuggestions().isEmpty() ? nearest(option, names, List.of()) : u.getSuggestions();
            err.println(name + ": unknown option " + option
                    + (near.isEmpty() ? "" : "; did you mean " + String.join(" or ", near.subList(0, Math.min(3, near.size()))) + "?")
                    + " (see '" + name + " --help')");
        } else {
            err.println(name + ": " + e.getMessage() + " (see '" + name + " --help')");
        }
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** What a person who typed {@code typed} probably meant: a usual synonym, else picocli's, else the closest. */
    static List<String> nearest(String typed, java.util.Set<String> commands, List<String> picocli) {
        String synonym = typed.startsWith("-") ? null : switch (typed.toLowerCase(java.util.Locale.ROOT)) {
            case "serve", "server", "start", "proxy", "up" -> "run";
            case "check", "validate", "verify", "config" -> "check-config";
            case "sim", "simulator", "fake" -> "simulate";
            case "try", "example" -> "demo";
            default -> null;
        };
        if (synonym != null && commands.contains(synonym)) {
            return List.of(synonym);
        }
        if (!picocli.isEmpty()) {
            return picocli;
        }
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : commands) {
            int d = EditDistance.between(typed, c);
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        return best != null && bestDistance <= Math.max(2, best.length() / 2) ? List.of(best) : List.of();
    }

    private static int executionError(Exception e, CommandLine cmd, CommandLine.ParseResult parseResult) {
        String name = cmd.getCommandSpec().qualifiedName();
        String message;
        if (e instanceof ConfigException) {
            message = "invalid configuration: " + e.getMessage();
        } else if (e instanceof CliException) {
            message = e.getMessage();
        } else if (e.getMessage() != null && !e.getMessage().isBlank()) {
            // IllegalArgumentException from the router (unknown strategy, ...) and the like: their
            // messages name the value and what is expected; the class name means nothing to a person.
            message = e.getMessage();
        } else {
            org.slf4j.LoggerFactory.getLogger(Main.class).error("unexpected failure", e);
            message = "unexpected internal error (details in the log); please report it";
        }
        cmd.getErr().println(name + ": " + message);
        cmd.getErr().flush();
        return e instanceof CliException ? ((CliException) e).exitCode() : 1;
    }

    /** A failure reported to the user as one line, with its exit code. */
    static final class CliException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int exitCode;

        CliException(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }

        int exitCode() {
            return exitCode;
        }
    }
}
