-- touch: refuse absent or expired sessions, else last = max(last, now), in the hash and the
-- index. KEYS[1] the session, KEYS[2] its partition's index; ARGV[1] now (padded tick),
-- ARGV[2] the expiry threshold (padded tick: a session last active at or before it is expired
-- at now; '' when nothing can be), ARGV[3] safety-net ms, ARGV[4] the session id, ARGV[5] now
-- as a score. Returns the user, or nil.
if not is_session(KEYS[1]) then
  return false
end
local fields = redis.call('HMGET', KEYS[1], 'user', 'last')
local user, last = fields[1], fields[2]
if not user then
  corrupt('has no user field')
end
if not last or not is_tick(last) then
  corrupt('has no 20-digit last field')
end
if ARGV[2] ~= '' and tick_le(last, ARGV[2]) then
  return false
end
if not tick_le(ARGV[1], last) then
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
end
safety_net(KEYS[1], KEYS[2], ARGV[3])
return user
