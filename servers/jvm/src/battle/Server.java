package battle;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.util.Version;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The JVM reference row (servers/catalog.toml jvm-netty), standing in for the 2014 study's
 * Play! + ReactiveMongo, which cannot be had here: Netty 4.1, the server Play ran on, with the
 * official MongoDB Java driver's async API, both from Debian (libnetty-java,
 * libmongodb-java), compiled by scripts/build-jvm-server.
 *
 * <pre>
 *   java [options] -cp CLASSES:JARS battle.Server --host HOST --port PORT
 * </pre>
 *
 * BATTLE_THREADS event loops (default: the CPUs the JVM may run on), NIO transport (Debian's
 * netty-transport-native-epoll jar carries no native library), shared by the HTTP server
 * (accepting and serving) and the driver's sockets. BATTLE_MONGO_URL, BATTLE_MONGO_DB,
 * BATTLE_POOL_SIZE (driver pool, 100), BATTLE_BACKLOG (listen backlog, 4096),
 * BATTLE_WRITE_CONCERN ("1" or "majority"). The contract is servers/asgi/app.py's; there is
 * no access log, errors go to stderr, SIGTERM closes the listener, the client and the loops
 * and exits 0.
 */
public final class Server {
    private Server() {}

    private static final AtomicLong lastUnavailableLog = new AtomicLong();

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int port = 8000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host":
                    host = args[++i];
                    break;
                case "--port":
                    port = Integer.parseInt(args[++i]);
                    break;
                default:
                    System.err.println("usage: battle.Server --host HOST --port PORT");
                    System.exit(2);
            }
        }
        int threads = intEnv("BATTLE_THREADS", Runtime.getRuntime().availableProcessors());
        int poolSize = intEnv("BATTLE_POOL_SIZE", 100);
        int backlog = intEnv("BATTLE_BACKLOG", 4096);
        String url = env("BATTLE_MONGO_URL", "mongodb://127.0.0.1:27017");
        String databaseName = env("BATTLE_MONGO_DB", "battle");
        String writeConcern = env("BATTLE_WRITE_CONCERN", "1");

        EventLoopGroup loops = new NioEventLoopGroup(threads);
        Class<? extends SocketChannel> channelClass = NioSocketChannel.class;
        Mongo mongo = new Mongo(url, databaseName, poolSize, writeConcern, loops, channelClass);
        HttpHandler.setHealth(healthBody(threads));

        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loops, loops)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, backlog)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        ChannelPipeline pipeline = channel.pipeline();
                        pipeline.addLast(new HttpServerCodec());
                        pipeline.addLast(new HttpServerKeepAliveHandler());
                        // Bodies up to 1 MiB are read whole; items above 16 KiB are then
                        // refused with 400 (ItemParser), bigger bodies get Netty's 413.
                        pipeline.addLast(new HttpObjectAggregator(1024 * 1024));
                        pipeline.addLast(new HttpHandler(mongo));
                    }
                });
        Channel listener;
        try {
            listener = bootstrap.bind(host, port).sync().channel();
        } catch (Exception e) {
            System.err.println("battle.Server: cannot listen on " + host + ":" + port + ": " + e);
            mongo.close();
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            System.exit(1);
            return;
        }

        AtomicBoolean stopping = new AtomicBoolean();
        Runnable stop = () -> {
            if (!stopping.compareAndSet(false, true)) {
                return;
            }
            listener.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            mongo.close();
            loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        };
        if (!Signals.exitCleanlyOn(stop, "TERM", "INT")) {
            Runtime.getRuntime().addShutdownHook(new Thread(stop, "battle-stop"));
        }
        System.err.println("battle.Server: listening on " + host + ":" + port + " (netty "
                + nettyVersion() + ", nio, " + threads + " event loops, mongodb-driver-async "
                + Mongo.driverVersion() + ", pool " + poolSize + ")");
        listener.closeFuture().awaitUninterruptibly();
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    private static int intEnv(String name, int fallback) {
        String value = env(name, null);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            System.err.println("battle.Server: " + name + "=" + value + " is not a number");
            System.exit(2);
            return fallback;
        }
    }

    static String nettyVersion() {
        Map<String, Version> versions = Version.identify();
        Version common = versions.get("netty-common");
        if (common == null && !versions.isEmpty()) {
            common = versions.values().iterator().next();
        }
        return common == null ? "unknown" : common.artifactVersion();
    }

    /** /health: what runs, as the process loaded it (servers/common.py health() for Java). */
    static String healthBody(int threads) {
        List<String> collectors = new ArrayList<>();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            collectors.add(gc.getName());
        }
        return "{\"status\":\"ok\",\"implementation\":\"Java\""
                + ",\"version\":" + BsonJson.quote(System.getProperty("java.version"))
                + ",\"vm\":" + BsonJson.quote(System.getProperty("java.vm.name"))
                + ",\"driver\":" + BsonJson.quote("mongodb-driver-async " + Mongo.driverVersion())
                + ",\"server\":" + BsonJson.quote("netty " + nettyVersion())
                + ",\"transport\":\"nio\""
                + ",\"event_loops\":" + threads
                + ",\"gc\":" + BsonJson.quote(String.join(", ", collectors))
                + ",\"max_heap_mb\":" + Runtime.getRuntime().maxMemory() / (1024 * 1024)
                + "}";
    }

    /** A 503's cause, at most one line every 5 s (MongoDB down fails every request). */
    static void logUnavailable(Throwable error) {
        long now = System.nanoTime();
        long last = lastUnavailableLog.get();
        if (last != 0 && now - last < TimeUnit.SECONDS.toNanos(5)) {
            return;
        }
        if (lastUnavailableLog.compareAndSet(last, now == 0 ? 1 : now)) {
            System.err.println("battle.Server: database unavailable (503): " + error);
        }
    }

    static void logError(Throwable error) {
        System.err.println("battle.Server: error (500): " + error);
        StackTraceElement[] trace = error.getStackTrace();
        for (int i = 0; i < Math.min(trace.length, 8); i++) {
            System.err.println("\tat " + trace[i]);
        }
    }
}
