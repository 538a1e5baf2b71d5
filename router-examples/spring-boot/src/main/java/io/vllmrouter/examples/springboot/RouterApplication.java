package io.vllmrouter.examples.springboot;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/**
 * A Spring Boot application with the router inside: {@code application.yml} lists the vLLM servers,
 * {@link RouterConfiguration} makes the router a bean, {@link CompletionsController} forwards OpenAI
 * requests (streams pass event by event), and Actuator shows the router's metrics
 * ({@code /actuator/metrics/vllm.router.requests}, {@code /actuator/prometheus}).
 */
@SpringBootApplication
@EnableConfigurationProperties(RouterProperties.class)
public class RouterApplication {

    public static void main(String[] args) {
        SpringApplication.run(RouterApplication.class, args);
    }
}
