-- intern: get-or-assign a user id for a name, the same id on every server.
-- KEYS[1] the name -> id hash, KEYS[2] the id -> name hash; ARGV[1] the name, ARGV[2] the most
-- names the directory holds. Returns the id, or -1 when the directory is full.
-- The read and the assignment are one step: two servers interning a new name at once cannot
-- both miss it and hand out two ids (the get-or-insert race, a lost update of the counter).
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then
  return tonumber(id)
end
local next = redis.call('HLEN', KEYS[1])
if next >= tonumber(ARGV[2]) then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], next)
redis.call('HSET', KEYS[2], next, ARGV[1])
return next
