//! The compiled ceiling: the server contract (servers/common.py, servers/asgi/app.py) in Rust.
//!
//! One process; hyper 1.x (HTTP/1.1, keep-alive) on a tokio multi-thread runtime of
//! BATTLE_THREADS worker threads; the official `mongodb` driver. Documents are read as raw BSON
//! and written out as JSON by hand, byte-for-byte what the Python servers send (compact, keys
//! in stored order, UTF-8 unescaped, floats as Python's repr prints them).
//!
//! `battle-rust-server --host HOST --port PORT`, with the suite's BATTLE_* environment:
//! BATTLE_MONGO_URL, BATTLE_MONGO_DB, BATTLE_THREADS, BATTLE_POOL_SIZE, BATTLE_BACKLOG,
//! BATTLE_WRITE_CONCERN. No access log; errors go to stderr.

use std::{
    convert::Infallible,
    fmt::Write as _,
    io::Write as _,
    net::{SocketAddr, ToSocketAddrs},
    sync::OnceLock,
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{
    body::Incoming,
    header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
    Method, Request, Response, StatusCode,
};
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown};
use mongodb::{
    bson::{doc, raw::CStr, Bson, RawArray, RawArrayBuf, RawBsonRef, RawDocument, RawDocumentBuf},
    error::{Error as MongoError, ErrorKind, WriteFailure},
    options::{Acknowledgment, ClientOptions, CollectionOptions, WriteConcern},
    Client, Collection,
};
use serde_json::{Map, Value};
use tokio::{net::TcpSocket, signal::unix::SignalKind, time::timeout};

const COLLECTION: &str = "documents";
const WRITE_COLLECTION: &str = "items";
const MAX_ITEM_BYTES: usize = 16 * 1024;
const MAX_ITEM_DEPTH: u32 = 32;
/// servers/common.py client_options(): server selection and connect give up after 2 s; the
/// driver has no socketTimeoutMS, so every operation is bounded here instead (5 s).
const SELECTION_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SIGTERM waits for requests in flight before the process exits.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

const PLAIN: &[u8] = br#"{"message":"Hello, World!"}"#;
const NOT_FOUND: &[u8] = br#"{"error":"document not found"}"#;
const NO_ROUTE: &[u8] = br#"{"error":"no such route"}"#;
const UNAVAILABLE: &[u8] = br#"{"error":"database unavailable"}"#;
const BAD_ITEM: &[u8] =
    br#"{"error":"the body must be a JSON object without _id that MongoDB can store"}"#;
const NOT_ALLOWED: &[u8] = br#"{"error":"method not allowed"}"#;
const INTERNAL: &[u8] = br#"{"error":"internal error"}"#;

struct App {
    documents: Collection<RawDocumentBuf>,
    items: Collection<RawDocumentBuf>,
    health: Bytes,
}

static APP: OnceLock<App> = OnceLock::new();

type Body = Full<Bytes>;

