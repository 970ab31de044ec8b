-- ws-chat.lua: a chat journey over WebSocket against the demo target's /ws/chat. Each VU
-- joins one of four rooms, says hello, posts a message every 0.5-1 s, reads what the
-- others in its room post (every message is broadcast to the whole room, the sender
-- included), and leaves after five posts with a normal close (1000).
--
--   stampede serve-demo --port 8080 &
--   stampede run examples/ws-chat.lua -e BASE_URL=http://127.0.0.1:8080
--
-- wss:// works the same (serve-demo --tls, BASE_URL=https://..., --cacert or --insecure).
-- Metrics are k6's: ws_sessions, ws_connecting, ws_session_duration, ws_msgs_sent,
-- ws_msgs_received, ws_ping; the thresholds below watch the handshake, the pings and that
-- every post came back through the room.
local ws = require "stampede.ws"
local json = require "stampede.json"
local check = stampede.check
local BASE = (stampede.env.BASE_URL or "http://127.0.0.1:8080"):gsub("^http", "ws")
local S = tonumber(stampede.env.TIME_SCALE or "1")
local POSTS = 5

options = {
  scenarios = {
    chat = { executor = "constant-vus", vus = 20, duration = string.format("%gs", 30 * S) },
  },
  thresholds = {
    ws_connecting = { "p(95)<200" },
    ws_ping = { "p(95)<200" },
    checks = { "rate>0.99" },
  },
}

function default()
  local room = "room" .. (stampede.vu.id % 4)
  local me = "user" .. stampede.vu.id .. "-" .. stampede.vu.iteration
  local posted, mine, others, closed = 0, 0, 0, nil

  local res = ws.connect(BASE .. "/ws/chat?room=" .. room, { tags = { room = room } },
    function(socket)
      socket:on("open", function()
        socket:send(json.encode({ from = me, text = "hello", n = 0 }))
        socket:setInterval(function()
          if posted == POSTS then
            socket:close()
            return
          end
          posted = posted + 1
          socket:send(json.encode({ from = me, text = "message " .. posted, n = posted }))
        end, 500 + math.random(0, 500))
        socket:ping()
      end)
      socket:on("message", function(text)
        local ok, msg = pcall(json.decode, text)
        if not ok or type(msg) ~= "table" then return end
        if msg.from == me then
          mine = mine + 1
        else
          others = others + 1
        end
      end)
      socket:on("close", function(code) closed = code end)
      -- a session never outlives a minute, whatever the server does
      socket:setTimeout(function() socket:close(1001) end, 60000)
    end)

  check(res, { ["joined the room"] = function(r) return r.status == 101 end })
  check(mine, {
    ["every post came back"] = function(n) return n == POSTS + 1 end,
    ["left with 1000"] = function() return closed == 1000 end,
  })
end
