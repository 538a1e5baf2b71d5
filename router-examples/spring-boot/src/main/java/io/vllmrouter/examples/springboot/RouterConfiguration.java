package io.vllmrouter.examples.springboot;

import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.micrometer.RouterMetrics;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/**
 * The router as a bean, and its metrics as a {@link RouterMetrics} bean: Actuator binds every
 * {@code MeterBinder} bean to its registry, so the router's series appear in {@code /actuator/metrics}
 * and {@code /actuator/prometheus} with no further code.
 */
@Configuration(proxyBeanMethods = false)
public class RouterConfiguration {

    @Bean
    public RouterMetrics routerMetrics() {
        return new RouterMetrics();
    }

    /**
     * The router; it reports to {@code metrics} and to every other {@link RouterListener} bean (a
     * request log, an audit trail, ...).
     */
    @Bean(destroyMethod = "close")
    public VllmRouter vllmRouter(RouterProperties properties, RouterMetrics metrics,
                                        ObjectProvider<RouterListener> listeners) {
        RouterConfigBuilder config = RouterConfig.builder()
                .strategy(properties.getStrategy())
                .requestTimeout(properties.getRequestTimeout())
                .healthCheckInterval(properties.getHealthCheckInterval())
                .metricsInterval(properties.getMetricsInterval());
        for (RouterProperties.Server s : properties.getServers()) {
            config.server(new ServerConfig(URI.create(s.getUrl()), s.getMaxConcurrentRequests(), s.getModels(), s.getApiKey()));
        }
        List<RouterListener> all = new ArrayList<>();
        all.add(metrics);
        listeners.orderedStream().filter(l -> l != metrics).forEach(all::add);
        VllmRouter router = VllmRouters.builder().config(config.build()).listener(new Listeners(all)).build();
        metrics.stats(router::stats);
        return router;
    }

    /** Passes each event to every listener in order. */
    private record Listeners(List<RouterListener> all) implements RouterListener {
        @Override
        public void onRequestComplete(RequestRecord record) {
            all.forEach(l -> l.onRequestComplete(record));
        }

        @Override
        public void onRetry(String requestId, String failedBackend, String reason) {
            all.forEach(l -> l.onRetry(requestId, failedBackend, reason));
        }

        @Override
        public void onHealthChange(String backend, boolean healthy, String reason) {
            all.forEach(l -> l.onHealthChange(backend, healthy, reason));
        }

        @Override
        public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
            all.forEach(l -> l.onCircuitStateChange(backend, from, to));
        }

        @Override
        public void onConfigReload(boolean applied, String error) {
            all.forEach(l -> l.onConfigReload(applied, error));
        }
    }
}
