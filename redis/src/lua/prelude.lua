-- Shared by every session script. Ticks are stored as 20-digit zero-padded decimals, so a u64
-- fits exactly; Lua 5.1's numbers are doubles (exact only below 2^53), so a tick is compared as
-- two 10-digit halves, each exact. No arithmetic on ticks happens in Lua: the caller passes the
-- expiry threshold ready-made, and the index score (the tick as a double) ready-made too.
local function tick_le(a, b)
  local a_high, b_high = tonumber(string.sub(a, 1, 10)), tonumber(string.sub(b, 1, 10))
  if a_high ~= b_high then
    return a_high < b_high
  end
  return tonumber(string.sub(a, 11)) <= tonumber(string.sub(b, 11))
end

-- The safety net: a relative TTL on the session and on its partition's index (refreshed by
-- every write, so an index outlives its sessions only while the site is active).
local function safety_net(session, index, ms)
  if ms ~= '0' then
    redis.call('PEXPIRE', session, ms)
    redis.call('PEXPIRE', index, ms)
  end
end

-- Whether a stored `last` is a tick this store wrote: exactly 20 decimal digits.
local function is_tick(value)
  return string.len(value) == 20 and not string.find(value, '%D')
end

-- Stops the script with a CORRUPT error (the store maps it to RedisStoreError::Corrupt and
-- adds the redacted session id: the full id, a secret, never travels in an error).
local function corrupt(what)
  error({err = 'CORRUPT ' .. what})
end

-- Whether the session key holds a hash (a session): false when there is no key at all, a
-- CORRUPT error when it holds something else.
local function is_session(key)
  local kind = redis.call('TYPE', key).ok
  if kind == 'hash' then
    return true
  elseif kind == 'none' then
    return false
  end
  corrupt('is not a hash')
end
