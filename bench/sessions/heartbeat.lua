-- wrk script: POST /api/sessions/<id>/heartbeat with that session's own token, rotating over every seeded session
-- (the file of "<id> <token>" lines written by seed.ts, passed after `--`), so each request is a different session
-- actor, as 10,000 independent runtimes would be. Each wrk thread starts at its own offset.
local sessions = {}
local idx = 0

function init(args)
  for line in io.lines(args[1]) do
    local id, token = line:match("^(%S+) (%S+)$")
    if id then sessions[#sessions + 1] = { "/api/sessions/" .. id .. "/heartbeat", "Bearer " .. token } end
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
  idx = math.random(#sessions)
end

function request()
  idx = idx % #sessions + 1
  local s = sessions[idx]
  return wrk.format("POST", s[1], { ["Authorization"] = s[2], ["Content-Length"] = "0" })
end