fn main() {
    let (host, port) = match parse_args() {
        Ok(found) => found,
        Err(message) => {
            eprintln!("battle-rust-server: {message}");
            eprintln!("usage: battle-rust-server --host HOST --port PORT");
            std::process::exit(2);
        }
    };
    let threads = env_number("BATTLE_THREADS").unwrap_or_else(|| {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("battle-worker")
        .enable_all()
        .build()
        .unwrap_or_else(|err| fail(format!("cannot start the runtime: {err}")));
    runtime.block_on(run(host, port));
    // Do not wait for the driver's background tasks (monitors, pool workers) to wind down.
    runtime.shutdown_timeout(Duration::from_millis(100));
}

fn fail(message: String) -> ! {
    eprintln!("battle-rust-server: {message}");
    std::process::exit(1);
}

fn parse_args() -> Result<(String, u16), String> {
    let mut host = None;
    let mut port = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).ok_or(format!("{name} needs a value"));
        match name.as_str() {
            "--host" => host = Some(value()?),
            "--port" => {
                let text = value()?;
                port = Some(text.parse::<u16>().map_err(|_| format!("bad --port {text:?}"))?);
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok((host.unwrap_or_else(|| "127.0.0.1".into()), port.ok_or("--port is required")?))
}

fn env_number(name: &str) -> Option<usize> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => fail(format!("{name}={text:?} is not a number")),
    }
}

async fn run(host: String, port: u16) {
    let url = std::env::var("BATTLE_MONGO_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
    let database = std::env::var("BATTLE_MONGO_DB").unwrap_or_else(|_| "battle".into());
    let pool = env_number("BATTLE_POOL_SIZE").unwrap_or(100);
    let backlog = env_number("BATTLE_BACKLOG").unwrap_or(4096);
    let concern = std::env::var("BATTLE_WRITE_CONCERN").unwrap_or_else(|_| "1".into());

    let mut options = ClientOptions::parse(&url)
        .await
        .unwrap_or_else(|err| fail(format!("BATTLE_MONGO_URL {url:?}: {err}")));
    options.server_selection_timeout = Some(SELECTION_TIMEOUT);
    options.connect_timeout = Some(CONNECT_TIMEOUT);
    options.max_pool_size = Some(pool as u32);
    let client = Client::with_options(options)
        .unwrap_or_else(|err| fail(format!("MongoDB client: {err}")));
    let db = client.database(&database);
    let w = match concern.parse::<u32>() {
        Ok(n) => Acknowledgment::Nodes(n),
        Err(_) if concern == "majority" => Acknowledgment::Majority,
        Err(_) => Acknowledgment::Custom(concern.clone()),
    };
    let items = db.collection_with_options(
        WRITE_COLLECTION,
        CollectionOptions::builder().write_concern(WriteConcern::builder().w(w).build()).build(),
    );
    let health = format!(
        r#"{{"status":"ok","implementation":"Rust","version":"{}","driver":"mongodb {}","server":"hyper {}"}}"#,
        env!("BATTLE_RUSTC_VERSION"),
        env!("BATTLE_MONGODB_VERSION"),
        env!("BATTLE_HYPER_VERSION"),
    );
    let _ = APP.set(App { documents: db.collection(COLLECTION), items, health: Bytes::from(health) });

    let addr = resolve(&host, port);
    let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
        .unwrap_or_else(|err| fail(format!("socket: {err}")));
    let _ = socket.set_reuseaddr(true);
    let _ = socket.set_nodelay(true);
    socket.bind(addr).unwrap_or_else(|err| fail(format!("cannot bind {addr}: {err}")));
    let listener = socket
        .listen(backlog.min(u32::MAX as usize) as u32)
        .unwrap_or_else(|err| fail(format!("cannot listen on {addr}: {err}")));

    let mut terminate = tokio::signal::unix::signal(SignalKind::terminate())
        .unwrap_or_else(|err| fail(format!("SIGTERM handler: {err}")));
    let mut interrupt = tokio::signal::unix::signal(SignalKind::interrupt())
        .unwrap_or_else(|err| fail(format!("SIGINT handler: {err}")));
    // The accept loop is a task like the connections, so only the BATTLE_THREADS workers serve;
    // this (the main) thread just waits for the signal.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, stopped));
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    let _ = stop.send(());
    let _ = server.await;
}

async fn serve(listener: tokio::net::TcpListener, mut stopped: tokio::sync::oneshot::Receiver<()>) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.keep_alive(true).pipeline_flush(true).header_read_timeout(None);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let connection = http.serve_connection(TokioIo::new(stream), service_fn(handle));
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        let _ = connection.await; // a client that goes away is not an error
                    });
                }
                Err(err) => {
                    // EMFILE and friends: say so and keep serving the connections we have.
                    eprintln!("battle-rust-server: accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = &mut stopped => break,
        }
    }
    drop(listener);
    // Idle keep-alive connections close now; requests in flight get DRAIN_TIMEOUT to finish.
    let _ = timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

