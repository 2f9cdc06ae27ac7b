'use strict';
// The study's Node.js row as it ran it: Node's own `http` server, the `cluster` module forking
// one worker per server CPU, and the official MongoDB driver (Debian's node-mongodb, 3.6), one
// MongoClient per worker, created after the fork. No framework, no npm.
//
//   node servers/node/server.js --host HOST --port PORT
//
// Settings come as the BATTLE_* environment variables every server reads (servers/common.py):
// BATTLE_MONGO_URL, BATTLE_MONGO_DB, BATTLE_WORKERS, BATTLE_POOL_SIZE, BATTLE_BACKLOG,
// BATTLE_WRITE_CONCERN. The driver is found through NODE_PATH=/usr/share/nodejs (the catalog
// sets it). The routes, bodies and status codes are servers/common.py's and servers/asgi/app.py's.

const cluster = require('cluster');
const http = require('http');
const os = require('os');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

function intEnv(name, fallback) {
  const value = parseInt(process.env[name] || '', 10);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

const HOST = option('--host', '127.0.0.1');
const PORT = parseInt(option('--port', '8000'), 10);
const WORKERS = intEnv('BATTLE_WORKERS', os.cpus().length);
const BACKLOG = intEnv('BATTLE_BACKLOG', 4096);

if (cluster.isPrimary) {
  primary();
} else {
  worker();
}

// ---- The primary: forks the workers and watches them; it never serves. -----------------------

function primary() {
  const alive = new Set();
  let stopping = false;
  let exitCode = 0;

  function stopWorkers() {
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch (err) { /* already gone */ }
    }
    // A worker that does not stop within the grace is killed, and so is the server.
    setTimeout(() => {
      for (const pid of alive) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (err) { /* already gone */ }
      }
      process.exit(exitCode || 1);
    }, 4000).unref();
  }

  function stop(signal) {
    if (stopping) return;
    stopping = true;
    stopWorkers();
    if (alive.size === 0) process.exit(exitCode);
  }

  for (let i = 0; i < WORKERS; i++) {
    alive.add(cluster.fork().process.pid);
  }
  cluster.on('exit', (w, code, signal) => {
    alive.delete(w.process.pid);
    if (!stopping) {
      // A dying worker is a dying server: never respawn silently, so the suite sees it.
      process.stderr.write(`node server: worker ${w.process.pid} exited (${signal || 'code ' + code}); ` +
                           'stopping the other workers\n');
      exitCode = 1;
      stop();
    }
    if (alive.size === 0) process.exit(exitCode);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
}

// ---- A worker: one http server, one MongoClient. -----------------------------------------------

function loadDriver() {
  try {
    return require('mongodb');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND' || process.env.NODE_PATH) throw err;
    // Started by hand without NODE_PATH: Debian's node packages live here.
    process.env.NODE_PATH = '/usr/share/nodejs';
    require('module')._initPaths();
    return require('mongodb');
  }
}

function worker() {
  const path = require('path');
  const mongodb = loadDriver();
  const { Long, Double, ObjectID } = mongodb;
  const driverVersion = require(path.join(path.dirname(require.resolve('mongodb')),
                                          'package.json')).version;

  const MONGO_URL = process.env.BATTLE_MONGO_URL || 'mongodb://127.0.0.1:27017';
  const DATABASE = process.env.BATTLE_MONGO_DB || 'battle';
  const WRITE_CONCERN = process.env.BATTLE_WRITE_CONCERN || '1';
  const MAX_ITEM_BYTES = 16 * 1024;
  const MAX_ITEM_DEPTH = 32;

  const json = (value) => Buffer.from(JSON.stringify(value));
  const PLAIN = json({ message: 'Hello, World!' });
  const HEALTH = json({ status: 'ok', implementation: 'Node.js', version: process.versions.node,
                        driver: `mongodb ${driverVersion}` });
  const NOT_FOUND = json({ error: 'document not found' });
  const NO_ROUTE = json({ error: 'no such route' });
  const UNAVAILABLE = json({ error: 'database unavailable' });
  const BAD_ITEM = json({ error: 'the body must be a JSON object without _id that MongoDB can store' });
  const NOT_ALLOWED = json({ error: 'method not allowed' });
  const INTERNAL = json({ error: 'internal error' });

  // servers/common.py client_options(): a bounded wait when MongoDB is gone.
  const CLIENT_OPTIONS = {
    useUnifiedTopology: true,
    poolSize: intEnv('BATTLE_POOL_SIZE', 100),
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
    socketTimeoutMS: 5000,
  };
  let client = null;
  let documents = null;
  let items = null;

  function send(res, status, body) {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  }

  // What PyMongo calls a ConnectionFailure (a network error, a timeout, no server selectable,
  // a server shutting down or not primary) is a 503; anything else a 500, logged.
  const UNAVAILABLE_CODES = new Set([91, 189, 6, 7, 89, 9001, 10107, 11600, 11602, 13435, 13436]);
  function failed(res, err) {
    const name = (err && err.name) || '';
    if (/Network|Timeout|ServerSelection/.test(name) || UNAVAILABLE_CODES.has(err && err.code) ||
        /topology (is|was) (closed|destroyed)|pool (is )?(destroyed|closed)|not master|node is recovering/i
          .test((err && err.message) || '')) {
      return send(res, 503, UNAVAILABLE);
    }
    process.stderr.write(`node server: ${(err && err.stack) || err}\n`);
    send(res, 500, INTERNAL);
  }

  function fetch(res, name) {
    if (documents === null) return send(res, 503, UNAVAILABLE);
    documents.findOne({ _id: name }, { projection: { _id: 0 } }).then(
      (doc) => (doc === null ? send(res, 404, NOT_FOUND) : send(res, 200, Buffer.from(JSON.stringify(doc)))),
      (err) => failed(res, err));
  }

  function createItem(req, res) {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_ITEM_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      let item = null;
      try {
        if (size <= MAX_ITEM_BYTES) item = parseItem(Buffer.concat(chunks, size));
      } catch (err) {
        return failed(res, err); // a bug here, not the body's fault: a 500, logged
      }
      if (item === null) return send(res, 400, BAD_ITEM);
      if (items === null) return send(res, 503, UNAVAILABLE);
      items.insertOne(item, { checkKeys: false }).then(
        (result) => send(res, 201, Buffer.from(`{"id":"${result.insertedId.toHexString()}"}`)),
        (err) => failed(res, err));
    });
    req.on('error', () => {});
  }

  function handle(req, res) {
    const query = req.url.indexOf('?');
    const route = query < 0 ? req.url : req.url.slice(0, query);
    switch (route) {
      case '/small':
        return fetch(res, 'small');
      case '/large':
        return fetch(res, 'large');
      case '/items':
        if (req.method !== 'POST') {
          res.writeHead(405, { 'Content-Type': 'application/json',
                               'Content-Length': NOT_ALLOWED.length, Allow: 'POST' });
          return res.end(NOT_ALLOWED);
        }
        return createItem(req, res);
      case '/plain':
        return send(res, 200, PLAIN);
      case '/health':
        return send(res, 200, HEALTH);
      default:
        return send(res, 404, NO_ROUTE);
    }
  }

  // ---- POST /items: the rules of servers/common.py parse_item, stored as PyMongo stores them.
  //
  // JSON.parse is exact for strings, booleans, null and non-integral numbers. Where it is not,
  // the body is parsed again by parseTyped below, which keeps what PyMongo keeps: an integer
  // within int32 as int32, beyond as int64 (Long; JSON.parse rounds above 2^53, and js-bson
  // would store a double), a number written with a fraction or exponent as a double even when
  // integral ("1.0"), object keys in the posted order (a JS object puts integer-like keys
  // first: those objects become Maps), and keys js-bson would take as its own (_bsontype,
  // toBSON) stored as ordinary fields (inside a Map).

  function parseItem(body) {
    if (!isUtf8(body)) return null;
    const text = body.toString('utf8');
    let item;
    try {
      item = JSON.parse(text);
    } catch (err) {
      return null;
    }
    if (item === null || typeof item !== 'object' || Array.isArray(item) ||
        Object.prototype.hasOwnProperty.call(item, '_id')) {
      return null;
    }
    const state = { typed: false };
    if (!storable(item, MAX_ITEM_DEPTH, state)) return null;
    if (!state.typed) return item;
    try {
      const typed = parseTyped(text);
      const id = new ObjectID();
      const doc = new Map([['_id', id], ...typed]);
      doc._id = id;  // what the driver reads to leave the id alone and to answer insertedId
      return doc;
    } catch (err) {
      if (err instanceof Refused) return null;
      throw err;
    }
  }

  const isUtf8 = require('buffer').isUtf8 || (() => true);
  const INDEX_KEY = /^(0|[1-9][0-9]*)$/;

  // Whether `value` (from JSON.parse) may be stored; sets state.typed where JSON.parse's value
  // is not exactly what was posted (see above). Keys: no NUL, no leading "$"; strings well
  // formed (orjson refuses lone surrogates); numbers finite (orjson refuses 1e400).
  function storable(value, depth, state) {
    switch (typeof value) {
      case 'string':
        return value.isWellFormed();
      case 'number':
        if (!Number.isFinite(value)) return false;
        if (Number.isInteger(value)) state.typed = true;
        return true;
      case 'boolean':
        return true;
      default:
        break;
    }
    if (value === null) return true;
    if (depth <= 0) return false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!storable(value[i], depth - 1, state)) return false;
      }
      return true;
    }
    for (const key of Object.keys(value)) {
      if (key.indexOf('\0') >= 0 || key.charCodeAt(0) === 36 /* $ */ || !key.isWellFormed()) {
        return false;
      }
      if (key === '_bsontype' || key === 'toBSON' || INDEX_KEY.test(key)) state.typed = true;
      if (!storable(value[key], depth - 1, state)) return false;
    }
    return true;
  }

  class Refused extends Error {}

  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const INT64_MIN = -(2n ** 63n);
  const INT64_MAX = 2n ** 63n - 1n;

  // A JSON text already accepted by JSON.parse and storable() (so valid and shallow enough),
  // parsed into what PyMongo would store: objects as Maps in the posted order, integers as
  // int32 or Long, numbers with a fraction or exponent as Double. Returns the top-level Map.
  function parseTyped(text) {
    let at = 0;
    const skip = () => {
      while (at < text.length) {
        const c = text.charCodeAt(at);
        if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
        at++;
      }
    };
    const string = () => {
      const start = at++;
      while (text.charCodeAt(at) !== 34) at += text.charCodeAt(at) === 92 ? 2 : 1;
      at++;
      return JSON.parse(text.slice(start, at));
    };
    const value = () => {
      skip();
      const c = text[at];
      if (c === '{') {
        const map = new Map();
        at++;
        skip();
        if (text[at] === '}') {
          at++;
          return map;
        }
        for (;;) {
          skip();
          const key = string();
          skip();
          at++; // :
          const v = value();
          map.delete(key); // a repeated key: the last one wins (JSON.parse, orjson), in its place
          map.set(key, v);
          skip();
          if (text[at++] === '}') return map;
        }
      }
      if (c === '[') {
        const list = [];
        at++;
        skip();
        if (text[at] === ']') {
          at++;
          return list;
        }
        for (;;) {
          list.push(value());
          skip();
          if (text[at++] === ']') return list;
        }
      }
      if (c === '"') return string();
      if (c === 't') return (at += 4), true;
      if (c === 'f') return (at += 5), false;
      if (c === 'n') return (at += 4), null;
      NUMBER.lastIndex = at;
      const m = NUMBER.exec(text);
      at = NUMBER.lastIndex;
      if (m[1] !== undefined || m[2] !== undefined) return new Double(Number(m[0]));
      const n = Number(m[0]);
      if (n >= -2147483648 && n <= 2147483647) return n;
      const big = BigInt(m[0]);
      if (big < INT64_MIN || big > INT64_MAX) throw new Refused();
      return Long.fromString(m[0]);
    };
    return value();
  }

  // ---- Start: connect (bounded), then listen; stop on SIGTERM/SIGINT. ----------------------

  const server = http.createServer(handle);
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  function stop() {
    server.close();
    if (server.closeAllConnections) server.closeAllConnections();
    const exit = () => process.exit(0);
    setTimeout(exit, 1000).unref();
    client.close(true).then(exit, exit);
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', stop);

  function listen() {
    server.listen({ host: HOST, port: PORT, backlog: BACKLOG });
  }
  server.on('error', (err) => {
    process.stderr.write(`node server: ${err.message}\n`);
    process.exit(1);
  });

  // The first connect waits at most server selection's 2 s; when MongoDB is not there yet the
  // worker serves anyway (503s) and tries again with a new client (the failed one closed: one
  // client per worker at any time). Once connected, the driver's own monitoring finds MongoDB
  // again after it went away.
  let listening = false;
  let failures = 0;
  function connect() {
    client = new mongodb.MongoClient(MONGO_URL, { ...CLIENT_OPTIONS });
    client.connect().then(() => {
      const db = client.db(DATABASE);
      documents = db.collection('documents');
      items = db.collection('items', {
        writeConcern: { w: /^[0-9]+$/.test(WRITE_CONCERN) ? parseInt(WRITE_CONCERN, 10) : WRITE_CONCERN },
      });
      if (failures > 0) process.stderr.write(`node server: connected to MongoDB after ${failures} failed attempt(s)\n`);
      if (!listening) listen();
      listening = true;
    }, (err) => {
      if (failures++ === 0) {
        process.stderr.write(`node server: cannot reach MongoDB yet (${err.message}); retrying every second\n`);
      }
      client.close(true).catch(() => {});
      if (!listening) listen();
      listening = true;
      setTimeout(connect, 1000);
    });
  }
  connect();
}
