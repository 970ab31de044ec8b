-- load.lua: load test: the expected traffic (here an arrival rate of 100 iterations/s),
-- ramped up, held, and ramped down, judged against the SLOs.
local http = require "stampede.http"
local check = stampede.check
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

-- a load test at the expected 100 requests/s: ramp up over 2 minutes, hold 10 minutes,
-- ramp down over 1 (stampede.preset); the verdict judges the SLOs over the hold
local thresholds = stampede.slo("p95<200ms,p99<500ms,errors<1%")
thresholds["http_req_duration{name:GET /api/products/{id}}"] = { "p(95)<150" }
options = {
  scenarios = {
    load = stampede.preset{ type = "load", rate = 100, ramp = d(120), hold = d(600),
                            rampDown = d(60) },
  },
  thresholds = thresholds,
}

function default()
  local res = http.get(BASE .. "/api/products/" .. math.random(1, 10000),
    { tags = { name = "GET /api/products/{id}" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
end
