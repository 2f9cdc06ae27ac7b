package battle;

import com.mongodb.ConnectionString;
import com.mongodb.MongoException;
import com.mongodb.MongoInterruptedException;
import com.mongodb.MongoNodeIsRecoveringException;
import com.mongodb.MongoNotPrimaryException;
import com.mongodb.MongoServerException;
import com.mongodb.MongoSocketException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.MongoWaitQueueFullException;
import com.mongodb.WriteConcern;
import com.mongodb.async.SingleResultCallback;
import com.mongodb.async.client.MongoClient;
import com.mongodb.async.client.MongoClientSettings;
import com.mongodb.async.client.MongoClients;
import com.mongodb.async.client.MongoCollection;
import com.mongodb.async.client.MongoDatabase;
import com.mongodb.connection.ClusterSettings;
import com.mongodb.connection.ClusterType;
import com.mongodb.connection.ConnectionPoolSettings;
import com.mongodb.connection.ServerSettings;
import com.mongodb.connection.SocketSettings;
import com.mongodb.connection.netty.NettyStreamFactoryFactory;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.URL;
import java.util.Collections;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.bson.BsonArray;
import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonObjectId;
import org.bson.BsonString;
import org.bson.RawBsonDocument;
import org.bson.types.ObjectId;

/**
 * The official MongoDB Java driver's async API (com.mongodb.async.client, 3.6 from Debian's
 * libmongodb-java), one client per process. Its sockets are Netty channels on the HTTP
 * server's own event loops (NettyStreamFactoryFactory), so a find's reply arrives, and its
 * callback runs, on an event loop: no thread pool between a request and the database.
 *
 * <p>Settings as servers/common.py client_options: server selection and connect give up after
 * 2 s and a socket read after 5 s, so an unreachable MongoDB is a 503, never a hang; the pool
 * holds BATTLE_POOL_SIZE connections. The driver's wait queues (500 operations by default,
 * beyond which it fails them at once) are unbounded, as PyMongo's are: at 5000 connections
 * requests wait for a pooled connection instead of failing.
 */
final class Mongo {
    static final String COLLECTION = "documents";
    static final String WRITE_COLLECTION = "items";

    private static final BsonDocument NO_ID = new BsonDocument("_id", new BsonInt32(0));
    private static final BsonDocument FIND_SMALL = new BsonDocument("_id", new BsonString("small"));
    private static final BsonDocument FIND_LARGE = new BsonDocument("_id", new BsonString("large"));
    // The driver logs through java.util.logging: warnings and worse only (a strong reference,
    // or the logger and its level could be collected).
    private static final Logger DRIVER_LOG = Logger.getLogger("org.mongodb.driver");

    private final MongoClient client;
    private final MongoDatabase database;
    private final MongoCollection<RawBsonDocument> documents;
    private final MongoCollection<BsonDocument> items;
    private final WriteConcern writeConcern;

    Mongo(String url, String databaseName, int poolSize, String writeConcernName,
          EventLoopGroup loops, Class<? extends SocketChannel> channelClass) {
        if (System.getProperty("java.util.logging.config.file") == null) {
            DRIVER_LOG.setLevel(Level.WARNING);   // unless logging is configured by hand
        }
        ConnectionString uri = new ConnectionString(url);
        ClusterSettings.Builder cluster = ClusterSettings.builder().applyConnectionString(uri)
                .serverSelectionTimeout(2000, TimeUnit.MILLISECONDS)
                .maxWaitQueueSize(Integer.MAX_VALUE);
        if (uri.getHosts().size() == 1 && uri.getRequiredReplicaSetName() == null) {
            // This driver, when the server is unreachable and so the cluster's type unknown,
            // blocks in the callback that ends every operation: releasing its implicit session
            // prunes the session pool, which waits for the cluster's description (3.6.3's
            // ServerSessionPool.shouldPrune calls the blocking BaseCluster.getDescription). On
            // an event loop that stalls every connection of the loop for the 2 s selection
            // timeout, and then the exception it throws skips the caller's callback, so the
            // request is never answered (JAVA-2859, fixed in 3.6.4). A cluster of known type
            // has a description at once: a single host without a replica set name is taken to
            // be a standalone mongod, as the suite's is (a mongos or a replica set member
            // named alone would then never be selected; name the set with ?replicaSet=).
            cluster.requiredClusterType(ClusterType.STANDALONE);
        }
        MongoClientSettings settings = MongoClientSettings.builder()
                .clusterSettings(cluster.build())
                .connectionPoolSettings(ConnectionPoolSettings.builder().applyConnectionString(uri)
                        .maxSize(poolSize)
                        .maxWaitQueueSize(Integer.MAX_VALUE)
                        .build())
                .socketSettings(SocketSettings.builder().applyConnectionString(uri)
                        .connectTimeout(2000, TimeUnit.MILLISECONDS)
                        .readTimeout(5000, TimeUnit.MILLISECONDS)
                        .build())
                // Every heartbeat publishes a cluster description, and only that wakes this
                // driver's queue of async server selections: one queued while the queue's
                // thread sleeps is looked at again at the next description (JAVA-3400, fixed
                // in 3.11), so with the default 10 s heartbeat a request while MongoDB is down
                // waited up to 10 s per selection (two per operation: the implicit session's
                // and the operation's), 20 s in all. At 500 ms (the driver's minimum) a
                // selection times out within 2.5 s. The cost: one isMaster per 500 ms.
                .serverSettings(ServerSettings.builder()
                        .heartbeatFrequency(500, TimeUnit.MILLISECONDS)
                        .build())
                .heartbeatSocketSettings(SocketSettings.builder()
                        .connectTimeout(2000, TimeUnit.MILLISECONDS)
                        .readTimeout(2000, TimeUnit.MILLISECONDS)
                        .build())
                .streamFactoryFactory(NettyStreamFactoryFactory.builder()
                        .eventLoopGroup(loops)
                        .socketChannelClass(channelClass)
                        .allocator(PooledByteBufAllocator.DEFAULT)
                        .build())
                .build();
        client = MongoClients.create(settings);
        database = client.getDatabase(databaseName);
        writeConcern = writeConcern(writeConcernName);
        documents = database.getCollection(COLLECTION, RawBsonDocument.class);
        items = database.getCollection(WRITE_COLLECTION, BsonDocument.class)
                .withWriteConcern(writeConcern);
    }

