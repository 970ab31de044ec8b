-- spike.lua: spike test: a quiet baseline, a sudden surge of traffic, then back, to see
-- whether the system survives the surge and how fast it recovers afterwards.
local http = require "stampede.http"
local check = stampede.check
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

options = {
  scenarios = {
    spike = {
      executor = "ramping-arrival-rate", startRate = 20, timeUnit = "1s",
      preAllocatedVUs = 50, maxVUs = 500,
      stages = {
        { duration = d(60), target = 20 },   -- baseline
        { duration = d(10), target = 400 },  -- the spike
        { duration = d(60), target = 400 },  -- hold it
        { duration = d(10), target = 20 },   -- back to the baseline
        { duration = d(120), target = 20 },  -- recovery
      },
    },
  },
  thresholds = { http_req_failed = { "rate<0.05" }, http_req_duration = { "p(99)<2000" } },
}

function default()
  local res = http.get(BASE .. "/api/products/" .. math.random(1, 10000),
    { tags = { name = "GET /api/products/{id}" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
end
