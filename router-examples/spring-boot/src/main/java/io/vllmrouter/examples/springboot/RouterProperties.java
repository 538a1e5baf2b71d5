package io.vllmrouter.examples.springboot;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The router's settings under {@code vllm-router:} in {@code application.yml}:
 *
 * <pre>
 * vllm-router:
 *   strategy: weighted-score
 *   request-timeout: 120s
 *   servers:
 *     - url: http://gpu-1:8000
 *       max-concurrent-requests: 4
 *       models: [llama]
 * </pre>
 */
@ConfigurationProperties("vllm-router")
public class RouterProperties {

    private List<Server> servers = new ArrayList<>();
    private String strategy = "weighted-score";
    private Duration requestTimeout = Duration.ofSeconds(120);
    private Duration healthCheckInterval = Duration.ofSeconds(10);
    private Duration metricsInterval = Duration.ofSeconds(2);

    public List<Server> getServers() { return servers; }
    public void setServers(List<Server> servers) { this.servers = servers; }
    public String getStrategy() { return strategy; }
    public void setStrategy(String strategy) { this.strategy = strategy; }
    public Duration getRequestTimeout() { return requestTimeout; }
    public void setRequestTimeout(Duration requestTimeout) { this.requestTimeout = requestTimeout; }
    public Duration getHealthCheckInterval() { return healthCheckInterval; }
    public void setHealthCheckInterval(Duration healthCheckInterval) { this.healthCheckInterval = healthCheckInterval; }
    public Duration getMetricsInterval() { return metricsInterval; }
    public void setMetricsInterval(Duration metricsInterval) { this.metricsInterval = metricsInterval; }

    /** One backend. */
    public static class Server {
        private String url;
        private int maxConcurrentRequests = 3;
        private List<String> models = new ArrayList<>();
        private String apiKey;

        public String getUrl() { return url; }
        public void setUrl(String url) { this.url = url; }
        public int getMaxConcurrentRequests() { return maxConcurrentRequests; }
        public void setMaxConcurrentRequests(int n) { this.maxConcurrentRequests = n; }
        public List<String> getModels() { return models; }
        public void setModels(List<String> models) { this.models = models; }
        public String getApiKey() { return apiKey; }
        public void setApiKey(String apiKey) { this.apiKey = apiKey; }
    }
}
