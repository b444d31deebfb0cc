-- sweep one batch of one partition: delete the sessions its expiry index says are expired.
-- KEYS[1] the partition's index; ARGV[1] the expiry threshold (padded tick); ARGV[2] the
-- trusted bound, as ZRANGEBYSCORE's max: every entry scored up to it is expired ('<score>'
-- inclusive when the threshold is below 2^53, where scores are exact, else '(<score>');
-- ARGV[3] the boundary score ('' when there is no boundary: below 2^53), whose entries may or
-- may not be expired and are rechecked exactly; ARGV[4] how many boundary entries this sweep
-- already kept (skipped past); ARGV[5] the batch size; ARGV[6] what the partition's session
-- keys start with (the member, an id, follows; the key shares KEYS[1]'s hash tag, one slot).
-- Returns {removed, foreign, kept, more}:
--   removed  sessions deleted (their keys; an entry whose key is already gone, as after the
--            safety net, only leaves the index);
--   foreign  entries that are not this store's: dropped from the index, their key left alone;
--   kept     boundary entries not expired now: skipped by the next batch;
--   more     1 if the batch was full (call again), else 0.
--
-- Why the index score is trusted. Every script that writes `last` (insert, touch) writes the
-- entry's score in the same script, and remove and sweep delete both: so for every entry this
-- store wrote, score = `last` rounded to a double, at every moment between two scripts. This
-- script runs atomically (no touch can run between its read of the index and its deletes), so
-- the scores it reads ARE the sessions' last activity now: a session touched after a sweep
-- read the index was touched by a script that ran after this one, on a session this one has
-- not seen or already deleted; a touch that ran before moved the score past the bound, so it is
-- no candidate. Rounding is monotone, so an entry scored strictly below round(threshold) has
-- `last` < threshold: expired, no need to read its hash. Only the entries scored exactly
-- round(threshold) (possible only above 2^53, where several ticks share a double) need the
-- exact recheck of `last`. That is the cost model: the trusted candidates cost a slot in one
-- DEL and one ZREMRANGEBYRANK, no command of their own.
--
-- What "foreign" means here. A trusted entry whose member is 36 bytes long (a session id's
-- length) names a key of this store's layout: it is deleted, whatever it holds (the index is
-- the store's own record; a key someone else overwrote under an indexed id goes with its
-- entry, counted as removed). A member of any other length cannot be this store's: its key, if
-- it exists, is left alone, and it is counted as foreign. (Only the length is checked: a full
-- pattern match of the id's shape cost more than the DEL itself, ~1.7 µs per candidate.) At
-- the boundary every candidate is read, and a key that is not a session (no hash, no 20-digit
-- `last`) is foreign too, as before.
local ID_LEN = 36
local batch = tonumber(ARGV[5])
local removed, foreign, kept = 0, 0, 0

local trusted = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, batch)
local dead_keys = {}
for _, id in ipairs(trusted) do
  if #id == ID_LEN then
    dead_keys[#dead_keys + 1] = ARGV[6] .. id
  elseif redis.call('EXISTS', ARGV[6] .. id) == 1 then
    foreign = foreign + 1
  end
end
if #dead_keys > 0 then
  removed = redis.call('DEL', unpack(dead_keys))
end
if #trusted > 0 then
  -- The range started at -inf: the entries read are exactly the index's first #trusted ranks.
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #trusted - 1)
end
if #trusted == batch then
  return {removed, foreign, 0, 1}
end
if ARGV[3] == '' then
  return {removed, foreign, 0, 0}
end

-- The boundary: entries scored exactly round(threshold), each rechecked exactly.
local room = batch - #trusted
local candidates = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], ARGV[3], 'LIMIT', ARGV[4], room)
dead_keys = {}
local dead_ids = {}
for _, id in ipairs(candidates) do
  local key = ARGV[6] .. id
  -- pcall: a key that is not a hash answers HGET with an error, which must not stop the sweep.
  local last = redis.pcall('HGET', key, 'last')
  if type(last) == 'string' and is_tick(last) then
    if tick_le(last, ARGV[1]) then
      dead_keys[#dead_keys + 1] = key
      dead_ids[#dead_ids + 1] = id
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
  removed = removed + redis.call('DEL', unpack(dead_keys))
end
if #dead_ids > 0 then
  redis.call('ZREM', KEYS[1], unpack(dead_ids))
end
return {removed, foreign, kept, #candidates == room and 1 or 0}