    /** BATTLE_WRITE_CONCERN: "1" (or another number of nodes) or a tag such as "majority". */
    static WriteConcern writeConcern(String name) {
        if (name.equals("1")) {
            return WriteConcern.W1;
        }
        if (name.equals("majority")) {
            return WriteConcern.MAJORITY;
        }
        if (!name.isEmpty() && name.chars().allMatch(Character::isDigit)) {
            return new WriteConcern(Integer.parseInt(name));
        }
        return new WriteConcern(name);
    }

    /** find_one({_id: name}, {_id: 0}) for "small" or "large"; null in the callback: none. */
    void find(String name, SingleResultCallback<RawBsonDocument> callback) {
        BsonDocument filter = name.equals("small") ? FIND_SMALL
                : name.equals("large") ? FIND_LARGE : new BsonDocument("_id", new BsonString(name));
        documents.find(filter).projection(NO_ID).first(callback);
    }

    /**
     * insert_one(item) with the write concern, under an id made here (as every driver makes
     * it), written first as MongoDB stores _id. A top-level key with a dot, which MongoDB 5+
     * stores and PyMongo sends, is refused by this driver's insertOne before it is sent
     * (CollectibleDocumentFieldNameValidator, from before MongoDB allowed it); such an item is
     * sent as the same insert command through runCommand, so it is stored as Python's are.
     */
    void insert(ObjectId id, BsonDocument item, SingleResultCallback<Void> callback) {
        BsonDocument document = new BsonDocument("_id", new BsonObjectId(id));
        boolean dotted = false;
        for (java.util.Map.Entry<String, org.bson.BsonValue> entry : item.entrySet()) {
            document.put(entry.getKey(), entry.getValue());
            dotted |= entry.getKey().indexOf('.') >= 0;
        }
        if (!dotted) {
            items.insertOne(document, callback);
            return;
        }
        BsonDocument command = new BsonDocument("insert", new BsonString(WRITE_COLLECTION))
                .append("documents", new BsonArray(Collections.singletonList(document)))
                .append("ordered", BsonBoolean.TRUE);
        if (!writeConcern.isServerDefault()) {
            command.append("writeConcern", writeConcern.asDocument());
        }
        database.runCommand(command, BsonDocument.class, (reply, error) -> {
            if (error == null && (reply.containsKey("writeErrors")
                    || reply.containsKey("writeConcernError"))) {
                error = new MongoException("insert failed: " + reply.toJson());
            }
            callback.onResult(null, error);
        });
    }

    // Server errors PyMongo counts as "not primary" or shutting down (pymongo.helpers_shared
    // _NOT_PRIMARY_CODES), raised as AutoReconnect, a ConnectionFailure: a mongod stopping
    // answers the operations in flight with 11600 InterruptedAtShutdown. This driver maps
    // some of them to MongoNotPrimaryException or MongoNodeIsRecoveringException, not all.
    private static final java.util.Set<Integer> SHUTDOWN_OR_NOT_PRIMARY =
            java.util.Set.of(10107, 13435, 10058, 11600, 11602, 13436, 189, 91);

    /**
     * Whether an error means the database is out of reach (answered 503): no server selected
     * within the timeout, a socket that failed, timed out or closed, a full or interrupted
     * wait, a primary that stepped down or a server shutting down. These are what PyMongo
     * raises as ConnectionFailure.
     * Anything else (a server error, a bug) is a 500.
     */
    static boolean unavailable(Throwable error) {
        if (error instanceof MongoServerException
                && SHUTDOWN_OR_NOT_PRIMARY.contains(((MongoServerException) error).getCode())) {
            return true;
        }
        return error instanceof MongoTimeoutException
                || error instanceof MongoSocketException
                || error instanceof MongoWaitQueueFullException
                || error instanceof MongoInterruptedException
                || error instanceof MongoNotPrimaryException
                || error instanceof MongoNodeIsRecoveringException
                || error instanceof IOException;
    }

    void close() {
        client.close();
    }

    /** The driver's version, from its jar's manifest (Bundle-Version: "3.6.3"). */
    static String driverVersion() {
        Class<?> type = MongoClients.class;
        String version = type.getPackage() == null ? null
                : type.getPackage().getImplementationVersion();
        try {
            URL location = type.getProtectionDomain().getCodeSource().getLocation();
            try (JarFile jar = new JarFile(location.getPath())) {
                String bundle = jar.getManifest().getMainAttributes().getValue("Bundle-Version");
                if (bundle != null) {
                    version = bundle;
                }
            }
        } catch (IOException | RuntimeException e) {
            // keep whatever the package said
        }
        return version == null ? "unknown" : version;
    }
}
