package io.vllmrouter.examples.cli;

import java.io.Console;
import java.lang.reflect.Method;

/** Whether the process talks to a person's terminal or to a file, a pipe, systemd or Docker's log. */
final class Terminals {

    private Terminals() {
    }

    /**
     * True when standard input and output are a terminal. On JDK 17 to 21 {@link System#console()}
     * is null otherwise; from JDK 22 it may be non-null with output redirected, and
     * {@code Console.isTerminal()} (looked up reflectively, this code being built for 17) tells.
     */
    static boolean interactive() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return Boolean.TRUE.equals(isTerminal.invoke(console));
        } catch (NoSuchMethodException e) {
            return true; // before JDK 22 a console exists only on a terminal
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }
}
