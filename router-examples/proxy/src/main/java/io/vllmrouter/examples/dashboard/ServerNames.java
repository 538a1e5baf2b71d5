package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.BackendSettings;
import io.vllmrouter.api.RouterSettings;

import java.util.HashMap;
import java.util.Map;

/** The configured names of the servers ({@code name = "gpu-1"}), by server id (URL); what people see instead of addresses. */
public final class ServerNames {

    private ServerNames() {
    }

    /** Names by id; servers without a name are absent. */
    public static Map<String, String> of(RouterSettings config) {
        Map<String, String> names = new HashMap<>();
        for (BackendSettings s : config.servers()) {
            if (s.name() != null) {
                names.put(s.id(), s.name());
            }
        }
        return names;
    }
}
