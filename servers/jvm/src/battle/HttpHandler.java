package battle;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.bson.BsonDocument;
import org.bson.RawBsonDocument;
import org.bson.types.ObjectId;

/**
 * One per connection, on its event loop. Routes as servers/asgi/app.py does: /small and
 * /large read MongoDB through the async driver and answer from its callback, POST /items
 * inserts, /plain and /health never touch the database, anything else is 404.
 *
 * <p>A connection's requests are answered in the order they came: while one waits for
 * MongoDB, requests pipelined behind it wait here (HTTP/1.1 answers in order, and an
 * asynchronous reply could otherwise overtake an earlier one). Keep-alive and
 * "Connection: close" are HttpServerKeepAliveHandler's, before this in the pipeline.
 */
final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final AsciiString JSON = AsciiString.cached("application/json");
    private static final AsciiString POST_ONLY = AsciiString.cached("POST");

    private static ByteBuf constant(String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        return Unpooled.unreleasableBuffer(Unpooled.directBuffer(bytes.length).writeBytes(bytes))
                .asReadOnly();
    }

    private static final ByteBuf PLAIN = constant("{\"message\":\"Hello, World!\"}");
    private static final ByteBuf NOT_FOUND = constant("{\"error\":\"document not found\"}");
    private static final ByteBuf NO_ROUTE = constant("{\"error\":\"no such route\"}");
    private static final ByteBuf UNAVAILABLE = constant("{\"error\":\"database unavailable\"}");
    private static final ByteBuf BAD_ITEM = constant(
            "{\"error\":\"the body must be a JSON object without _id that MongoDB can store\"}");
    private static final ByteBuf NOT_ALLOWED = constant("{\"error\":\"method not allowed\"}");
    private static final ByteBuf BAD_REQUEST = constant("{\"error\":\"bad request\"}");
    private static final ByteBuf INTERNAL = constant("{\"error\":\"internal error\"}");

    private static volatile ByteBuf health = constant("{\"status\":\"ok\"}");

    /** /health's body, built once at start (Server.healthBody). */
    static void setHealth(String json) {
        health = constant(json);
    }

    // The longest a request waits for the driver (Pending): server selection (2 s, twice when
    // MongoDB is gone: the implicit session's and the operation's) or a socket read (5 s) fit
    // in it, and it stays under the contract's 10 s for a 503.
    static final long GUARD_MS = 9000;

    private final Mongo mongo;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>();
    private boolean busy;       // a request of this connection is being answered
    private boolean draining;
    private boolean keepAlive10;   // the current request: HTTP/1.0 with keep-alive

    HttpHandler(Mongo mongo) {
        super(true);
        this.mongo = mongo;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (busy || !waiting.isEmpty()) {
            waiting.add(request.retain());
            return;
        }
        handle(ctx, request);
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
        busy = true;
        try {
            route(ctx, request);
        } catch (RuntimeException e) {   // a bug: answered 500, the connection kept
            if (busy) {
                failed(ctx, e);
            } else {
                Server.logError(e);
            }
        }
    }

    private void route(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!request.decoderResult().isSuccess()) {
            keepAlive10 = false;
            ctx.writeAndFlush(response(HttpResponseStatus.BAD_REQUEST, BAD_REQUEST.duplicate()))
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        // An HTTP/1.0 client asking for keep-alive is told it got it (HTTP/1.1 ones assume it).
        keepAlive10 = request.protocolVersion() == HttpVersion.HTTP_1_0
                && HttpUtil.isKeepAlive(request);
        String uri = request.uri();
        int query = uri.indexOf('?');
        String path = query < 0 ? uri : uri.substring(0, query);
        switch (path) {
            case "/small":
            case "/large":
                read(ctx, path.substring(1));
                return;
            case "/items":
                if (!HttpMethod.POST.equals(request.method())) {
                    FullHttpResponse refused = response(HttpResponseStatus.METHOD_NOT_ALLOWED,
                            NOT_ALLOWED.duplicate());
                    refused.headers().set(HttpHeaderNames.ALLOW, POST_ONLY);
                    send(ctx, refused);
                    return;
                }
                create(ctx, ByteBufUtil.getBytes(request.content()));
                return;
            case "/plain":
                send(ctx, HttpResponseStatus.OK, PLAIN.duplicate());
                return;
            case "/health":
                send(ctx, HttpResponseStatus.OK, health.duplicate());
                return;
            default:
                send(ctx, HttpResponseStatus.NOT_FOUND, NO_ROUTE.duplicate());
        }
    }

    private void read(ChannelHandlerContext ctx, String name) {
        Pending pending = new Pending(ctx);
        mongo.find(name, (document, error) -> {
            if (error != null) {
                onLoop(ctx, () -> pending.fail(error));
                return;
            }
            if (document == null) {
                onLoop(ctx, () -> pending.answer(HttpResponseStatus.NOT_FOUND,
                        NOT_FOUND.duplicate()));
                return;
            }
            ByteBuf body;
            try {
                body = encode(ctx, document);
            } catch (RuntimeException e) {
                onLoop(ctx, () -> pending.fail(e));
                return;
            }
            onLoop(ctx, () -> pending.answer(HttpResponseStatus.OK, body));
        });
    }

    private static ByteBuf encode(ChannelHandlerContext ctx, RawBsonDocument document) {
        java.nio.ByteBuffer raw = document.getByteBuffer().asNIO();
        ByteBuf body = ctx.alloc().buffer(raw.remaining() + 64);
        try {
            BsonJson.write(raw.array(), raw.arrayOffset() + raw.position(), body);
        } catch (RuntimeException e) {
            body.release();
            throw e;
        }
        return body;
    }

    private void create(ChannelHandlerContext ctx, byte[] body) {
        BsonDocument item = ItemParser.parse(body);
        if (item == null) {
            send(ctx, HttpResponseStatus.BAD_REQUEST, BAD_ITEM.duplicate());
            return;
        }
        ObjectId id = new ObjectId();
        Pending pending = new Pending(ctx);
        try {
            mongo.insert(id, item, (ignored, error) -> {
                if (error != null) {
                    onLoop(ctx, () -> pending.fail(error));
                    return;
                }
                byte[] created = ("{\"id\":\"" + id.toHexString() + "\"}")
                        .getBytes(StandardCharsets.US_ASCII);
                onLoop(ctx, () -> pending.answer(HttpResponseStatus.CREATED,
                        Unpooled.wrappedBuffer(created)));
            });
        } catch (RuntimeException e) {   // the driver refused it before sending
            pending.fail(e);
        }
    }

    /**
     * A request waiting for the driver, answered once: by the driver's callback or, if that
     * has not come within GUARD_MS, with 503. The guard is a safety net: this driver drops a
     * callback when code inside it throws (BaseCluster.ServerSelectionRequest swallows the
     * exception; 3.6.3's session pruning could throw so), and a request must never hang.
     * Both run on the connection's event loop, so a plain flag settles which answers.
     */
    private final class Pending implements Runnable {
        private final ChannelHandlerContext ctx;
        private final ScheduledFuture<?> guard;
        private boolean done;

        Pending(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            this.guard = ctx.executor().schedule(this, GUARD_MS, TimeUnit.MILLISECONDS);
        }

        @Override
        public void run() {
            if (!done) {
                done = true;
                Server.logUnavailable(new TimeoutException("no answer from the driver within "
                        + GUARD_MS + " ms"));
                send(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, UNAVAILABLE.duplicate());
            }
        }

        void answer(HttpResponseStatus status, ByteBuf body) {
            if (done) {
                body.release();
                return;
            }
            done = true;
            guard.cancel(false);
            send(ctx, status, body);
        }

        void fail(Throwable error) {
            if (done) {
                return;
            }
            done = true;
            guard.cancel(false);
            failed(ctx, error);
        }
    }

    private void failed(ChannelHandlerContext ctx, Throwable error) {
        if (Mongo.unavailable(error)) {
            Server.logUnavailable(error);
            send(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, UNAVAILABLE.duplicate());
        } else {
            Server.logError(error);
            send(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, INTERNAL.duplicate());
        }
    }

    private static void onLoop(ChannelHandlerContext ctx, Runnable task) {
        if (ctx.executor().inEventLoop()) {
            task.run();
        } else {
            ctx.executor().execute(task);
        }
    }

    private FullHttpResponse response(HttpResponseStatus status, ByteBuf body) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                body, false);
        HttpHeaders headers = response.headers();
        headers.set(HttpHeaderNames.CONTENT_TYPE, JSON);
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (keepAlive10) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        return response;
    }

    private void send(ChannelHandlerContext ctx, HttpResponseStatus status, ByteBuf body) {
        send(ctx, response(status, body));
    }

    /** Writes the answer to the current request, then takes the next one waiting, if any. */
    private void send(ChannelHandlerContext ctx, FullHttpResponse response) {
        ctx.writeAndFlush(response);
        busy = false;
        if (draining) {
            return;
        }
        draining = true;
        try {
            FullHttpRequest next;
            while (!busy && (next = waiting.poll()) != null) {
                try {
                    handle(ctx, next);
                } finally {
                    next.release();
                }
            }
        } finally {
            draining = false;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releaseWaiting();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseWaiting();
    }

    private void releaseWaiting() {
        FullHttpRequest next;
        while ((next = waiting.poll()) != null) {
            next.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset connection is the client's business; anything else is worth a line.
        if (!(cause instanceof java.io.IOException)) {
            Server.logError(cause);
        }
        ctx.close();
    }
}
