-- restore.lua: hand an unacked message back to its queue, only if it is still unacked (and, for the
-- visibility sweep, only if its fetch time is still at or before the cut-off: a worker may have just
-- refreshed it). Atomic, so two restorers never push it twice.
--
-- KEYS[1] unacked hash   KEYS[2] unacked_index zset   KEYS[3] the queue list to push to
-- ARGV[1] delivery tag   ARGV[2] the envelope to push (marked redelivered)
-- ARGV[3] cut-off score, or '' for no check   ARGV[4] '1' = push at the consuming end (next), '0' = at the back
-- Returns 1 when restored, 0 when the message was no longer unacked (or was refreshed).
if ARGV[3] ~= '' then
  local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if (not score) or tonumber(score) > tonumber(ARGV[3]) then return 0 end
end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[4] == '1' then
  redis.call('RPUSH', KEYS[3], ARGV[2])
else
  redis.call('LPUSH', KEYS[3], ARGV[2])
end
return 1
