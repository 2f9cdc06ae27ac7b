-- Prints one JSON line when wrk finishes, for the suite to parse (suite/loadgen.py).
-- No request()/response() hooks on purpose: defining them moves every request through Lua
-- and makes wrk itself slower. wrk's Lua has no JSON library, so the line is built by hand.

local function int(x)
  return string.format("%.0f", x)
end

local function num(x)
  if x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  return string.format("%.1f", x)
end

done = function(summary, latency, requests)
  local e = summary.errors
  local lat
  -- An empty histogram reports min = 2^64-1 > max = 0: no latency figures, not zeros.
  if summary.requests == 0 or latency.min > latency.max then
    lat = '{"min":null,"mean":null,"stdev":null,"max":null,"p50":null,"p75":null,' ..
          '"p90":null,"p99":null,"p99.9":null}'
  else
    lat = string.format(
      '{"min":%s,"mean":%s,"stdev":%s,"max":%s,"p50":%s,"p75":%s,"p90":%s,"p99":%s,"p99.9":%s}',
      int(latency.min), num(latency.mean), num(latency.stdev), int(latency.max),
      int(latency:percentile(50)), int(latency:percentile(75)), int(latency:percentile(90)),
      int(latency:percentile(99)), int(latency:percentile(99.9)))
  end
  io.write(string.format(
    'BATTLE_WRK {"requests":%s,"bytes":%s,"duration_us":%s,' ..
    '"errors":{"connect":%s,"read":%s,"write":%s,"status":%s,"timeout":%s},"latency_us":%s}\n',
    int(summary.requests), int(summary.bytes), int(summary.duration),
    int(e.connect), int(e.read), int(e.write), int(e.status), int(e.timeout), lat))
end
