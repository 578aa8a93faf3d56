-- chance: the deterministic random source behind math.random in aos processes: MT19937 (the 32-bit
-- Mersenne Twister of Matsumoto and Nishimura), seeded from the first message.
local N, M = 624, 397
local MATRIX_A, UPPER, LOWER = 0x9908b0df, 0x80000000, 0x7fffffff

local mt, mti = {}, N + 1

local function seed(s)
  mt[0] = s & 0xffffffff
  for i = 1, N - 1 do
    local prev = mt[i - 1]
    mt[i] = (1812433253 * (prev ~ (prev >> 30)) + i) & 0xffffffff
  end
  mti = N
end

local function twist()
  for k = 0, N - 1 do
    local y = (mt[k] & UPPER) | (mt[(k + 1) % N] & LOWER)
    local v = mt[(k + M) % N] ~ (y >> 1)
    if y & 1 == 1 then v = v ~ MATRIX_A end
    mt[k] = v
  end
  mti = 0
end

local function int32()
  if mti >= N then
    if mti == N + 1 then seed(5489) end
    twist()
  end
  local y = mt[mti]
  mti = mti + 1
  y = y ~ (y >> 11)
  y = y ~ ((y << 7) & 0x9d2c5680)
  y = y ~ ((y << 15) & 0xefc60000)
  y = y ~ (y >> 18)
  return y
end

local chance = {}

function chance.seed(s) seed(math.tointeger(s) or math.floor(s)) end

-- random returns a float in [0, 1).
function chance.random() return int32() * (1.0 / 4294967296.0) end

-- integer returns an integer in [min, max].
function chance.integer(min, max)
  assert(max >= min, "max must bigger than min")
  return math.floor(chance.random() * (max - min + 1) + min)
end

return chance
