--[[
  append-tail: adds a committed batch of events to an entity's Redis tail and announces it, in one step.

  Called by the single writer of the entity (its actor) AFTER the batch is committed to Postgres, so Redis never
  holds an event that Postgres does not. Entry ids are `<event id>-1`: the stream id IS the event id, so a reader
  resumes with XRANGE from `(<last id>-1` and a trimmed tail is detected by its first id.

  Guarantees:
  - Idempotent per event: an event whose id is not above the stream's last id is skipped (a re-publish after a
    crash between commit and publish, or by a new owner, changes nothing).
  - The tail keeps about ARGV[1] entries (XADD MAXLEN ~), and expires ARGV[2] seconds after the last append.
  - The PUBLISH carries only the events actually appended, in order, as one JSON array.
  - Event JSON is passed through as text, never decoded here (cjson would turn [] into {}).

  KEYS[1]  tail stream key
  KEYS[2]  fan-out channel
  ARGV[1]  approximate max tail length
  ARGV[2]  tail TTL in seconds
  ARGV[3], ARGV[4], ...  pairs: event id, event JSON ({"id","type","data","created_at"}), ascending ids
  Returns  the number of events appended
]]
local last = 0
local r = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #r > 0 then last = tonumber(string.match(r[1][1], '^(%d+)')) end
local appended = {}
for i = 3, #ARGV, 2 do
  local id = tonumber(ARGV[i])
  if id > last then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i] .. '-1', 'e', ARGV[i + 1])
    last = id
    appended[#appended + 1] = ARGV[i + 1]
  end
end
if #appended > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('PUBLISH', KEYS[2], '[' .. table.concat(appended, ',') .. ']')
end
return #appended
