-- wrk script: GET a path with a well-formed but unknown personal access token (401).
--
-- Every request carries a different token ("kpat_" + 49 base62 characters, the real format),
-- so the server cannot answer from a cache: each one costs a hash and a database look-up,
-- which is what a token-guessing client costs it.
--
-- Environment:
--   BENCH_PATH  request target (default /v2/control-planes)

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local path
local prefix
local counter = 0

function init(args)
  local t = tonumber(tid) or 1
  path = os.getenv("BENCH_PATH") or "/v2/control-planes"
  math.randomseed(os.time() * 100 + t)
  local chars = {}
  for i = 1, 30 do
    local k = math.random(1, #alphabet)
    chars[i] = string.sub(alphabet, k, k)
  end
  prefix = "kpat_" .. table.concat(chars)  -- 30 random characters, then a 19-digit counter
end

function request()
  counter = counter + 1
  local token = prefix .. string.format("%019d", counter)
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
