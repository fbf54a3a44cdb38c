-- Mixed load for the soak test: reads of single control planes, lists, /users/me, creates,
-- updates and deletes (of what this thread created, so the database keeps a steady size).
-- Reads TOKEN and IDS_FILE (one control plane id a line) from the environment.
local token = os.getenv("TOKEN")
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local counter = 0
local created = {}  -- ids this thread created and has not deleted yet
local thread_tag = tostring(math.random(1, 1e9))

function setup(thread)
  thread:set("thread_tag", tostring(math.random(1, 1e9)))
end

function init(args)
  math.randomseed(os.time() + tonumber(thread_tag))
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
  elseif r < 0.88 and #created > 0 then
    return wrk.format("DELETE", "/v2/control-planes/" .. table.remove(created, 1), auth)
  elseif r < 0.96 then
    local body = string.format('{"description":"soak %d"}', counter)
    return wrk.format("PATCH", "/v2/control-planes/" .. ids[math.random(#ids)], json, body)
  else
    return wrk.format("GET", "/v2/control-planes?filter[name][contains]=seed-1", auth)
  end
end

function response(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"id":"([0-9a-f%-]+)"')
    if id then created[#created + 1] = id end
  end
end
