-- Mixed load for the soak test: reads of single control planes, lists, /users/me, creates,
-- updates and deletes (of what this run created, so the database keeps a steady size).
-- Reads TOKEN, IDS_FILE (one control plane id a line) and LEFTOVER_FILE from the environment.
--
-- soak.py runs wrk once per window. The ids created and not yet deleted when a window ends
-- are written to LEFTOVER_FILE by done() and shared out among the next window's threads;
-- without that each window would leave its undeleted creates behind and the database would
-- grow all through the soak.
local token = os.getenv("TOKEN")
local leftover_file = os.getenv("LEFTOVER_FILE")
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local counter = 0
-- Ids this thread created (or inherited) and has not deleted yet; a global, because done()
-- reads it through thread:get, which sees only globals.
created = {}
local thread_tag = tostring(math.random(1, 1e9))
local thread_index = 0
local thread_count = tonumber(os.getenv("THREADS") or "1")  -- wrk's -t, passed on by soak.py

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_tag", tostring(math.random(1, 1e9)))
  thread:set("thread_index", #threads - 1)
end

function init(args)
  math.randomseed(os.time() + tonumber(thread_tag))
  local file = leftover_file and io.open(leftover_file, "r")
  if file then
    local n = 0
    for line in file:lines() do
      -- Threads are numbered 0, 1, ...; each takes every thread_count-th line.
      if line ~= "" and n % thread_count == thread_index then
        created[#created + 1] = line
      end
      n = n + 1
    end
    file:close()
  end
end

local auth = { ["Authorization"] = "Bearer " .. token }
local json = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local r = math.random()
  if r < 0.55 then
    return wrk.format("GET", "/v2/control-planes/" .. ids[math.random(#ids)], auth)
  elseif r < 0.70 then
    return wrk.format("GET", "/v2/control-planes?page[size]=20&sort=created_at%20desc", auth)
  elseif r < 0.80 then
    return wrk.format("GET", "/v3/users/me", auth)
  elseif r < 0.84 then
    local body = string.format('{"name":"soak-%s-%d","labels":{"soak":"yes"}}', thread_tag, counter)
    return wrk.format("POST", "/v2/control-planes", json, body)
  elseif r < 0.89 and #created > 0 then
    return wrk.format("DELETE", "/v2/control-planes/" .. table.remove(created, 1), auth)
  elseif r < 0.96 then
    local body = string.format('{"description":"soak %d"}', counter)
    return wrk.format("PATCH", "/v2/control-planes/" .. ids[math.random(#ids)], json, body)
  else
    return wrk.format("GET", "/v2/control-planes?filter[name][contains]=seed-1", auth)
  end
end

function done(summary, latency, requests)
  if not leftover_file then return end
  local file = assert(io.open(leftover_file, "w"))
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("created") or {}) do file:write(id, "\n") end
  end
  file:close()
end

function response(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"id":"([0-9a-f%-]+)"')
    if id then created[#created + 1] = id end
  end
end
