-- basic_ramp.lua: the classic k6 load test: ramp to 20 VUs, hold, ramp down, with SLOs.
--   stampede run examples/basic_ramp.lua -e BASE_URL=http://127.0.0.1:8080
local http = require "stampede.http"
local check, sleep = stampede.check, stampede.sleep

local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1") -- shorten every stage (tests use 0.05)
local function d(seconds) return string.format("%gs", seconds * S) end

options = {
  stages = {
    { duration = d(30), target = 20 }, -- ramp up
    { duration = d(60), target = 20 }, -- stay at 20 users
    { duration = d(30), target = 0 },  -- ramp down
  },
  thresholds = {
    http_req_duration = { "p(95)<500" }, -- 95% of requests under 500 ms
    http_req_failed = { "rate<0.01" },   -- fewer than 1% errors
  },
}

function default()
  local res = http.get(BASE .. "/api/products", { tags = { name = "GET /api/products" } })
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
  sleep(1 * S)
end
