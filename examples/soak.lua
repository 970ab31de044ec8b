-- soak.lua: soak (endurance) test: a moderate, steady load for hours, to surface leaks,
-- slow resource exhaustion and degradation that short tests cannot show.
local http = require "stampede.http"
local json = require "stampede.json"
local check, sleep = stampede.check, stampede.sleep
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

-- a soak test: 50 VUs for four hours after a 5-minute ramp (stampede.preset); the verdict
-- tests p95, error rate and throughput for a drift over the hold
options = {
  scenarios = {
    soak = stampede.preset{ type = "soak", vus = 50, ramp = d(300), hold = d(14400),
                            rampDown = d(300) },
  },
  thresholds = stampede.slo("p95<300ms,errors<1%"),
}

function setup()
  local res = http.post(BASE .. "/api/auth/login",
    json.encode({ email = "user1@test.com", password = "testpassword" }),
    { headers = { ["Content-Type"] = "application/json" } })
  return { token = res:json().token }
end

function default(data)
  local res = http.get(BASE .. "/api/users/" .. math.random(1, 1000) .. "/orders",
    { headers = { Authorization = "Bearer " .. data.token },
      tags = { name = "GET /api/users/{id}/orders" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
  sleep(1 * S)
end
