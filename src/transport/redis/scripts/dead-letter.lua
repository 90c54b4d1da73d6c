-- dead-letter.lua: move an unacked message to celeriac's dead-letter list, only if it is still unacked.
--
-- KEYS[1] unacked hash   KEYS[2] unacked_index zset   KEYS[3] dead-letter list
-- ARGV[1] delivery tag   ARGV[2] the dead-letter record (JSON {id, queue, reason, at, envelope})
-- ARGV[3] most records kept
-- Returns 1 when moved, 0 when the message was no longer unacked.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return 1
