/**
 * store-result.lua, embedded so the build needs no asset copy: stores a task's result meta unless that
 * would replace a final state, and PUBLISHes it on the channel named after the key, as Celery does.
 *
 *   KEYS[1]  the result key, `<global_keyprefix>celery-task-meta-<task_id>`; also the channel
 *   ARGV[1]  the result meta, JSON
 *   ARGV[2]  its status
 *   ARGV[3]  expiry in milliseconds; 0 keeps the result forever
 *   returns  1 when stored and published, 0 when the stored state was kept
 *
 * The rule is `mayOverwrite` of protocol/result-meta.ts: a stored SUCCESS is never overwritten, and a
 * ready state is never replaced by a non-ready one. Only `status` of the stored record is looked at (read
 * from the start of the text when it comes first, as Celery writes it, else with cjson); a record that is
 * not JSON (another serializer) is replaced. The ready states come from protocol/states.ts.
 */
import { READY_STATES, States } from '../../protocol/states.js';

const luaSet = [...READY_STATES].map((s) => `[${JSON.stringify(s)}] = true`).join(', ');

export const STORE_RESULT_LUA = `
local ready = { ${luaSet} }
local current = redis.call('GET', KEYS[1])
if current then
  -- Celery and celeriac both write status first: read it without decoding a large result.
  local status = string.match(current, '^%s*{%s*"status"%s*:%s*"([^"]*)"')
  if not status then
    local ok, stored = pcall(cjson.decode, current)
    if ok and type(stored) == 'table' and type(stored['status']) == 'string' then status = stored['status'] end
  end
  if status == ${JSON.stringify(States.SUCCESS)} then return 0 end
  if status and ready[status] and not ready[ARGV[2]] then return 0 end
end
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;
