-- spike.lua: spike test: a quiet baseline, a sudden surge of traffic, then back, to see
-- whether the system survives the surge and how fast it recovers afterwards.
local http = require "stampede.http"
local check = stampede.check
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

-- a spike test: 20 requests/s for a minute, 20x that at once for 70 s, then back to 20/s
-- for 2 minutes of observation (stampede.preset); the verdict gives the recovery time
options = {
  scenarios = {
    spike = stampede.preset{ type = "spike", rate = 20, peak = 20, warmup = d(60),
                             hold = d(70), observe = d(120) },
  },
  thresholds = stampede.slo("p99<2000ms,errors<5%"),
}

function default()
  local res = http.get(BASE .. "/api/products/" .. math.random(1, 10000),
    { tags = { name = "GET /api/products/{id}" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
end
