-- load.lua: load test: the expected traffic (here an arrival rate of 100 iterations/s),
-- ramped up, held, and ramped down, judged against the SLOs.
local http = require "stampede.http"
local check = stampede.check
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

options = {
  scenarios = {
    load = {
      executor = "ramping-arrival-rate", startRate = 0, timeUnit = "1s",
      preAllocatedVUs = 50, maxVUs = 200,
      stages = {
        { duration = d(120), target = 100 }, -- ramp up to the expected rate
        { duration = d(600), target = 100 }, -- hold it
        { duration = d(60), target = 0 },    -- ramp down
      },
    },
  },
  thresholds = {
    http_req_duration = { "p(95)<200", "p(99)<500" },
    http_req_failed = { "rate<0.01" },
    ["http_req_duration{name:GET /api/products/{id}}"] = { "p(95)<150" },
  },
}

function default()
  local res = http.get(BASE .. "/api/products/" .. math.random(1, 10000),
    { tags = { name = "GET /api/products/{id}" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
end
