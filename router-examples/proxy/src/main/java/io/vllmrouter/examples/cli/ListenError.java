package io.vllmrouter.examples.cli;

import java.io.IOException;
import java.net.BindException;
import java.util.Locale;

/** Why the proxy could not listen, in words that say what to do; never an exception class name. */
final class ListenError {

    private ListenError() {
    }

    /** E.g. {@code "cannot listen on 0.0.0.0:8888: the address is in use (another process listens there); choose another port with --port N (or PORT=N)"}. */
    static String describe(String host, int port, IOException e) {
        String where = "cannot listen on " + host + ":" + port + ": ";
        String m = e.getMessage() == null ? "" : e.getMessage();
        String lower = m.toLowerCase(Locale.ROOT);
        if (lower.contains("in use")) {
            return where + "the address is in use (another process listens there); choose another port with --port N"
                    + " (or PORT=N), or stop the other process";
        }
        if (lower.contains("permission denied") || lower.contains("access denied")) {
            return where + "permission denied (ports below 1024 need privileges); choose a port of 1024 or more with --port N";
        }
        if (e instanceof BindException || lower.contains("assign requested address") || lower.contains("unresolved")) {
            return where + "this machine has no such address (" + m + "); choose one of its addresses with --host,"
                    + " or 0.0.0.0 for all";
        }
        return where + (m.isEmpty() ? "I/O error" : m);
    }
}
