-- remove: get-and-delete, and unindex. KEYS[1] the session, KEYS[2] its partition's index;
-- ARGV[1] the session id. Returns the user, or nil if absent.
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    corrupt('is not a hash')
  end
  return false
end
local user = redis.call('HGET', KEYS[1], 'user')
redis.call('DEL', KEYS[1])
return user
