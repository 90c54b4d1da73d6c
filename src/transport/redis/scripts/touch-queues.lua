-- touch-queues.lua: marks queues declared with expires as used now, atomically with the check that they still exist (a
-- sweep by another process may have deleted them; the caller declares and binds those again).
-- KEYS[1]  the queue-expiry hash (name -> "<expires ms>:<last used ms>")
-- ARGV[1]  now, ms since the epoch
-- ARGV[2..] queue names
-- Returns the names not in the hash.
local missing = {}
for i = 2, #ARGV do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry then
    local expires = string.match(entry, '^([^:]*)')
    redis.call('HSET', KEYS[1], ARGV[i], expires .. ':' .. ARGV[1])
  else
    missing[#missing + 1] = ARGV[i]
  end
end
return missing
