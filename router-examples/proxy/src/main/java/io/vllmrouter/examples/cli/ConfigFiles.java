package io.vllmrouter.examples.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** What to tell a person whose configuration file is missing. */
final class ConfigFiles {

    static final String EXAMPLE = "servers.example.toml";

    private ConfigFiles() {
    }

    /**
     * "config file not found: /abs/servers.toml", then how to get one: copy the example that sits
     * next to the missing file (or in the working directory), else where to find it; then how to
     * name another file.
     */
    static String notFound(Path missing, String howToGiveAnother) {
        Path abs = missing.toAbsolutePath().normalize();
        StringBuilder sb = new StringBuilder("config file not found: ").append(abs);
        Path dir = abs.getParent();
        Path example = dir == null ? null : dir.resolve(EXAMPLE);
        if (example == null || !Files.isRegularFile(example)) {
            Path here = Path.of(EXAMPLE);
            example = Files.isRegularFile(here) ? here : null;
        }
        if (example != null) {
            Path cwd = Path.of("").toAbsolutePath();
            String from = example.toAbsolutePath().getParent().equals(cwd) ? EXAMPLE : example.toAbsolutePath().toString();
            String to = abs.getParent() != null && abs.getParent().equals(cwd) ? abs.getFileName().toString() : abs.toString();
            sb.append("\n  to start from the example: cp ").append(from).append(' ').append(to)
                    .append("   (then list your vLLM servers in it)");
        } else {
            sb.append("\n  write one from servers.example.toml in the vllm-router repository (see docs/configuration.md)");
        }
        sb.append("\n  or give another file: ").append(howToGiveAnother);
        return sb.toString();
    }
}
