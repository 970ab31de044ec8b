-- wrk_check.lua: wrk's side of the scripted benchmark: each request is built in Lua and each
-- response's status is checked in Lua, as stampede_check.lua does with http.get + check.
local failed = 0
request = function()
  return wrk.format("GET", "/")
end
response = function(status, headers, body)
  if status ~= 200 then failed = failed + 1 end
end
