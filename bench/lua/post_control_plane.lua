-- wrk script: POST /v2/control-planes with a unique name per request (durable 201s).
--
-- Environment:
--   BENCH_TOKEN  bearer token allowed to create control planes (an organization admin's PAT)
--   BENCH_NONCE  text that makes names unique across runs on the same database (warm-up, run)
--
-- Names are "<nonce>-<thread>-<counter>"; the body has the shape and size of the rows that the
-- raw SQLite insert baseline writes (bench/sqlite_baseline.py): a description and two labels.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local headers
local nonce
local counter = 0
local t = 1

function init(args)
  t = tonumber(tid) or 1
  nonce = os.getenv("BENCH_NONCE") or "bench"
  headers = {
    ["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set"),
    ["Content-Type"] = "application/json",
  }
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"%s-%d-%08d","description":"created by the openkonnect benchmark",' ..
    '"cluster_type":"CLUSTER_TYPE_CONTROL_PLANE","labels":{"env":"bench","team":"team-%02d"}}',
    nonce, t, counter, counter % 16)
  return wrk.format("POST", "/v2/control-planes", headers, body)
end
