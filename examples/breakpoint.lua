-- breakpoint.lua: breakpoint test: raise the arrival rate steadily until the system breaks;
-- abort-on-fail thresholds stop the run at the breaking point (exit code 108).
local http = require "stampede.http"
local check = stampede.check
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

-- a breakpoint test: raise the rate steadily from 0 to MAX_RATE over 20 minutes
-- (stampede.preset: 10x the level); the SLOs abort the run when they fail over the last 10 s
local MAX_RATE = tonumber(stampede.env.MAX_RATE or "5000")
options = {
  scenarios = {
    breakpoint = stampede.preset{ type = "breakpoint", rate = MAX_RATE / 10, peak = 10,
                                  duration = d(1200) },
  },
  thresholds = stampede.slo("p95<500ms,errors<5%",
    { abortOnFail = true, delayAbortEval = d(10),
      window = string.format("%gs", math.max(1, 10 * S)) }),
}

function default()
  local res = http.get(BASE .. "/api/products/" .. math.random(1, 10000),
    { tags = { name = "GET /api/products/{id}" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
end
