-- clear one batch of one partition: delete indexed sessions, whatever they hold.
-- KEYS[1] the partition's index; ARGV[1] what the partition's session keys start with,
-- ARGV[2] the batch size. Returns {deleted, examined}; the index vanishes once empty.
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local deleted = 0
for _, id in ipairs(ids) do
  deleted = deleted + redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[1], id)
end
return {deleted, #ids}
