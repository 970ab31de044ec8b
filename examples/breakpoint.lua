-- breakpoint.lua: breakpoint test: raise the arrival rate steadily until the system breaks;
-- abort-on-fail thresholds stop the run at the breaking point (exit code 108).
local http = require "stampede.http"
local check = stampede.check
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

options = {
  scenarios = {
    breakpoint = {
      executor = "ramping-arrival-rate", startRate = 10, timeUnit = "1s",
      preAllocatedVUs = 50, maxVUs = 1000,
      stages = { { duration = d(1200), target = tonumber(stampede.env.MAX_RATE or "5000") } },
    },
  },
  thresholds = {
    http_req_failed = { { threshold = "rate<0.05", abortOnFail = true, delayAbortEval = d(10) } },
    http_req_duration = { { threshold = "p(95)<500", abortOnFail = true, delayAbortEval = d(10) } },
  },
}

function default()
  local res = http.get(BASE .. "/api/products/" .. math.random(1, 10000),
    { tags = { name = "GET /api/products/{id}" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
end
