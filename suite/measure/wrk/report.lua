-- Counts what wrk 4.1 leaves uncounted and prints one JSON line when wrk finishes, for the suite
-- to parse (suite/loadgen.py). wrk's Lua has no JSON library, so the line is built by hand.
--
-- What this adds to wrk's own counters (each is explained in README "How to read a report"):
--  * latency as measured: wrk rewrites its histogram before done() (see histogram.lua); the
--    measured one is recovered exactly and summarised here, with its sample count. wrk's own
--    corrected figures are printed apart, as "latency_corrected_us".
--  * body: every response with a status below 400 is compared, whole, with the verified bytes
--    (file named by BATTLE_EXPECT_BODY). LuaJIT interns strings, so the comparison is one
--    hash and memcmp done while wrk hands the body to Lua, not a byte loop here. Defining
--    response() costs wrk CPU (headers and body go through Lua); the suite records wrk's CPU.
--  * lost: wrk has no timer for a request that never gets an answer (it counts a response
--    slower than --timeout as errors.timeout only when it arrives). When done() runs, every
--    connection's socket is still open: a connection that neither sent nor received a byte for
--    longer than the timeout was waiting on a request nobody answered (a closed-loop connection
--    sends its next request within microseconds of a response). The kernel keeps those times
--    per socket (TCP_INFO last_data_sent / last_data_recv, ms); sockets still connecting whose
--    SYN was retried long enough to be older than the timeout are lost too.
--
--  * writes (BATTLE_WRITE_IDS set): every request is a POST of a small JSON object naming this
--    wrk execution (BATTLE_WRITE_RUN) and a key unique within it ("<thread>-<n>"); a response
--    below 400 is right only if it is exactly 201 {"id":"<24 hex>"}. Each thread writes the ids
--    of those to its own file, BATTLE_WRITE_IDS.<thread> (buffered; C's stdio flushes them when
--    wrk exits), so the suite can look every acknowledged insert up in the database. (Not a
--    table handed to done(): wrk's thread:get of a table pops the thread's stack once too
--    often, src/script.c script_copy_value.)
--
-- Environment: BATTLE_CONNECTIONS (wrk -c, needed to undo the correction),
-- BATTLE_EXPECT_BODY (optional), BATTLE_WRITE_IDS and BATTLE_WRITE_RUN (optional: writes).

local ffi = require("ffi")
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local histogram = dofile(here .. "histogram.lua")

ffi.cdef[[
typedef struct { uint64_t count; uint64_t limit; uint64_t min; uint64_t max; uint64_t data[]; }
  battle_wrk_stats;  /* wrk 4.1 src/stats.h */
typedef struct {
  uint8_t state, ca_state, retransmits, probes, backoff, options, wscale, flags;
  uint32_t rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets;
  uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
} battle_tcp_info;   /* the start of struct tcp_info, linux/tcp.h (stable ABI) */
int getsockopt(int sockfd, int level, int optname, void *optval, uint32_t *optlen);
]]

local IPPROTO_TCP, TCP_INFO = 6, 11
local TCP_ESTABLISHED, TCP_SYN_SENT = 1, 2
local PERCENTILES = { 50, 75, 90, 99, 99.9 }
local PERCENTILE_KEYS = { "p50", "p75", "p90", "p99", "p99.9" }

-- Per thread: responses compared with the expected body, and how many differed.
local expected_path = os.getenv("BATTLE_EXPECT_BODY")
local write_ids_path = os.getenv("BATTLE_WRITE_IDS")
if write_ids_path and write_ids_path ~= "" then
  checked, wrong, sent = 0, 0, 0
  local run_tag = assert(os.getenv("BATTLE_WRITE_RUN"), "BATTLE_WRITE_RUN is not set")
  local ids_file
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  init = function(args)
    ids_file = assert(io.open(write_ids_path .. "." .. thread_no, "w"))
  end
  request = function()
    sent = sent + 1
    return wrk.format(nil, nil, nil, '{"run":"' .. run_tag .. '","key":"' .. thread_no .. "-"
                      .. sent .. '","canonicalUrl":"https://t.co/bttl"}')
  end
  response = function(status, headers, body)
    if status < 400 then
      checked = checked + 1
      local id = status == 201 and body:match('^{"id":"(%x+)"}$')
      if id and #id == 24 then
        ids_file:write(id, "\n")
      else
        wrong = wrong + 1
      end
    end
  end
elseif expected_path and expected_path ~= "" then
  local file = assert(io.open(expected_path, "rb"))
  local expected = file:read("*a")
  file:close()
  checked, wrong = 0, 0
  response = function(status, headers, body)
    if status < 400 then
      checked = checked + 1
      if body ~= expected then
        wrong = wrong + 1
      end
    end
  end
