-- stress.lua: stress test: step the VUs well past normal load to see how the system
-- degrades and where latency and errors start to climb.
local http = require "stampede.http"
local check, sleep = stampede.check, stampede.sleep
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

-- a stress test: 100 VUs (normal load), then 200 (around the breaking point) and 300
-- (beyond it), each reached over 2 minutes and held 5 (stampede.preset); the steps table
-- shows where latency and errors start to climb
options = {
  scenarios = {
    stress = stampede.preset{ type = "stress", vus = 100, peak = 3, steps = 3, ramp = d(120),
                              stepDuration = d(300), rampDown = d(120) },
  },
  thresholds = stampede.slo("errors<5%"), -- a stress test tolerates more
}

function default()
  local res = http.get(BASE .. "/api/products?page=" .. math.random(1, 50) .. "&limit=20",
    { tags = { name = "GET /api/products" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
  sleep(0.5 * S)
end
