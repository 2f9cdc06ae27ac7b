-- wrk's latency histogram as it was measured, before wrk 4.1 rewrote it.
--
-- wrk keeps one count per microsecond (src/stats.c: data[v] = responses that took v µs, v up to
-- the --timeout). After the run and before the Lua done() is called it "corrects" the
-- histogram for coordinated omission (stats_correct, called from src/wrk.c with
-- interval = runtime_us / (requests / connections), integer division): for every recorded
-- latency n >= 2*interval it adds the same count at n-interval, n-2*interval, ... while that
-- value stays above the interval. There is no switch to turn this off, and every figure wrk
-- offers done() (mean, stdev, percentile(), #latency) describes the rewritten histogram.
--
-- The rewrite is exact and can be undone exactly. Writing c for the rewritten counts and o for
-- the measured ones, and e for the interval: c[v] = o[v] + o[v+e] + o[v+2e] + ... for v > e,
-- and c[v] = o[v] otherwise. So c[v] - c[v+e] = o[v] for v > e: one subtraction per bucket,
-- no state. Synthetic counts can also land below wrk's recorded minimum; the recorded min and
-- max are untouched by the rewrite, so scanning [min, max] sees only measured values.
--
-- Loaded by report.lua (wrk) and by tests/wrk/test_histogram.lua (run under the same wrk).

local ffi = require("ffi")

local M = {}

local u64 = ffi.typeof("uint64_t")

-- The interval wrk 4.1 corrected with, in µs, or nil when it made no correction
-- (fewer responses than connections). Integer arithmetic, as in src/wrk.c.
function M.correction_interval(runtime_us, responses, connections)
  local per_connection = u64(responses) / u64(connections)
  if per_connection == 0 then
    return nil
  end
  return tonumber(u64(runtime_us) / per_connection)
end

-- The measured count at value v, given the rewritten counts `data` (0-based, indexable: wrk's
-- uint64_t array or any table) and the recorded maximum `hi`.
function M.measured_at(data, v, hi, interval)
  local n = tonumber(data[v])
  if interval and v > interval and v + interval <= hi then
    n = n - tonumber(data[v + interval])
  end
  return n
end

-- Summary of the measured samples between the recorded min `lo` and max `hi`:
-- count, min, max, mean, stdev (sample), and nearest-rank percentiles (the smallest value with
-- at least ceil(p/100 * count) samples at or below it), for each p in `percentiles`.
function M.summary(data, lo, hi, interval, percentiles)
  local at = M.measured_at
  local count, sum, min, max = 0, 0, nil, nil
  for v = lo, hi do
    local n = at(data, v, hi, interval)
    if n ~= 0 then
      count = count + n
      sum = sum + n * v
      min = min or v
      max = v
    end
  end
  local result = { count = count, min = min, max = max, percentiles = {} }
  if count == 0 then
    return result
  end
  local mean = sum / count
  local ranks, next_rank = {}, 1
  for i, p in ipairs(percentiles) do
    ranks[i] = math.max(1, math.ceil(p / 100 * count - 1e-9))
  end
  local squares, seen = 0, 0
  for v = min, max do
    local n = at(data, v, hi, interval)
    if n ~= 0 then
      squares = squares + n * (v - mean) ^ 2
      seen = seen + n
      while ranks[next_rank] and seen >= ranks[next_rank] do
        result.percentiles[next_rank] = v
        next_rank = next_rank + 1
      end
    end
  end
  result.mean = mean
  result.stdev = count > 1 and math.sqrt(squares / (count - 1)) or 0
  return result
end

return M
