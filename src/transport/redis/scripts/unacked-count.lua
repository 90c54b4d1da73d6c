-- unacked-count.lua: how many unacked messages came from each of the given queues (admin listing only:
-- it reads the whole unacked hash).
--
-- KEYS[1] unacked hash
-- ARGV    queue names (a message counts for the queue its routing key names, kombu's usual layout)
-- Returns one count per ARGV entry, in order.
local wanted = {}
for i = 1, #ARGV do wanted[ARGV[i]] = i end
local counts = {}
for i = 1, #ARGV do counts[i] = 0 end
local vals = redis.call('HVALS', KEYS[1])
for _, v in ipairs(vals) do
  local rk = string.match(v, ',%s*"[^"]*"%s*,%s*"([^"]*)"%s*%]%s*$')
  local i = rk and wanted[rk]
  if i then counts[i] = counts[i] + 1 end
end
return counts
