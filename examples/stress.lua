-- stress.lua: stress test: step the VUs well past normal load to see how the system
-- degrades and where latency and errors start to climb.
local http = require "stampede.http"
local check, sleep = stampede.check, stampede.sleep
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

options = {
  stages = {
    { duration = d(120), target = 100 }, -- normal load
    { duration = d(300), target = 100 },
    { duration = d(120), target = 200 }, -- around the breaking point
    { duration = d(300), target = 200 },
    { duration = d(120), target = 300 }, -- beyond it
    { duration = d(300), target = 300 },
    { duration = d(120), target = 0 },   -- recovery
  },
  thresholds = { http_req_failed = { "rate<0.05" } }, -- a stress test tolerates more
}

function default()
  local res = http.get(BASE .. "/api/products?page=" .. math.random(1, 50) .. "&limit=20",
    { tags = { name = "GET /api/products" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
  sleep(0.5 * S)
end
