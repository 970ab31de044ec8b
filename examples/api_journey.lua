-- api_journey.lua: a user journey (log in, list products, create an order) with groups,
-- custom metrics, and a normal-load scenario followed by a spike scenario (k6's classic).
--   stampede run examples/api_journey.lua -e BASE_URL=http://127.0.0.1:8080
local http = require "stampede.http"
local json = require "stampede.json"
local metrics = require "stampede.metrics"
local check, group, sleep = stampede.check, stampede.group, stampede.sleep

local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")
local function d(seconds) return string.format("%gs", seconds * S) end

-- custom metrics
local error_rate = metrics.rate("errors")
local api_duration = metrics.trend("api_duration", true)
local request_count = metrics.counter("requests")

options = {
  scenarios = {
    normal_load = {                          -- scenario 1: normal load
      executor = "ramping-vus", startVUs = 0,
      stages = {
        { duration = d(120), target = 50 },  -- ramp up to 50 VUs
        { duration = d(300), target = 50 },  -- hold
        { duration = d(120), target = 100 }, -- ramp up to 100 VUs
        { duration = d(300), target = 100 }, -- hold
        { duration = d(120), target = 0 },   -- ramp down
      },
    },
    spike_test = {                           -- scenario 2: a spike after the normal load
      executor = "ramping-vus", startVUs = 0, startTime = d(960),
      stages = {
        { duration = d(10), target = 500 },  -- sudden spike
        { duration = d(60), target = 500 },  -- hold
        { duration = d(10), target = 0 },    -- rapid decrease
      },
    },
  },
  thresholds = {
    http_req_duration = { "p(95)<200", "p(99)<500" },
    errors = { "rate<0.01" },
    http_req_failed = { "rate<0.01" },
  },
}

local JSON_HEADERS = { ["Content-Type"] = "application/json" }

local function login()
  local res = http.post(BASE .. "/api/auth/login",
    json.encode({ email = "user" .. stampede.vu.id .. "@test.com", password = "testpassword" }),
    { headers = JSON_HEADERS, tags = { name = "POST /api/auth/login" } })
  return res.status == 200 and res:json().token or ""
end

function default()
  local token = login()
  group("API Operations", function()
    group("List Products", function()
      local res = http.get(BASE .. "/api/products?page=1&limit=20", {
        headers = { Authorization = "Bearer " .. token },
        tags = { name = "GET /api/products" },
      })
      check(res, {
        ["status is 200"] = function(r) return r.status == 200 end,
        ["response time OK"] = function(r) return r.timings.duration < 200 end,
        ["has products"] = function(r) return #r:json().data > 0 end,
      })
      error_rate:add(res.status ~= 200)
      api_duration:add(res.timings.duration)
      request_count:add(1)
    end)

    group("Create Order", function()
      local payload = json.encode({
        productId = math.random(1, 1000),
        quantity = math.random(1, 5),
        shippingAddress = "123 Test Street",
      })
      local res = http.post(BASE .. "/api/orders", payload, {
        headers = { Authorization = "Bearer " .. token, ["Content-Type"] = "application/json" },
        tags = { name = "POST /api/orders" },
      })
      check(res, {
        ["order created"] = function(r) return r.status == 201 end,
        ["has order id"] = function(r) return r:json().data.orderId ~= nil end,
      })
      error_rate:add(res.status ~= 201)
      api_duration:add(res.timings.duration)
    end)
  end)
  sleep((math.random() * 3 + 1) * S)
end
