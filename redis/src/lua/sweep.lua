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
--   foreign  entries whose key is not a session of this store (not a hash, or no 20-digit
--            `last`): dropped from the index, the key itself left alone (not ours to delete).
-- Entries whose session is already gone (the safety net expired it) are dropped silently.
-- One HGET per candidate; the deletions go out as one DEL and one ZREM per batch.
local candidates = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
local dead_keys, dead_ids = {}, {}
local removed, kept, foreign = 0, 0, 0
for _, id in ipairs(candidates) do
  local key = ARGV[5] .. id
  -- pcall: a key that is not a hash answers HGET with an error, which must not stop the sweep.
  local last = redis.pcall('HGET', key, 'last')
  if type(last) == 'string' and is_tick(last) then
    if tick_le(last, ARGV[1]) then
      dead_keys[#dead_keys + 1] = key
      dead_ids[#dead_ids + 1] = id
      removed = removed + 1
    else
      kept = kept + 1
    end
  else
    dead_ids[#dead_ids + 1] = id
    if type(last) == 'table' or redis.call('EXISTS', key) == 1 then
      foreign = foreign + 1
    end
  end
end
if #dead_keys > 0 then
  redis.call('DEL', unpack(dead_keys))
end
if #dead_ids > 0 then
  redis.call('ZREM', KEYS[1], unpack(dead_ids))
end
return {removed, #candidates, kept, foreign}
