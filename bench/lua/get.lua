-- wrk script: GET one path, optionally with a bearer token and a path id, both rotated.
--
-- Environment:
--   BENCH_PATH         request target; "{id}" is replaced by an id from BENCH_IDS_FILE (default "/")
--   BENCH_TOKENS_FILE  optional file with one bearer token per line, rotated across requests
--   BENCH_IDS_FILE     optional file with one id per line, rotated across requests
--
-- Every request is built once in init() (up to 20 000 distinct ones per thread) so that
-- wrk's own Lua work per request is just a table lookup; each thread starts at another offset.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local function read_lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end

local prepared = {}
local index = 0

function init(args)
  local t = tonumber(tid) or 1
  local path = os.getenv("BENCH_PATH") or "/"
  local tokens = read_lines(os.getenv("BENCH_TOKENS_FILE"))
  local ids = read_lines(os.getenv("BENCH_IDS_FILE"))
  local n = math.min(math.max(#tokens, #ids, 1), 20000)
  for k = 0, n - 1 do
    local headers = {}
    if #tokens > 0 then
      headers["Authorization"] = "Bearer " .. tokens[(k + t * 101) % #tokens + 1]
    end
    local target = path
    if #ids > 0 then
      target = string.gsub(path, "{id}", ids[(k + t * 1237) % #ids + 1], 1)
    end
    prepared[#prepared + 1] = wrk.format("GET", target, headers)
  end
  index = (t * 7919) % #prepared
end

function request()
  index = index % #prepared + 1
  return prepared[index]
end
