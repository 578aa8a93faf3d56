-- bint: big integers for token balances, with the interface processes use from aos's bint:
--   local bint = require(".bint")(256)
--   local a = bint("1000000000000000000000") + bint(5)      -- bint(x) == bint.new(x)
--   tostring(a), a <= b, bint.__lt(0, a), a // b, a % b, bint.ipow(a, 3), bint.tonumber(a)
-- Values are exact signed integers of any size (base 10^7 limbs); the bit size argument is accepted for
-- compatibility but there is no wrap-around at 2^bits. // and % floor like Lua's integer operators;
-- / and ^ give floats.
local BASE, BASE_DIGITS = 10000000, 7
local mtype, floor, concat = math.type, math.floor, table.concat

local modules = {}

local function newModule(bits)
  local bint = { bits = bits or 256 }
  bint.__index = bint

  local function make(neg, limbs)
    local n = #limbs
    while n > 0 and limbs[n] == 0 do limbs[n] = nil; n = n - 1 end
    limbs.neg = (n > 0) and neg or false
    return setmetatable(limbs, bint)
  end

  local function isbint(x) return getmetatable(x) == bint end
  bint.isbint = isbint

  function bint.zero() return make(false, {}) end
  function bint.one() return make(false, { 1 }) end

  local fromdecimal

  function bint.frominteger(x)
    x = math.tointeger(x)
    if not x then return nil end
    if x == math.mininteger then return fromdecimal(true, "9223372036854775808") end
    local neg = x < 0
    if neg then x = -x end
    local limbs = {}
    while x > 0 do
      limbs[#limbs + 1] = x % BASE
      x = x // BASE
    end
    return make(neg, limbs)
  end

  -- fromdecimal parses a string of decimal digits (no sign).
  fromdecimal = function(neg, digits)
    local limbs = {}
    local i = #digits
    while i >= 1 do
      local j = i - BASE_DIGITS + 1
      if j < 1 then j = 1 end
      limbs[#limbs + 1] = tonumber(digits:sub(j, i)) // 1
      i = j - 1
    end
    return make(neg, limbs)
  end

  local function mulsmall(a, m, add)
    -- magnitude a * m + add (m, add < BASE), in place on a copy
    local r, carry = {}, add
    for i = 1, #a do
      local v = a[i] * m + carry
      r[i] = v % BASE
      carry = v // BASE
    end
    while carry > 0 do r[#r + 1] = carry % BASE; carry = carry // BASE end
    return r
  end

  -- frombase parses digits in base 2..36 (no sign, no prefix).
  function bint.frombase(s, base)
    base = base or 10
    if type(s) ~= "string" or base < 2 or base > 36 then return nil end
    s = s:lower()
    local neg = false
    local sign = s:sub(1, 1)
    if sign == "-" or sign == "+" then neg = sign == "-"; s = s:sub(2) end
    if s == "" then return nil end
    if base == 10 then
      if not s:match("^%d+$") then return nil end
      return fromdecimal(neg, s)
    end
    local mag = {}
    for c in s:gmatch(".") do
      local d = tonumber(c, 36)
      if not d or d >= base then return nil end
      mag = mulsmall(mag, base, d)
    end
    return make(neg, mag)
  end

  function bint.fromstring(s)
    if type(s) ~= "string" then return nil end
    s = s:match("^%s*(.-)%s*$")
    local sign, rest = s:match("^([+-]?)(.*)$")
    local neg = sign == "-"
    local r
    if rest:match("^0[xX]") then
      r = bint.frombase(rest:sub(3), 16)
    elseif rest:match("^0[bB]") then
      r = bint.frombase(rest:sub(3), 2)
    else
      r = bint.frombase(rest, 10)
    end
    if r and neg then r = make(not r.neg, { table.unpack(r) }) end
    return r
  end

  function bint.fromuinteger(x) return bint.frominteger(x) end

  -- tobint converts a bint, an integer, an integral float or a numeric string; nil otherwise.
  function bint.tobint(x)
    if isbint(x) then return x end
    local tx = type(x)
    if tx == "number" then
      if mtype(x) == "integer" then return bint.frominteger(x) end
      if x ~= x or x == math.huge or x == -math.huge or floor(x) ~= x then return nil end
      local i = math.tointeger(x)
      if i then return bint.frominteger(i) end
      return bint.fromstring(string.format("%.0f", x))
    elseif tx == "string" then
      return bint.fromstring(x)
    end
    return nil
  end

  function bint.new(x)
    local r = bint.tobint(x)
    assert(r, "value cannot be represented by a bint")
    return r
  end

  -- trunc converts a number, truncating any fraction.
  function bint.trunc(x)
    if type(x) == "number" and mtype(x) == "float" and x == x and x ~= math.huge and x ~= -math.huge then
      x = x >= 0 and floor(x) or -floor(-x)
    end
    return bint.new(x)
  end

  -- parse returns a bint, or x as a Lua number when it is not an integer.
  function bint.parse(x)
    return bint.tobint(x) or tonumber(x)
  end

  local function cmpmag(a, b)
    if #a ~= #b then return #a < #b and -1 or 1 end
    for i = #a, 1, -1 do
      if a[i] ~= b[i] then return a[i] < b[i] and -1 or 1 end
    end
    return 0
  end

  local function addmag(a, b)
    local r, carry = {}, 0
    for i = 1, math.max(#a, #b) do
      local v = (a[i] or 0) + (b[i] or 0) + carry
      if v >= BASE then r[i] = v - BASE; carry = 1 else r[i] = v; carry = 0 end
    end
    if carry > 0 then r[#r + 1] = carry end
    return r
  end

  local function submag(a, b) -- |a| >= |b|
    local r, borrow = {}, 0
    for i = 1, #a do
      local v = a[i] - (b[i] or 0) - borrow
      if v < 0 then r[i] = v + BASE; borrow = 1 else r[i] = v; borrow = 0 end
    end
    return r
  end

  local function mulmag(a, b)
    if #a == 0 or #b == 0 then return {} end
    local r = {}
    for i = 1, #a + #b do r[i] = 0 end
    for i = 1, #a do
      local ai, carry = a[i], 0
      if ai ~= 0 then
        for j = 1, #b do
          local v = r[i + j - 1] + ai * b[j] + carry
          r[i + j - 1] = v % BASE
          carry = v // BASE
        end
        local k = i + #b
        while carry > 0 do
          local v = r[k] + carry
          r[k] = v % BASE
          carry = v // BASE
          k = k + 1
        end
      end
    end
    local n = #r
    while n > 0 and r[n] == 0 do r[n] = nil; n = n - 1 end
    return r
  end

  local function trim(r)
    local n = #r
    while n > 0 and r[n] == 0 do r[n] = nil; n = n - 1 end
    return r
  end

  -- divmag returns the magnitudes floor(|a| / |b|) and |a| mod |b| (b non-zero).
  local function divmag(a, b)
    if cmpmag(a, b) < 0 then return {}, { table.unpack(a) } end
    if #b == 1 then
      local d, q, rem = b[1], {}, 0
      for i = #a, 1, -1 do
        local v = rem * BASE + a[i]
        q[i] = v // d
        rem = v % d
      end
      return trim(q), trim({ rem })
    end
    local nb = #b
    local btop = b[nb] * BASE + b[nb - 1]
    local q, r = {}, {}
    for i = #a, 1, -1 do
      table.insert(r, 1, a[i])
      trim(r)
      local qd = 0
      if cmpmag(r, b) >= 0 then
        local rtop = (r[nb + 1] or 0) * BASE * BASE + (r[nb] or 0) * BASE + (r[nb - 1] or 0)
        qd = floor(rtop / btop)
        if qd >= BASE then qd = BASE - 1 end
        local p = mulmag(b, { qd })
        while cmpmag(p, r) > 0 do qd = qd - 1; p = submag(p, b); trim(p) end
        r = trim(submag(r, p))
        while cmpmag(r, b) >= 0 do qd = qd + 1; r = trim(submag(r, b)) end
      end
      q[i] = qd
    end
    for i = 1, #a do q[i] = q[i] or 0 end
    return trim(q), r
  end

  local function add(a, b)
    if a.neg == b.neg then return make(a.neg, addmag(a, b)) end
    local c = cmpmag(a, b)
    if c == 0 then return bint.zero() end
    if c > 0 then return make(a.neg, submag(a, b)) end
    return make(b.neg, submag(b, a))
  end

  local function neg(a) return make(not a.neg, { table.unpack(a) }) end

  local function args2(x, y)
    return bint.new(x), bint.new(y)
  end

  -- the Lua number view of x: an integer when it fits, a float otherwise
  function bint.tonumber(x)
    x = bint.new(x)
    return tonumber(tostring(x))
  end

  -- tointeger returns x as a Lua integer, wrapping modulo 2^64 like integer arithmetic.
  function bint.tointeger(x)
    x = bint.new(x)
    local acc = 0
    for i = #x, 1, -1 do acc = acc * BASE + x[i] end
    if x.neg then acc = -acc end
    return acc
  end
  bint.touinteger = bint.tointeger

  function bint.tobase(x, base, unsigned)
    x = bint.new(x)
    base = base or 10
    if base == 10 then
      if #x == 0 then return "0" end
      local parts = { tostring(x[#x]) }
      for i = #x - 1, 1, -1 do parts[#parts + 1] = string.format("%07d", x[i]) end
      return (x.neg and "-" or "") .. concat(parts)
    end
    local digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    local mag, out = { table.unpack(x) }, {}
    local b = { base }
    if #mag == 0 then return "0" end
    while #mag > 0 do
      local q, r = divmag(mag, b)
      local d = r[1] or 0
      out[#out + 1] = digits:sub(d + 1, d + 1)
      mag = q
    end
    return (x.neg and "-" or "") .. string.reverse(concat(out))
  end

  function bint.__tostring(x) return bint.tobase(x, 10) end
  bint.tostring = bint.__tostring

  function bint.copy(x) return make(x.neg, { table.unpack(x) }) end
  function bint.iszero(x) return #bint.new(x) == 0 end
  function bint.isone(x) x = bint.new(x); return #x == 1 and x[1] == 1 and not x.neg end
  function bint.isminusone(x) x = bint.new(x); return #x == 1 and x[1] == 1 and x.neg end
  function bint.isneg(x) return bint.new(x).neg end
  function bint.ispos(x) x = bint.new(x); return #x > 0 and not x.neg end
  function bint.iseven(x) x = bint.new(x); return (x[1] or 0) % 2 == 0 end
  function bint.isodd(x) return not bint.iseven(x) end
  function bint.abs(x) x = bint.new(x); return make(false, { table.unpack(x) }) end

  function bint.compare(x, y)
    x, y = args2(x, y)
    if x.neg ~= y.neg then return x.neg and -1 or 1 end
    local c = cmpmag(x, y)
    return x.neg and -c or c
  end

  function bint.__add(x, y) x, y = args2(x, y); return add(x, y) end
  function bint.__sub(x, y) x, y = args2(x, y); return add(x, neg(y)) end
  function bint.__mul(x, y) x, y = args2(x, y); return make(x.neg ~= y.neg, mulmag(x, y)) end
  function bint.__unm(x) return neg(bint.new(x)) end

  -- tdivmod: quotient truncated toward zero, remainder with the sign of x.
  function bint.tdivmod(x, y)
    x, y = args2(x, y)
    assert(#y > 0, "attempt to divide by zero")
    local q, r = divmag(x, y)
    return make(x.neg ~= y.neg, q), make(x.neg, r)
  end
  function bint.tdiv(x, y) return (bint.tdivmod(x, y)) end
  function bint.tmod(x, y) local _, r = bint.tdivmod(x, y); return r end

  -- idivmod: floored quotient and remainder with the sign of y (Lua's // and %).
  function bint.idivmod(x, y)
    x, y = args2(x, y)
    local q, r = bint.tdivmod(x, y)
    if #r > 0 and r.neg ~= y.neg then
      q = add(q, make(true, { 1 }))
      r = add(r, y)
    end
    return q, r
  end
  bint.udivmod = bint.idivmod
  function bint.__idiv(x, y) return (bint.idivmod(x, y)) end
  function bint.__mod(x, y) local _, r = bint.idivmod(x, y); return r end
  function bint.__div(x, y) return bint.tonumber(x) / bint.tonumber(y) end
  function bint.__pow(x, y) return bint.tonumber(x) ^ bint.tonumber(y) end

  -- ipow: x^y for integer y >= 0, exactly.
  function bint.ipow(x, y)
    x, y = bint.new(x), bint.tointeger(y)
    assert(y >= 0, "negative exponent")
    local r = bint.one()
    while y > 0 do
      if y % 2 == 1 then r = r * x end
      y = y // 2
      if y > 0 then x = x * x end
    end
    return r
  end

  function bint.eq(x, y)
    local a, b = bint.tobint(x), bint.tobint(y)
    if not a or not b then return false end
    return bint.compare(a, b) == 0
  end
  function bint.__eq(x, y) return bint.eq(x, y) end
  function bint.__lt(x, y) return bint.compare(x, y) < 0 end
  function bint.__le(x, y) return bint.compare(x, y) <= 0 end
  bint.lt, bint.le = bint.__lt, bint.__le
  bint.ult, bint.ule = bint.__lt, bint.__le
  function bint.max(x, y) return bint.compare(x, y) >= 0 and bint.new(x) or bint.new(y) end
  function bint.min(x, y) return bint.compare(x, y) <= 0 and bint.new(x) or bint.new(y) end
  function bint.__concat(a, b) return tostring(a) .. tostring(b) end

  return setmetatable(bint, {
    __call = function(_, x) return bint.new(x) end,
  })
end

return function(bits)
  bits = bits or 256
  local m = modules[bits]
  if not m then
    m = newModule(bits)
    modules[bits] = m
  end
  return m
end
