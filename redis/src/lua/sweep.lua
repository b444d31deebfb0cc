-- sweep one batch of one partition: the index's candidates, each rechecked exactly.
-- KEYS[1] the partition's index; ARGV[1] the expiry threshold (padded tick), ARGV[2] the
-- threshold as a score (rounded: every expired session scores at most this), ARGV[3] how many
-- candidates this sweep already kept in this partition (skipped past), ARGV[4] the batch size,
-- ARGV[5] what the partition's session keys start with (the member, an id, follows; the key
-- shares KEYS[1]'s hash tag, so it lives in the same slot).
-- Returns {removed, examined, kept, foreign}:
--   removed  sessions expired now, deleted with their index entry;
--   examined candidates read (a batch shorter than ARGV[4] means the partition is done);
--   kept     candidates not expired (their score rounds to the threshold's): skipped next time;
--   foreign  entries whose session is not a hash of this store's (a foreign or corrupt key):
--            dropped from the index, the key itself left alone (it is not ours to delete).
-- Entries whose session is already gone (the safety net expired it) are dropped silently.
local candidates = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
local removed, kept, foreign = 0, 0, 0
for _, id in ipairs(candidates) do
  local key = ARGV[5] .. id
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then
    redis.call('ZREM', KEYS[1], id)
  elseif kind ~= 'hash' then
    redis.call('ZREM', KEYS[1], id)
    foreign = foreign + 1
  else
    local last = redis.call('HGET', key, 'last')
    if not last or not is_tick(last) then
      redis.call('ZREM', KEYS[1], id)
      foreign = foreign + 1
    elseif tick_le(last, ARGV[1]) then
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[1], id)
      removed = removed + 1
    else
      kept = kept + 1
    end
  end
end
return {removed, #candidates, kept, foreign}