fn resolve(host: &str, port: u16) -> SocketAddr {
    match (host, port).to_socket_addrs() {
        Ok(mut found) => found.next().unwrap_or_else(|| fail(format!("{host:?}: no address"))),
        Err(err) => fail(format!("cannot resolve {host:?}: {err}")),
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let app = APP.get().expect("set before the first connection");
    Ok(match req.uri().path() {
        "/small" => fetch(app, "small").await,
        "/large" => fetch(app, "large").await,
        "/plain" => json(StatusCode::OK, Bytes::from_static(PLAIN)),
        "/health" => json(StatusCode::OK, app.health.clone()),
        "/items" if req.method() == Method::POST => create_item(app, req).await,
        "/items" => {
            let mut response = json(StatusCode::METHOD_NOT_ALLOWED, Bytes::from_static(NOT_ALLOWED));
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
            response
        }
        _ => json(StatusCode::NOT_FOUND, Bytes::from_static(NO_ROUTE)),
    })
}

fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn unavailable() -> Response<Body> {
    json(StatusCode::SERVICE_UNAVAILABLE, Bytes::from_static(UNAVAILABLE))
}

fn internal(what: &str, err: &dyn std::fmt::Display) -> Response<Body> {
    eprintln!("battle-rust-server: {what}: {err}");
    json(StatusCode::INTERNAL_SERVER_ERROR, Bytes::from_static(INTERNAL))
}

/// Whether an error means "MongoDB cannot be reached", what PyMongo raises as ConnectionFailure
/// (the Python servers' 503): no server selectable, a broken or timed-out connection, a cleared
/// pool, or a node that is shutting down, recovering or no longer primary.
fn is_unavailable(err: &MongoError) -> bool {
    // SDAM's "not writable primary", "node is recovering" and "shutting down" codes.
    const CODES: &[i32] = &[91, 189, 10107, 11600, 11602, 13435, 13436, 6, 7, 89, 9001];
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => true,
        ErrorKind::Command(command) => CODES.contains(&command.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(wce)) => CODES.contains(&wce.code),
        _ => err.contains_label("RetryableWriteError"),
    }
}

/// A driver operation on a task of its own, bounded by OPERATION_TIMEOUT (None: it took longer).
///
/// Never awaited in the request's own future: hyper drops that future when the client goes
/// away, and a driver operation dropped unfinished closes the connection it had checked out
/// (the driver's documented behaviour: it cannot tell how much of the reply is left unread).
/// When wrk ends a 5000-connection repeat it closes every connection at once, which dropped
/// every operation in flight, and each 503 at the timeout dropped one more: the pool kept
/// reconnecting under load and the next cells answered nothing but 503s (docs/variants.md, the
/// compiled ceiling). A spawned operation runs to its end and returns its connection to the
/// pool whether or not anyone still waits for it.
async fn detached<T: Send + 'static>(
    operation: impl std::future::Future<Output = Result<T, MongoError>> + Send + 'static,
) -> Option<Result<T, MongoError>> {
    match timeout(OPERATION_TIMEOUT, tokio::spawn(operation)).await {
        Err(_) => None,
        Ok(Ok(result)) => Some(result),
        Ok(Err(panicked)) => Some(Err(MongoError::custom(panicked.to_string()))),
    }
}

async fn fetch(app: &'static App, name: &'static str) -> Response<Body> {
    let find = app.documents.find_one(doc! {"_id": name}).projection(doc! {"_id": 0});
    let document = match detached(async move { find.await }).await {
        None => return unavailable(),
        Some(Err(err)) if is_unavailable(&err) => return unavailable(),
        Some(Err(err)) => return internal("find_one", &err),
        Some(Ok(None)) => return json(StatusCode::NOT_FOUND, Bytes::from_static(NOT_FOUND)),
        Some(Ok(Some(document))) => document,
    };
    let mut out = Vec::with_capacity(document.as_bytes().len() + 64);
    match write_document(&document, &mut out) {
        Ok(()) => json(StatusCode::OK, Bytes::from(out)),
        Err(err) => internal("reading the stored document", &err),
    }
}

