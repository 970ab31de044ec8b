-- http2.lua: a page load over HTTP/2. Each VU fetches a product list and, at once, the
-- details of five products with http.batch: over HTTP/2 the five are concurrent streams of
-- the VU's one connection (over HTTP/1.1 they would take five connections).
--
--   stampede serve-demo --http2 --tls --port 8443 --write-ca ca.pem &
--   stampede run examples/http2.lua --cacert ca.pem -e BASE_URL=https://localhost:8443
--
-- On https:// a script offers HTTP/2 by ALPN (as k6); on plain http:// add
-- --http2-prior-knowledge (h2c). The `proto` tag of every sample says which was used; the
-- threshold below fails the run if any request went over HTTP/1.1.
local http = require "stampede.http"
local check, sleep = stampede.check, stampede.sleep
local BASE = stampede.env.BASE_URL or "https://localhost:8443"
local S = tonumber(stampede.env.TIME_SCALE or "1")

options = {
  scenarios = {
    page = { executor = "constant-vus", vus = 10, duration = string.format("%gs", 30 * S) },
  },
  thresholds = {
    ["http_req_duration{proto:HTTP/2.0}"] = { "p(95)<300" },
    ["http_reqs{proto:HTTP/1.1}"] = { "count==0" },
    checks = { "rate==1" },
  },
}

function default()
  local list = http.get(BASE .. "/api/products?page=1&limit=5", { tags = { name = "list" } })
  check(list, { ["list is HTTP/2"] = function(r) return r.proto == "HTTP/2.0" end })
  local batch = {}
  for id = 1, 5 do
    batch[#batch + 1] = { "GET", BASE .. "/api/products/" .. id,
                          nil, { tags = { name = "product" } } }
  end
  for _, res in ipairs(http.batch(batch)) do
    check(res, { ["product answers 200"] = function(r) return r.status == 200 end })
  end
  sleep(0.5 * S)
end
