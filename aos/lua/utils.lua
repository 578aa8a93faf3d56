-- utils: small functional helpers (global Utils, require(".utils")), curried like the aos ones:
-- utils.map(fn)(list) == utils.map(fn, list).
local utils = { _version = "aogo-1" }

local function isArray(t)
  if type(t) ~= "table" then return false end
  local n, max = 0, 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
    if k > max then max = k end
  end
  return max == #t
end
utils.isArray = isArray

-- matchesPattern reports whether one value matches one pattern of a match spec:
--   "_" any present value; a function called as f(value, msg); a string equal to the value, or used as a
--   Lua pattern when it holds magic characters (other than a lone "-"); a table: any of its sub-patterns.
function utils.matchesPattern(pattern, value, msg)
  if not pattern then return false end
  if pattern == "_" then return true end
  local tp = type(pattern)
  if tp == "function" then
    return pattern(value, msg) and true or false
  elseif tp == "string" then
    if pattern:find("[%^%$%(%)%%%.%[%]%*%+%?]") then
      return type(value) == "string" and value:match(pattern) ~= nil
        or (type(value) == "number" and tostring(value):match(pattern) ~= nil)
    end
    return value == pattern
  elseif tp == "table" then
    for _, sub in pairs(pattern) do
      if utils.matchesPattern(sub, value, msg) then return true end
    end
  end
  return false
end

-- matchesSpec evaluates a handler pattern against a message. A function spec returns its own result
-- (boolean, number or "continue"/"break"/"skip"); a table spec matches when every key matches the message
-- field or tag of that name; a string spec matches msg.Action.
function utils.matchesSpec(msg, spec)
  local ts = type(spec)
  if ts == "function" then
    return spec(msg)
  elseif ts == "table" then
    for key, pattern in pairs(spec) do
      local v = msg[key]
      local tv = msg.Tags and msg.Tags[key]
      if not v and not tv then return false end
      if not utils.matchesPattern(pattern, v, msg) and not utils.matchesPattern(pattern, tv, msg) then
        return false
      end
    end
    return true
  elseif ts == "string" then
    return msg.Action ~= nil and msg.Action == spec
  end
  return false
end

function utils.curry(fn, arity)
  assert(type(fn) == "function", "function is required as first argument")
  arity = arity or debug.getinfo(fn, "u").nparams
  if arity < 2 then return fn end
  return function(...)
    local args = table.pack(...)
    if args.n >= arity then return fn(...) end
    return utils.curry(function(...)
      local all = { table.unpack(args, 1, args.n) }
      local more = table.pack(...)
      for i = 1, more.n do all[args.n + i] = more[i] end
      return fn(table.unpack(all, 1, args.n + more.n))
    end, arity - args.n)
  end
end

utils.concat = utils.curry(function(a, b)
  assert(type(a) == "table" and isArray(a), "first argument should be a table that is an array")
  assert(type(b) == "table" and isArray(b), "second argument should be a table that is an array")
  local r = {}
  for i = 1, #a do r[#r + 1] = a[i] end
  for i = 1, #b do r[#r + 1] = b[i] end
  return r
end, 2)

utils.reduce = utils.curry(function(fn, initial, t)
  assert(type(fn) == "function", "first argument should be a function that accepts (result, value, key)")
  assert(type(t) == "table" and isArray(t), "third argument should be a table that is an array")
  local acc = initial
  for i = 1, #t do
    if acc == nil then acc = t[i] else acc = fn(acc, t[i], i) end
  end
  return acc
end, 3)

utils.map = utils.curry(function(fn, t)
  assert(type(fn) == "function", "first argument should be a unary function")
  assert(type(t) == "table" and isArray(t), "second argument should be an Array")
  local r = {}
  for i = 1, #t do r[i] = fn(t[i], i) end
  return r
end, 2)

utils.filter = utils.curry(function(fn, t)
  assert(type(fn) == "function", "first argument should be a unary function")
  assert(type(t) == "table" and isArray(t), "second argument should be an Array")
  local r = {}
  for i = 1, #t do
    if fn(t[i]) then r[#r + 1] = t[i] end
  end
  return r
end, 2)

utils.find = utils.curry(function(fn, t)
  assert(type(fn) == "function", "first argument should be a unary function")
  assert(type(t) == "table", "second argument should be a table that is an array")
  for _, v in pairs(t) do
    if fn(v) then return v end
  end
end, 2)

utils.propEq = utils.curry(function(name, value, object)
  assert(type(name) == "string", "first argument should be a string")
  assert(type(value) == "string", "second argument should be a string")
  assert(type(object) == "table", "third argument should be a table<object>")
  return object[name] == value
end, 3)

function utils.reverse(t)
  assert(type(t) == "table", "argument needs to be a table that is an array")
  local r, n = {}, #t
  for i = 1, n do r[n - i + 1] = t[i] end
  return r
end

-- compose(f, g, h)(x) == f(g(h(x)))
utils.compose = utils.curry(function(...)
  local fns = table.pack(...)
  return function(v)
    for i = fns.n, 1, -1 do
      assert(type(fns[i]) == "function", "each argument needs to be a function")
      v = fns[i](v)
    end
    return v
  end
end, 2)

utils.prop = utils.curry(function(name, object)
  return object[name]
end, 2)

utils.includes = utils.curry(function(value, t)
  assert(type(t) == "table", "argument needs to be a table")
  assert(isArray(t), "argument should be a table that is an array")
  for i = 1, #t do
    if t[i] == value then return true end
  end
  return false
end, 2)

function utils.keys(t)
  assert(type(t) == "table", "argument needs to be a table")
  local r = {}
  for k in pairs(t) do r[#r + 1] = k end
  return r
end

function utils.values(t)
  assert(type(t) == "table", "argument needs to be a table")
  local r = {}
  for _, v in pairs(t) do r[#r + 1] = v end
  return r
end

return utils
