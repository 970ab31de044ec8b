-- smoke.lua: smoke test: a couple of VUs for a short while, to prove the system works at
-- all before loading it. Strict thresholds: nothing should fail.
local http = require "stampede.http"
local check, sleep = stampede.check, stampede.sleep
local BASE = stampede.env.BASE_URL or "http://127.0.0.1:8080"
local S = tonumber(stampede.env.TIME_SCALE or "1")

-- a smoke test: 2 VUs for a minute (stampede.preset, docs/scripting.md), no error allowed
local thresholds = stampede.slo("p95<300ms,errors==0")
thresholds.checks = { "rate==1" }
options = {
  scenarios = { smoke = stampede.preset{ type = "smoke", vus = 2,
                                         duration = string.format("%gs", 60 * S) } },
  thresholds = thresholds,
}

function default()
  for _, path in ipairs({ "/health", "/api/products?page=1&limit=5", "/api/products/1" }) do
    local res = http.get(BASE .. path)
    check(res, { [path .. " answers 200"] = function(r) return r.status == 200 end })
  end
  sleep(1 * S)
end