async fn create_item(app: &'static App, req: Request<Incoming>) -> Response<Body> {
    let bad = || json(StatusCode::BAD_REQUEST, Bytes::from_static(BAD_ITEM));
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_ITEM_BYTES as u64) {
        return bad();
    }
    let body = match Limited::new(req.into_body(), MAX_ITEM_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return bad(), // too big, or the client went away mid-body
    };
    let Some(item) = parse_item(&body) else {
        return bad();
    };
    match detached(async move { app.items.insert_one(item).await }).await {
        None => unavailable(),
        Some(Err(err)) if is_unavailable(&err) => unavailable(),
        Some(Err(err)) => internal("insert_one", &err),
        Some(Ok(result)) => match result.inserted_id {
            Bson::ObjectId(id) => {
                let mut out = Vec::with_capacity(34);
                out.extend_from_slice(br#"{"id":""#);
                out.extend_from_slice(id.to_hex().as_bytes());
                out.extend_from_slice(br#""}"#);
                json(StatusCode::CREATED, Bytes::from(out))
            }
            other => internal("insert_one", &format!("inserted id {other}")),
        },
    }
}

// ---- POST /items: servers/common.py parse_item ------------------------------------------------

/// The document a POST /items body asks to insert: a JSON object without `_id` that MongoDB can
/// store (nested at most MAX_ITEM_DEPTH deep, integers within int64, keys without NUL or a
/// leading "$"); None for anything else. Integers are stored as PyMongo stores a Python int:
/// int32 when it fits, else int64; integers too big for 64 bits parse as doubles, as orjson does.
fn parse_item(body: &[u8]) -> Option<RawDocumentBuf> {
    if body.len() > MAX_ITEM_BYTES {
        return None;
    }
    let Value::Object(map) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    if map.contains_key("_id") {
        return None;
    }
    object(&map, MAX_ITEM_DEPTH)
}

fn object(map: &Map<String, Value>, depth: u32) -> Option<RawDocumentBuf> {
    if depth == 0 {
        return None;
    }
    let mut document = RawDocumentBuf::new();
    for (key, value) in map {
        if key.starts_with('$') {
            return None;
        }
        let key: &CStr = key.as_str().try_into().ok()?; // refuses a NUL
        match value {
            Value::Null => document.append(key, RawBsonRef::Null),
            Value::Bool(b) => document.append(key, *b),
            Value::Number(n) => match number(n)? {
                Number::Int32(i) => document.append(key, i),
                Number::Int64(i) => document.append(key, i),
                Number::Double(f) => document.append(key, f),
            },
            Value::String(s) => document.append(key, s.as_str()),
            Value::Array(values) => document.append(key, array(values, depth - 1)?),
            Value::Object(inner) => document.append(key, object(inner, depth - 1)?),
        }
    }
    Some(document)
}

fn array(values: &[Value], depth: u32) -> Option<RawArrayBuf> {
    if depth == 0 {
        return None;
    }
    let mut array = RawArrayBuf::new();
    for value in values {
        match value {
            Value::Null => array.push(RawBsonRef::Null),
            Value::Bool(b) => array.push(*b),
            Value::Number(n) => match number(n)? {
                Number::Int32(i) => array.push(i),
                Number::Int64(i) => array.push(i),
                Number::Double(f) => array.push(f),
            },
            Value::String(s) => array.push(s.as_str()),
            Value::Array(inner) => array.push(self::array(inner, depth - 1)?),
            Value::Object(inner) => array.push(object(inner, depth - 1)?),
        }
    }
    Some(array)
}

enum Number {
    Int32(i32),
    Int64(i64),
    Double(f64),
}

fn number(n: &serde_json::Number) -> Option<Number> {
    if let Some(i) = n.as_i64() {
        return Some(match i32::try_from(i) {
            Ok(small) => Number::Int32(small),
            Err(_) => Number::Int64(i),
        });
    }
    if n.is_u64() {
        return None; // above int64: BSON cannot store it
    }
    n.as_f64().map(Number::Double)
}

// ---- BSON to JSON: the bytes orjson / json.dumps(separators=(",", ":"), ensure_ascii=False) ----

fn write_document(document: &RawDocument, out: &mut Vec<u8>) -> mongodb::bson::error::Result<()> {
    out.push(b'{');
    for (index, element) in document.into_iter().enumerate() {
        let (key, value) = element?;
        if index > 0 {
            out.push(b',');
        }
        write_string(key.as_str(), out);
        out.push(b':');
        write_value(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_array(array: &RawArray, out: &mut Vec<u8>) -> mongodb::bson::error::Result<()> {
    out.push(b'[');
    for (index, value) in array.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_value(value?, out)?;
    }
    out.push(b']');
    Ok(())
}

fn write_value(value: RawBsonRef<'_>, out: &mut Vec<u8>) -> mongodb::bson::error::Result<()> {
    match value {
        RawBsonRef::Double(f) => write_float(f, out),
        RawBsonRef::String(s) | RawBsonRef::Symbol(s) => write_string(s, out),
        RawBsonRef::Document(d) => write_document(d, out)?,
        RawBsonRef::Array(a) => write_array(a, out)?,
        RawBsonRef::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        RawBsonRef::Int32(i) => {
            let _ = write!(out, "{i}");
        }
        RawBsonRef::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        // Not in the suite's documents; what a JSON body can carry of them.
        RawBsonRef::ObjectId(id) => write_string(&id.to_hex(), out),
        RawBsonRef::DateTime(dt) => match dt.try_to_rfc3339_string() {
            Ok(text) => write_string(&text, out),
            Err(_) => {
                let _ = write!(out, "{}", dt.timestamp_millis());
            }
        },
        RawBsonRef::Decimal128(d) => write_string(&d.to_string(), out),
        _ => out.extend_from_slice(b"null"),
    }
    Ok(())
}

/// A JSON string as Python's json (ensure_ascii=False) and orjson write it: UTF-8 as is; `"`,
/// `\` and control characters escaped, \n \r \t \b \f short, the rest as \u00XX.
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// A float as Python's repr(): the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in -5 < e < 16 ("-45.123456", "1.0", "0.0001"), else exponent notation
/// ("1e+16", "1.5e-05"). NaN and the infinities are not JSON: null, as orjson writes them.
fn write_float(f: f64, out: &mut Vec<u8>) {
    if !f.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let mut sci = String::with_capacity(32);
    let _ = write!(sci, "{f:e}"); // shortest round-trip digits: "-4.5123456e1", "1e16"
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if negative {
        out.push(b'-');
    }
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(digits.as_bytes());
        } else if (point as usize) < digits.len() {
            out.extend_from_slice(&digits.as_bytes()[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[point as usize..]);
        } else {
            out.extend_from_slice(digits.as_bytes());
            out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
            out.extend_from_slice(b".0");
        }
    } else {
        out.extend_from_slice(&digits.as_bytes()[..1]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(f: f64) -> String {
        let mut out = Vec::new();
        write_float(f, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_as_python_repr() {
        for (value, text) in [
            (-45.123456, "-45.123456"), (1.0, "1.0"), (0.0, "0.0"), (-0.0, "-0.0"),
            (100.0, "100.0"), (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"), (9999999999999998.0, "9999999999999998.0"), (1e22, "1e+22"),
            (123456.789, "123456.789"), (0.1, "0.1"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"), (1e100, "1e+100"), (0.5, "0.5"),
        ] {
            assert_eq!(float(value), text, "{value:?}");
        }
    }

    #[test]
    fn strings_as_python_json() {
        let mut out = Vec::new();
        write_string("a\"b\\c\nd\u{1}é\u{7f}\u{2028}", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\\\"b\\\\c\\nd\\u0001é\u{7f}\u{2028}\"");
    }

    #[test]
    fn items() {
        assert!(parse_item(br#"{"canonicalUrl": "x"}"#).is_some());
        assert!(parse_item(b"{}").is_some());
        for bad in [&b"[1, 2]"[..], b"not json", br#"{"_id": "x"}"#, b"",
                    br#"{"n": 18446744073709551615}"#, br#"{"$set": 1}"#, br#"{"a": {"$x": 1}}"#,
                    b"{\"a\\u0000\": 1}", b"1e400", br#"{"a": 1e400}"#] {
            assert!(parse_item(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
        let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(parse_item(format!("{{\"a\":{}}}", nested(31)).as_bytes()).is_some());
        assert!(parse_item(format!("{{\"a\":{}}}", nested(32)).as_bytes()).is_none());
        assert!(parse_item(br#"{"n": 9223372036854775807, "m": -9223372036854775808}"#).is_some());
    }
}
