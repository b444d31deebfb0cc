-- remove: get-and-delete. KEYS[1] the session key. Returns the user, or nil if absent.
local user = redis.call('HGET', KEYS[1], 'user')
if user then
  redis.call('DEL', KEYS[1])
end
return user
