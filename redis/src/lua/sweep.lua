-- sweep one SCAN page: delete each key that is expired now.
-- KEYS the session keys of the page; ARGV[1] the expiry threshold (padded tick).
-- Returns how many keys this call deleted. A key without a valid tick is not ours to judge: it
-- is left alone (touch reports it as corrupt).
local removed = 0
for _, key in ipairs(KEYS) do
  local last = redis.call('HGET', key, 'last')
  if last and is_tick(last) and tick_le(last, ARGV[1]) then
    redis.call('DEL', key)
    removed = removed + 1
  end
end
return removed
