-- locust_tasks.lua: for people coming from Locust: a user class with weighted tasks, an
-- on_start hook and a wait time, as Locust's HttpUser with @task(3)/@task(1) and between().
--   stampede run examples/locust_tasks.lua -e BASE_URL=http://127.0.0.1:8080
local http = require "stampede.http"
local json = require "stampede.json"
local locust = require "stampede.locust"
local check = stampede.check

local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")

options = {
  vus = 10, duration = string.format("%gs", 60 * S),
  thresholds = { http_req_failed = { "rate<0.01" }, checks = { "rate>0.99" } },
}

local tokens = {}

local function browse_products()        -- @task(3)
  local page = math.random(1, 10)
  local res = http.get(BASE .. "/api/products?page=" .. page .. "&limit=20",
    { tags = { name = "GET /api/products" } })
  check(res, { ["products listed"] = function(r) return r.status == 200 end })
end

local function view_product()           -- @task(2)
  local res = http.get(BASE .. "/api/products/" .. math.random(1, 10000),
    { tags = { name = "GET /api/products/{id}" } })
  check(res, { ["product shown"] = function(r) return r.status == 200 end })
end

local function place_order()            -- @task(1)
  local res = http.post(BASE .. "/api/orders",
    json.encode({ productId = math.random(1, 10000), quantity = 1, shippingAddress = "1 Main St" }),
    { headers = { ["Content-Type"] = "application/json",
                  Authorization = "Bearer " .. (tokens[stampede.vu.id] or "") },
      tags = { name = "POST /api/orders" } })
  check(res, { ["order placed"] = function(r) return r.status == 201 end })
end

default = locust.user {
  on_start = function()                 -- like Locust's on_start: log in once per user
    local res = http.post(BASE .. "/api/auth/login",
      json.encode({ email = "user" .. stampede.vu.id .. "@test.com", password = "testpassword" }),
      { headers = { ["Content-Type"] = "application/json" } })
    tokens[stampede.vu.id] = res.status == 200 and res:json().token or nil
  end,
  tasks = {
    { weight = 3, fn = browse_products },
    { weight = 2, fn = view_product },
    { weight = 1, fn = place_order },
  },
  wait = locust.between(1 * S, 3 * S),
}
