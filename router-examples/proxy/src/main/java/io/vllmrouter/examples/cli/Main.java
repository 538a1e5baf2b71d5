package io.vllmrouter.examples.cli;

import io.vllmrouter.core.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
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
                "HEALTH_CHECK_INTERVAL, CONFIG_RELOAD_INTERVAL, REQUEST_TIMEOUT (see docs/proxy.md)."})
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
        io.vllmrouter.examples.server.JvmSettings.apply();
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
        cmd.getErr().println(name + ": " + e.getMessage() + " (see '" + name + " --help')");
        cmd.getErr().flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    private static int executionError(Exception e, CommandLine cmd, CommandLine.ParseResult parseResult) {
        String name = cmd.getCommandSpec().qualifiedName();
        String message;
        if (e instanceof ConfigException) {
            message = "invalid configuration: " + e.getMessage();
        } else if (e instanceof CliException) {
            message = e.getMessage();
        } else {
            message = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
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
