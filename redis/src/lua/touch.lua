-- touch: refuse absent or expired sessions, else last = max(last, now).
-- KEYS[1] the session key; ARGV[1] now (padded tick), ARGV[2] the expiry threshold (padded
-- tick: a session last active at or before it is expired at now; '' when nothing can be),
-- ARGV[3] safety-net ms. Returns the user, or nil.
local fields = redis.call('HMGET', KEYS[1], 'user', 'last')
local user, last = fields[1], fields[2]
if not user then
  return false
end
if not last or not is_tick(last) then
  corrupt(KEYS[1], 'has no 20-digit last field')
end
if ARGV[2] ~= '' and tick_le(last, ARGV[2]) then
  return false
end
if not tick_le(ARGV[1], last) then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
end
safety_net(KEYS[1], ARGV[3])
return user
