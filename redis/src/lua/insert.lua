-- insert: set-if-absent.
-- KEYS[1] the session key; ARGV[1] user, ARGV[2] now (padded tick), ARGV[3] safety-net ms.
-- Returns 1 if stored, 0 if the key was present (expired or not): insert never overwrites.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'last', ARGV[2])
safety_net(KEYS[1], ARGV[3])
return 1
