-- stampede_check.lua: stampede's side of the scripted benchmark: one http.get and one check
-- per iteration (compared with wrk running wrk_check.lua).
local http = require "stampede.http"
local check = stampede.check
local URL = stampede.env.BASE_URL .. "/"

function default()
  local res = http.get(URL)
  check(res, { ["status is 200"] = function(r) return r.status == 200 end })
end
