-- wrk script: PUT a fixed number of gateway configuration entities of ONE kind, as decK does
-- (`PUT …/core-entities/{collection}/{id}` with a client-side id and the full body; key-auth
-- credentials under their consumer), split between wrk's threads; each thread stops once every
-- entity of its share has had a 2xx answer.
--
--   wrk -t2 -c10 -d300s -s bench/lua/config_put.lua http://127.0.0.1:PORT \
--       -- KIND COUNT CONTROL_PLANE_ID TOKEN [THREADS [START]]
--
-- KIND     services | routes | consumers | key-auths | plugins
-- COUNT    how many entities (indexes START … START+COUNT-1)
-- THREADS  wrk's -t (default 2): thread t takes the indexes i with (i - START) % THREADS == t - 1
-- START    first index (default 0)
--
-- Ids are deterministic, "<kind prefix>-0000-4000-8000-<index, 12 digits>", so that route i
-- references service i, key-auth i consumer i, plugin i service i (bench/config_suite.py loads
-- the kinds in dependency order). Every body carries the tag "openkonnect-bench".
--
-- Each 2xx answer's body starts with the entity's id; a thread counts the distinct ids answered
-- 2xx. Once every index of its share has been sent, a thread re-sends (idempotent re-PUTs of the
-- same body) the indexes not yet confirmed: the requests still in flight, and any that failed,
-- so a transient error is retried; after its share + 1000 re-sends it gives up (gave_up=1). When its
-- share is confirmed (or it gives up), the thread writes "config_put: thread N finished" to
-- stderr and stops. wrk's main thread sleeps for -d whatever its threads do, so the driver sends
-- wrk SIGINT once every thread has finished (wrk then prints its summary and calls done()); -d
-- is only the bound.
--
-- done() prints one line that bench/config_suite.py parses:
--   CONFIG_PUT ok=N non2xx=N statuses=409:3,500:1 resent=N gave_up=N requests=N elapsed_s=S
-- ok: distinct entities answered 2xx; non2xx: non-2xx answers (wrk's own "Non-2xx or 3xx"
-- counts only >= 400); resent: re-PUTs handed to wrk (it may stop before sending the last
-- few); elapsed_s: from the first request sent by any thread to
-- the last 2xx needed (CLOCK_MONOTONIC through LuaJIT's ffi); then, if any, a line
--   CONFIG_PUT_ERROR <status> <first 300 bytes of the first non-2xx body>

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } ok_timespec;
  int clock_gettime(int clk_id, ok_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("ok_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local PREFIX = {
  services = "10000000", routes = "20000000", consumers = "30000000", ["key-auths"] = "40000000",
  plugins = "50000000",
}
local TAGS = '"tags":["openkonnect-bench"]'

local function id_of(prefix, i)
  return string.format("%s-0000-4000-8000-%012d", prefix, i)
end

-- (path, body) of entity i of a kind.
local BUILD = {
  services = function(i)
    local id = id_of(PREFIX.services, i)
    return "services/" .. id, string.format(
      '{"id":"%s","name":"svc-%06d","protocol":"http","host":"svc-%06d.bench.internal","port":80,"path":"/",' ..
      '"retries":5,"connect_timeout":60000,"write_timeout":60000,"read_timeout":60000,"enabled":true,%s}',
      id, i, i, TAGS)
  end,
  routes = function(i)
    local id = id_of(PREFIX.routes, i)
    return "routes/" .. id, string.format(
      '{"id":"%s","name":"route-%06d","protocols":["http","https"],"paths":["/svc-%06d"],"strip_path":true,' ..
      '"preserve_host":false,"service":{"id":"%s"},%s}',
      id, i, i, id_of(PREFIX.services, i), TAGS)
  end,
  consumers = function(i)
    local id = id_of(PREFIX.consumers, i)
    return "consumers/" .. id, string.format(
      '{"id":"%s","username":"consumer-%06d","custom_id":"cid-%06d",%s}', id, i, i, TAGS)
  end,
  ["key-auths"] = function(i)
    local id = id_of(PREFIX["key-auths"], i)
    local consumer = id_of(PREFIX.consumers, i)
    return "consumers/" .. consumer .. "/key-auth/" .. id, string.format(
      '{"id":"%s","key":"bench-key-%06d-k8Jq2vXz","consumer":{"id":"%s"},%s}', id, i, consumer, TAGS)
  end,
  plugins = function(i)
    local id = id_of(PREFIX.plugins, i)
    return "plugins/" .. id, string.format(
      '{"id":"%s","name":"rate-limiting","service":{"id":"%s"},"config":{"minute":100},' ..
      '"protocols":["grpc","grpcs","http","https"],"enabled":true,%s}',
      id, id_of(PREFIX.services, i), TAGS)
  end,
}

-- Main state: the threads, to read their counters in done().
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

-- Per-thread state (each wrk thread has its own Lua state).
local kind, build, base, headers
local share = {}      -- the indexes of this thread, in order
local confirmed = {}  -- index -> true once answered 2xx
local next_pos = 1    -- next position in `share` for the first pass
local retry = {}      -- the unconfirmed indexes of the current re-send cycle
local retry_pos = 1
ok = 0
non2xx = 0
resent = 0
gave_up = 0
statuses = {}
first_error = ""
t_first = 0
t_last = 0
finished = false

function init(args)
  kind = assert(args[1], "usage: -- KIND COUNT CONTROL_PLANE_ID TOKEN [THREADS [START]]")
  build = assert(BUILD[kind], "unknown kind " .. tostring(kind))
  local count = assert(tonumber(args[2]), "COUNT")
  local cp = assert(args[3], "CONTROL_PLANE_ID")
  local token = assert(args[4], "TOKEN")
  local nthreads = tonumber(args[5]) or 2
  local start = tonumber(args[6]) or 0
  local t = tonumber(tid) or 1
  for i = start + t - 1, start + count - 1, nthreads do
    share[#share + 1] = i
  end
  assert(#share > 0, "thread " .. t .. " has nothing to do: COUNT < THREADS?")
  base = "/v2/control-planes/" .. cp .. "/core-entities/"
  headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

local function put(i)
  local path, body = build(i)
  return wrk.format("PUT", base .. path, headers, body)
end

local function finish()
  if finished then return end
  finished = true
  io.stderr:write(string.format("config_put: thread %d finished\n", tonumber(tid) or 1))
  wrk.thread:stop()
end

function request()
  if t_first == 0 then t_first = now() end
  if next_pos <= #share then
    local i = share[next_pos]
    next_pos = next_pos + 1
    return put(i)
  end
  -- Re-send what is not confirmed yet (in flight, or failed), cycling.
  while true do
    if retry_pos > #retry then
      retry = {}
      retry_pos = 1
      for _, i in ipairs(share) do
        if not confirmed[i] then retry[#retry + 1] = i end
      end
      if #retry == 0 then retry[1] = share[#share] end -- all confirmed: the thread is stopping
    end
    local i = retry[retry_pos]
    retry_pos = retry_pos + 1
    if not confirmed[i] or #retry == 1 then
      resent = resent + 1
      if resent > #share + 1000 then
        gave_up = 1
        finish()
      end
      return put(i)
    end
  end
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    local id = string.match(body, '^{"id":"[%x]+%-0000%-4000%-8000%-(%d+)"')
    local i = id and tonumber(id)
    if i and not confirmed[i] then
      confirmed[i] = true
      ok = ok + 1
      if ok == #share then
        t_last = now()
        finish()
      end
    end
  else
    non2xx = non2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
    if first_error == "" then first_error = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local total_ok, total_non2xx, total_resent, total_gave_up = 0, 0, 0, 0
  local t0, t1 = nil, nil
  local merged = {}
  local err = ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
    total_resent = total_resent + (thread:get("resent") or 0)
    total_gave_up = total_gave_up + (thread:get("gave_up") or 0)
    local a, b = thread:get("t_first") or 0, thread:get("t_last") or 0
    if a > 0 and (t0 == nil or a < t0) then t0 = a end
    if b == 0 then t1 = -1 elseif t1 ~= -1 and (t1 == nil or b > t1) then t1 = b end
    local st = thread:get("statuses") or {}
    for k, v in pairs(st) do merged[k] = (merged[k] or 0) + v end
    local e = thread:get("first_error") or ""
    if err == "" then err = e end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = k .. ":" .. v end
  table.sort(parts)
  local elapsed = "nan"
  if t0 and t1 and t1 > 0 then elapsed = string.format("%.3f", t1 - t0) end
  io.write(string.format("CONFIG_PUT ok=%d non2xx=%d statuses=%s resent=%d gave_up=%d requests=%d elapsed_s=%s\n",
    total_ok, total_non2xx, #parts > 0 and table.concat(parts, ",") or "-", total_resent, total_gave_up,
    summary.requests, elapsed))
  if err ~= "" then
    io.write("CONFIG_PUT_ERROR " .. string.gsub(err, "\n", " ") .. "\n")
  end
  io.flush()
end
