package io.vllmrouter.examples.server.exchange;

import io.netty.channel.ChannelPipeline;
import io.vllmrouter.examples.server.ProxyContext;

import java.util.List;

/**
 * The handlers that serve requests, in order, for an HTTP/1.1 connection or an HTTP/2 stream: the
 * head's checks, the route, access, the body, the answer. What they share is made once per server.
 */
public final class ExchangeHandlers {

    /** Their names in a pipeline, in order. */
    public static final List<String> NAMES = List.of("head", "routes", "access", "body", "dispatch");

    private final ProxyContext context;
    private final Routes routes = new Routes();
    private final AccessGuard access;
    private final LocalEndpoints local;

    public ExchangeHandlers(ProxyContext context) {
        this.context = context;
        this.access = new AccessGuard(context);
        this.local = new LocalEndpoints(context);
    }

    /** Adds them at the end of {@code p}. */
    public void addTo(ChannelPipeline p) {
        p.addLast("head", new RequestHead(context));
        p.addLast("routes", routes);
        p.addLast("access", access);
        p.addLast("body", new BodyAggregator(context));
        p.addLast("dispatch", new Dispatch(context, local));
    }
}
