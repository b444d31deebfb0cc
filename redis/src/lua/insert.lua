-- insert: set-if-absent, and index the session.
-- KEYS[1] the session, KEYS[2] its partition's index; ARGV[1] user, ARGV[2] now (padded tick),
-- ARGV[3] safety-net ms, ARGV[4] the session id (the index member), ARGV[5] now as a score.
-- Returns 1 if stored, 0 if the key was present (expired or not): insert never overwrites.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'last', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
safety_net(KEYS[1], KEYS[2], ARGV[3])
return 1
