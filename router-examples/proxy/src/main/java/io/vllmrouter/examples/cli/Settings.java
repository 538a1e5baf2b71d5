package io.vllmrouter.examples.cli;

import java.util.Locale;
import java.util.Map;

/** Reads a value with the precedence flag > environment > default, validating what it reads. */
final class Settings {

    private Settings() {
    }

    static String string(String flag, Map<String, String> env, String envName, String fallback) {
        if (flag != null) {
            return flag;
        }
        String v = env.get(envName);
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    static int port(Integer flag, Map<String, String> env, int fallback) {
        if (flag != null) {
            return checkPort("--port", flag);
        }
        String v = env.get("PORT");
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            return checkPort("PORT", Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            throw new Main.CliException("PORT: \"" + v + "\" (expected: a port number 0..65535)", 2);
        }
    }

    private static int checkPort(String name, int port) {
        if (port < 0 || port > 65535) {
            throw new Main.CliException(name + ": " + port + " (expected: a port number 0..65535, 0 = any free port)", 2);
        }
        return port;
    }

    static boolean bool(boolean flag, Map<String, String> env, String envName) {
        return flag || bool(env, envName, false);
    }

    /** The environment variable {@code envName} as true or false, {@code absent} when unset or blank. */
    static boolean bool(Map<String, String> env, String envName, boolean absent) {
        String v = env.get(envName);
        if (v == null || v.isBlank()) {
            return absent;
        }
        switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true": case "1": case "yes": case "on":
                return true;
            case "false": case "0": case "no": case "off":
                return false;
            default:
                throw new Main.CliException(envName + ": \"" + v + "\" (expected: true or false)", 2);
        }
    }
}
