/**
 * The built-in balancing strategies: {@link io.vllmrouter.strategies.WeightedScoreStrategy
 * weighted-score} (the default), {@link io.vllmrouter.strategies.LeastLoadedStrategy least-loaded},
 * {@link io.vllmrouter.strategies.RoundRobinStrategy round-robin} and {@link
 * io.vllmrouter.strategies.CacheAwareStrategy cache-aware}, each with a provider
 * registered in {@code META-INF/services}.
 */
package io.vllmrouter.strategies;
