-- remove: get-and-delete, and unindex. KEYS[1] the session, KEYS[2] its partition's index;
-- ARGV[1] the session id. Returns the user, or nil if absent.
redis.call('ZREM', KEYS[2], ARGV[1])
if not is_session(KEYS[1]) then
  return false
end
local user = redis.call('HGET', KEYS[1], 'user')
redis.call('DEL', KEYS[1])
return user
