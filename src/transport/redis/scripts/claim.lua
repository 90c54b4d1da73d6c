-- claim.lua: take up to ARGV[1] messages and record each as unacked, in one atomic step (no gap between
-- the pop and the record, unlike kombu's BRPOP then HSET). Lists are read in KEYS order (priority step,
-- then queue), from the right (kombu pushes on the left). A claim is idempotent by its receipt: a claim sent
-- again with the same receipt key (ioredis resends a command whose reply a reconnect lost; the store retries a
-- claim that failed with its receipt) gets what it took the first time, instead of leaving that in the unacked
-- hash until the visibility timeout and taking more.
--
-- KEYS[1]  unacked hash         delivery_tag -> JSON [envelope, exchange, routing_key]   (kombu's layout)
-- KEYS[2]  unacked_index zset   delivery_tag -> fetch time in seconds                    (kombu's layout)
-- KEYS[3]  dead-letter list     celeriac's own: JSON {id, queue, reason, at, envelope}
-- KEYS[4]  this claim's receipt celeriac's own: JSON of the reply below, kept ARGV[4] ms (written when it took any)
-- KEYS[5..4+L] the L queue lists to read
-- KEYS[5+L..]  receipts of earlier claims whose replies arrived: deleted
-- ARGV[1]  max messages         ARGV[2] now, seconds (float)     ARGV[3] now, ms (for dead letters)
-- ARGV[4]  receipt lifetime, ms ARGV[5] L, the number of queue lists
-- ARGV[6..5+L] the queue name of each list in KEYS[5..4+L], in the same order
-- ARGV[6+L..] delivery tags to ack first (kombu's ack: ZREM unacked_index, HDEL unacked), so a consumer
--          acks what it finished and claims more in one round trip
-- Returns a flat array: tag1, queue1, envelope1, tag2, queue2, envelope2, ... A message that is not a
-- kombu JSON envelope is moved to the dead-letter list here (never lost, never run) and returned with an
-- empty tag, so the consumer can report it. An envelope without a delivery tag gets one, unique among the unacked.
local lists = tonumber(ARGV[5])
for i = 6 + lists, #ARGV do
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[1], ARGV[i])
end
for i = 5 + lists, #KEYS do redis.call('DEL', KEYS[i]) end
local receipt = redis.call('GET', KEYS[4])
if receipt then return cjson.decode(receipt) end
local max = tonumber(ARGV[1])
local out = {}
local taken = 0
for i = 5, 4 + lists do
  local queue = ARGV[i + 1]
  while taken < max do
    local m = redis.call('RPOP', KEYS[i])
    if not m then break end
    local ok, env = pcall(cjson.decode, m)
    local tag, ex, rk = nil, '', queue
    if ok and type(env) == 'table' and type(env['properties']) == 'table' then
      tag = env['properties']['delivery_tag']
      local info = env['properties']['delivery_info']
      if type(info) == 'table' then
        if type(info['exchange']) == 'string' then ex = info['exchange'] end
        if type(info['routing_key']) == 'string' then rk = info['routing_key'] end
      end
    end
    if not (ok and type(env) == 'table' and type(env['properties']) == 'table') then
      local reason = 'undecodable envelope: not a kombu JSON message'
      redis.call('LPUSH', KEYS[3], cjson.encode({id = redis.sha1hex(m), queue = queue, reason = reason, at = tonumber(ARGV[3]), envelope = m}))
      redis.call('LTRIM', KEYS[3], 0, 9999)
      out[#out + 1] = ''
      out[#out + 1] = queue
      out[#out + 1] = m
    else
      if type(tag) ~= 'string' or tag == '' then
        -- No tag of its own (not sent by kombu): derive one, distinct from every unacked tag, so two identical
        -- untagged messages never share (and overwrite) one entry of the unacked hash.
        tag = redis.sha1hex(m .. ARGV[2])
        while redis.call('HEXISTS', KEYS[1], tag) == 1 do tag = redis.sha1hex(tag) end
      end
      redis.call('HSET', KEYS[1], tag, '[' .. m .. ',' .. cjson.encode(ex) .. ',' .. cjson.encode(rk) .. ']')
      redis.call('ZADD', KEYS[2], ARGV[2], tag)
      out[#out + 1] = tag
      out[#out + 1] = queue
      out[#out + 1] = m
      taken = taken + 1
    end
  end
  if taken >= max then break end
end
if #out > 0 then redis.call('SET', KEYS[4], cjson.encode(out), 'PX', ARGV[4]) end
return out
