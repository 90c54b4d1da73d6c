/**
 * Beat's leader lease in Redis, as Lua embedded so each check-and-act is atomic on the server (whose clock
 * alone decides expiry, so machines with skewed clocks agree):
 *
 *   lease key  `<global_keyprefix>celeriac-lease-<name>`        the holder's id, with PX = the lease time
 *   data key   `<global_keyprefix>celeriac-lease-<name>:data`   hash of fields kept with the lease (no expiry)
 *
 * ACQUIRE   KEYS[1] lease key; ARGV[1] holder, ARGV[2] ttl ms. SET NX PX when free; PEXPIRE when the holder
 *           already has it (renew); returns 2 (newly acquired), 1 (renewed) or 0 (another holds it).
 * RELEASE   KEYS[1] lease key; ARGV[1] holder. DEL only when the holder has it.
 * WRITE     KEYS[1] lease key, KEYS[2] data key; ARGV[1] holder, ARGV[2..] field, value pairs. HSET only
 *           when the holder still has the lease; returns 1 when written, else 0.
 */

export const ACQUIRE_LEASE_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

export const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

export const WRITE_LEASE_DATA_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if #ARGV > 1 then redis.call('HSET', KEYS[2], unpack(ARGV, 2)) end
return 1
`;

export const LEASE_KEY_PREFIX = 'celeriac-lease-';
