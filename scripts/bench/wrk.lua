-- wrk script for scripts/bench/compare.sh. Environment:
--   BENCH_MODE  create | check | pi
--   BENCH_KEY   mOTP publishable key (create, check)
--   BENCH_IDS   check: file of "id wrong_code" lines (verifications made beforehand)
--   BENCH_OUT   file the summary line is written to
-- A response counts as an error unless it is the expected one:
--   create 201; check 422 (wrong code, attempts left); pi 200 with "value": false.
-- Transport errors and timeouts (wrk's own counters) are added by compare.sh.

local mode = os.getenv("BENCH_MODE") or "create"
local key = os.getenv("BENCH_KEY") or ""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local ids = {}
local n = 0
local seq = 0
ok_count = 0
bad_count = 0
bad_sample = ""

function init(args)
  if mode == "check" then
    for line in io.lines(os.getenv("BENCH_IDS")) do
      local id, code = line:match("^(%S+)%s+(%S+)$")
      if id then table.insert(ids, { id, code }) end
    end
    -- each thread starts at a different place in the list
    seq = (tid - 1) * math.floor(#ids / 2)
  end
  n = #ids
end

local json_headers = nil

function request()
  seq = seq + 1
  if mode == "create" then
    -- distinct valid UK mobile numbers per thread: +44 7400 tNNNNN
    local num = string.format("+447400%d%05d", tid % 10, seq % 100000)
    return wrk.format("POST", "/v1/verifications", {
      ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/json",
    }, '{"phone_number":"' .. num .. '"}')
  elseif mode == "check" then
    local e = ids[(seq % n) + 1]
    return wrk.format("POST", "/v1/verifications/" .. e[1] .. "/check", {
      ["Authorization"] = "Bearer " .. key,
      ["Content-Type"] = "application/json",
    }, '{"code":"' .. e[2] .. '"}')
  else
    return wrk.format("GET", "/validate/check?serial=BENCH1&pass=000000")
  end
end

function response(status, headers, body)
  local good
  if mode == "create" then
    good = status == 201
  elseif mode == "check" then
    good = status == 422
  else
    good = status == 200 and body ~= nil and body:find('"value": false', 1, true) ~= nil
  end
  if good then
    ok_count = ok_count + 1
  else
    bad_count = bad_count + 1
    if bad_sample == "" then bad_sample = tostring(status) .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local ok, bad, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + (t:get("ok_count") or 0)
    bad = bad + (t:get("bad_count") or 0)
    local s = t:get("bad_sample") or ""
    if sample == "" then sample = s end
  end
  local e = summary.errors
  local transport = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local line = string.format("rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d ok=%d bad=%d transport=%d",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, ok, bad, transport)
  io.write("BENCH " .. line .. "\n")
  if sample ~= "" then io.write("BENCH-SAMPLE " .. sample:gsub("\n", " ") .. "\n") end
  local out = os.getenv("BENCH_OUT")
  if out then
    local f = io.open(out, "w")
    f:write(line .. "\n")
    f:close()
  end
end
