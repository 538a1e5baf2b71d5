package io.vllmrouter.examples.cli;

import picocli.CommandLine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** {@code --version}: the project version from the build-generated {@code version.properties}. */
public final class VersionProvider implements CommandLine.IVersionProvider {

    /** The version, or {@code "unknown"} when the resource is missing (e.g. in an IDE without Maven filtering). */
    public static String version() {
        try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version");
                if (v != null && !v.isBlank() && !v.startsWith("${")) {
                    return v.trim();
                }
            }
        } catch (IOException ignored) {
            // fall through
        }
        return "unknown";
    }

    @Override
    public String[] getVersion() {
        return new String[] {
            "vllm-router " + version(),
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
        };
    }
}