end

local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
  thread:set("thread_no", #threads)
end


local function int(x)
  return x == nil and "null" or string.format("%.0f", x)
end

local function num(x)
  if x == nil or x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  return string.format("%.1f", x)
end

local function latency_json(s)
  if s == nil or s.count == 0 then
    return "null"
  end
  local parts = { '"min":' .. int(s.min), '"mean":' .. num(s.mean), '"stdev":' .. num(s.stdev),
                  '"max":' .. int(s.max) }
  for i, key in ipairs(PERCENTILE_KEYS) do
    parts[#parts + 1] = '"' .. key .. '":' .. int(s.percentiles[i])
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- Every TCP socket of this process, as the kernel sees it now.
local function sockets(timeout_ms, connections)
  local info = ffi.new("battle_tcp_info")
  local size = ffi.new("uint32_t[1]")
  local open, established, lost, connecting = 0, 0, 0, 0
  -- Descriptors are allocated lowest first: wrk's sockets sit below connections + a margin.
  for fd = 0, connections + 1024 do
    size[0] = ffi.sizeof(info)
    if ffi.C.getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, size) == 0 then
      open = open + 1
      if info.state == TCP_ESTABLISHED then
        established = established + 1
        if info.last_data_sent > timeout_ms and info.last_data_recv > timeout_ms then
          lost = lost + 1
        end
      elseif info.state == TCP_SYN_SENT then
        connecting = connecting + 1
        -- SYN retries wait 1, 2, 4, ... s: after r of them the attempt is >= 2^r - 1 s old.
        if (2 ^ info.retransmits - 1) * 1000 > timeout_ms then
          lost = lost + 1
        end
      end
    end
  end
  return open, established, connecting, lost
end

local function body_counts()
  local checked_total, wrong_total = 0, 0
  for _, thread in ipairs(threads) do
    local c, w = thread:get("checked"), thread:get("wrong")
    if c == nil then
      return nil
    end
    checked_total, wrong_total = checked_total + c, wrong_total + w
  end
  return checked_total, wrong_total
end

done = function(summary, latency, requests)
  local connections = tonumber(os.getenv("BATTLE_CONNECTIONS") or "")
  assert(connections, "BATTLE_CONNECTIONS is not set")
  local stats = ffi.cast("battle_wrk_stats**", latency)[0]
  local timeout_us = tonumber(stats.limit) - 1
  -- wrk's own view of its histogram must match the struct read here, or nothing below holds.
  assert(tonumber(stats.min) == latency.min and tonumber(stats.max) == latency.max,
         "wrk stats layout differs from wrk 4.1's")

  local interval = histogram.correction_interval(summary.duration, summary.requests, connections)
  local measured, corrected
  if summary.requests > 0 and latency.min <= latency.max then
    local lo, hi = tonumber(stats.min), tonumber(stats.max)
    measured = histogram.summary(stats.data, lo, hi, interval, PERCENTILES)
    if tonumber(stats.count) ~= measured.count then
      -- wrk's figures as wrk reports them (coordinated-omission corrected), kept apart.
      corrected = histogram.summary(stats.data, lo, hi, nil, PERCENTILES)
      corrected.count = tonumber(stats.count)
    end
  end

  local open, established, connecting, lost = sockets(timeout_us / 1000, connections)
  local checked_total, wrong_total = body_counts()
  local body = checked_total == nil and "null"
      or string.format('{"checked":%s,"wrong":%s}', int(checked_total), int(wrong_total))
  local e = summary.errors
  io.write(string.format(
    'BATTLE_WRK {"requests":%s,"bytes":%s,"duration_us":%s,"connections":%s,"threads":%s,' ..
    '"timeout_us":%s,"errors":{"connect":%s,"read":%s,"write":%s,"status":%s,"timeout":%s},' ..
    '"latency_us":%s,"latency_count":%s,"latency_corrected_us":%s,"latency_corrected_count":%s,' ..
    '"correction_interval_us":%s,"body":%s,' ..
    '"sockets":{"open":%s,"established":%s,"connecting":%s,"lost":%s}}\n',
    int(summary.requests), int(summary.bytes), int(summary.duration), int(connections),
    int(#threads), int(timeout_us),
    int(e.connect), int(e.read), int(e.write), int(e.status), int(e.timeout),
    latency_json(measured), int(measured and measured.count or 0), latency_json(corrected),
    int(corrected and corrected.count), int(interval), body,
    int(open), int(established), int(connecting), int(lost)))
end
