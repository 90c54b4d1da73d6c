/**
 * Chords and groups on Redis in Celery 5.2.6's exact layout (celery/backends/redis.py), so header parts
 * finished by Python workers and by celeriac workers count toward the same chord:
 *
 *   celery-taskset-meta-<gid>     group record `{"result": [[gid, null], [[[id, null], null], ...]]}` (save_group)
 *   celery-taskset-meta-<gid>.s   chord size (set_chord_size: SET with expiry, then PUBLISH, as Celery's `set`)
 *   celery-taskset-meta-<gid>.t   extra parts added while the chord runs (read, never written here)
 *   celery-taskset-meta-<gid>.j   sorted set of `[1, task_id, state, result]` JSON, scored by group_index
 *                                 ('+inf' when none); `result_chord_ordered=False` (a list) is not supported
 *
 * A part is counted by one script (ZADD, ZCOUNT, GET .t, GET .s, EXPIRE), atomically as Celery's MULTI
 * pipeline: exactly one part sees the count reach `.s + .t`, and that one reads the results in order and
 * deletes the three keys.
 */
export const CHORD_PART_LUA = `
-- KEYS[1] .j   KEYS[2] .t   KEYS[3] .s
-- ARGV[1] encoded part [1, task_id, state, result]   ARGV[2] score: group_index or '+inf'
-- ARGV[3] expiry in seconds (0 = none)
-- returns the members in order when this part completed the chord, else false
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local ready = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local extra = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local size = redis.call('GET', KEYS[3])
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
if not size then return false end
if ready ~= tonumber(size) + extra then return false end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return members
`;

/** Celery's `set`: SET with expiry (or without), then PUBLISH on the key's channel. */
export const SET_PUBLISH_LUA = `
-- KEYS[1] key (also the channel)   ARGV[1] value   ARGV[2] expiry in seconds (0 = none)
local ttl = tonumber(ARGV[2])
if ttl and ttl > 0 then
  redis.call('SETEX', KEYS[1], ttl, ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;
