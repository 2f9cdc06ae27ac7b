-- Run by tests/test_wrk_lua.py as `wrk -s THIS URL`: the checks run while wrk loads the script,
-- in wrk's own LuaJIT, and exit before wrk connects anywhere. Prints "ok N" or the failures.
--
-- The oracle is wrk 4.1's stats_correct (src/stats.c), transcribed below. Each case draws a
-- histogram, corrects a copy the way wrk does, and checks that histogram.lua recovers the drawn
-- one exactly: every bucket, the count, min, max, mean and each percentile.

local ffi = require("ffi")
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local histogram = dofile(here .. "../../suite/measure/wrk/histogram.lua")

local function stats_correct(data, max, expected)
  for n = expected * 2, max do
    local count = data[n]
    local m = n - expected
    while count ~= 0 and m > expected do
      data[m] = data[m] + count
      m = m - expected
    end
  end
end

local failures = {}
local function check(ok, message)
  if not ok then
    failures[#failures + 1] = message
  end
end

local PERCENTILES = { 50, 90, 99, 99.9 }

-- latency draws: a body around `base` µs and a tail up to `tail` µs
local function draw(limit, samples, base, tail)
  local data = ffi.new("uint64_t[?]", limit)
  local lo, hi = limit, 0
  for _ = 1, samples do
    local v
    if math.random() < 0.9 then
      v = base + math.floor(math.random() * base)
    else
      v = base + math.floor(math.random() ^ 3 * tail)
    end
    v = math.min(v, limit - 1)
    data[v] = data[v] + 1
    lo, hi = math.min(lo, v), math.max(hi, v)
  end
  return data, lo, hi
end

local cases = {
  -- limit, samples, base, tail, interval
  { 200000, 20000, 200, 150000, 450 },    -- long tail: many synthetic samples
  { 200000, 20000, 200, 150000, 37 },     -- tiny interval: synthetic samples everywhere
  { 200000, 5000, 3000, 100000, 1000 },   -- every sample >= 3e: synthetic ones below the min
  { 200000, 5000, 300, 500, 100000 },     -- max < 2e: wrk changes nothing
  { 1000, 10, 10, 900, 3 },               -- few samples, small range
}

math.randomseed(20261123)
for index, case in ipairs(cases) do
  local limit, samples, base, tail, interval = unpack(case)
  local original, lo, hi = draw(limit, samples, base, tail)
  local corrected = ffi.new("uint64_t[?]", limit)
  ffi.copy(corrected, original, ffi.sizeof("uint64_t") * limit)
  stats_correct(corrected, hi, interval)

  local mismatched = 0
  for v = lo, hi do
    if histogram.measured_at(corrected, v, hi, interval) ~= tonumber(original[v]) then
      mismatched = mismatched + 1
    end
  end
  check(mismatched == 0, ("case %d: %d buckets differ"):format(index, mismatched))

  local want = histogram.summary(original, lo, hi, nil, PERCENTILES)
  local got = histogram.summary(corrected, lo, hi, interval, PERCENTILES)
  check(want.count == samples, ("case %d: drawn count %d"):format(index, want.count))
  for _, key in ipairs({ "count", "min", "max" }) do
    check(got[key] == want[key], ("case %d: %s %s ~= %s"):format(index, key, tostring(got[key]),
                                                                tostring(want[key])))
  end
  check(math.abs(got.mean - want.mean) < 1e-9 and math.abs(got.stdev - want.stdev) < 1e-9,
        ("case %d: mean/stdev differ"):format(index))
  for i, p in ipairs(PERCENTILES) do
    check(got.percentiles[i] == want.percentiles[i],
          ("case %d: p%s %s ~= %s"):format(index, p, tostring(got.percentiles[i]),
                                          tostring(want.percentiles[i])))
  end
  -- The correction must have done something where expected, or the case proves nothing.
  local added = 0
  for v = 0, hi do
    added = added + tonumber(corrected[v] - original[v])
  end
  check((added > 0) == (2 * interval <= hi), ("case %d: %d synthetic samples"):format(index, added))
end

-- The interval wrk computes (src/wrk.c): runtime_us / (responses / connections), integers.
check(histogram.correction_interval(3007993, 64688, 10) == 465, "interval 3007993/6468")
check(histogram.correction_interval(5000000, 4999, 5000) == nil, "no correction below 1/conn")
check(histogram.correction_interval(5000000, 10000, 5000) == 2500000, "interval 5e6/2")

-- Nearest-rank percentiles on a known histogram: values 1..100 once each.
local hundred = ffi.new("uint64_t[?]", 101)
for v = 1, 100 do
  hundred[v] = 1
end
local s = histogram.summary(hundred, 1, 100, nil, { 50, 99, 99.9, 100 })
check(s.percentiles[1] == 50 and s.percentiles[2] == 99 and s.percentiles[3] == 100
      and s.percentiles[4] == 100, "nearest rank on 1..100")
check(s.mean == 50.5, "mean of 1..100")

if #failures == 0 then
  print("ok " .. #cases)
  os.exit(0)
end
for _, failure in ipairs(failures) do
  print("FAIL " .. failure)
end
os.exit(1)
