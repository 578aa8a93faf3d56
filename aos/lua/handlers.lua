-- handlers: the ordered list of (name, pattern, handle, maxRuns) entries every message is evaluated
-- against (global Handlers, require(".handlers")).
--
-- A pattern is an Action string, a match-spec table, or a function of msg. Its result decides what
-- happens: true / -1 / "break" run the handler and stop; 1 / "continue" run it and go on; false / 0 /
-- "skip" skip it. When no handler stopped evaluation, the "_default" handler runs.
local coroutine = require("coroutine")
local utils = require(".utils")

local handlers = { _version = "aogo-1" }
handlers.utils = require(".handlers-utils")

-- keep the handlers of an earlier load (a re-require after an update)
if Handlers then
  handlers.list = Handlers.list or {}
  handlers.coroutines = Handlers.coroutines or {}
else
  handlers.list = {}
  handlers.coroutines = {}
end
handlers.onceNonce = 0

local function indexOf(name)
  for i, h in ipairs(handlers.list) do
    if h.name == name then return i end
  end
  return nil
end

local function checkArgs(name, pattern, handle, maxRuns)
  local tp = type(pattern)
  assert(type(name) == "string" and (tp == "function" or tp == "table" or tp == "string"),
    "Invalid arguments given. Expected: \n" ..
    "\tname : string, " ..
    "\tpattern : Action : string | MsgMatch : table,\n" ..
    "\t\tfunction(msg: Message) : {-1 = break, 0 = skip, 1 = continue},\n" ..
    "\thandle(msg : Message) : void) | Resolver,\n" ..
    "\tMaxRuns? : number | \"inf\" | nil")
end

-- generateResolver turns a handle (a function, or a table of {matchSpec = function}) into a function.
function handlers.generateResolver(spec)
  return function(msg, env)
    if type(spec) == "function" then
      return spec(msg, env)
    end
    for matchSpec, fn in pairs(spec) do
      if utils.matchesSpec(msg, matchSpec) then
        return fn(msg, env)
      end
    end
  end
end

-- args normalises (name, pattern, handle[, maxRuns]) and (nameAndAction, handle).
local function args(...)
  local n = select("#", ...)
  local a, b, c, d = ...
  if n == 2 then return a, a, b, nil end
  if n == 3 then return a, b, c, nil end
  return a, b, c, d
end

-- upsert replaces the handler called name in place, or inserts a new one at position at (nil = end).
local function upsert(at, name, pattern, handle, maxRuns)
  checkArgs(name, pattern, handle, maxRuns)
  handle = handlers.generateResolver(handle)
  local i = indexOf(name)
  if i then
    local h = handlers.list[i]
    h.pattern, h.handle, h.maxRuns = pattern, handle, maxRuns
    return
  end
  local h = { name = name, pattern = pattern, handle = handle, maxRuns = maxRuns }
  if at then
    table.insert(handlers.list, at, h)
  else
    table.insert(handlers.list, h)
  end
end

-- add(name, pattern, handle[, maxRuns]) adds (or replaces by name) a handler at the end.
function handlers.add(...)
  upsert(nil, args(...))
  return #handlers.list
end

-- append is add.
function handlers.append(...)
  upsert(nil, args(...))
end

-- prepend adds (or replaces by name) a handler at the front.
function handlers.prepend(...)
  upsert(1, args(...))
end

local function positioned(anchor, offset)
  assert(type(anchor) == "string", "Handler name MUST be a string")
  local i = indexOf(anchor)
  return {
    add = function(name, pattern, handle, maxRuns)
      checkArgs(name, pattern, handle, maxRuns)
      if i then
        table.insert(handlers.list, i + offset,
          { name = name, pattern = pattern, handle = handlers.generateResolver(handle), maxRuns = maxRuns })
      end
    end
  }
end

-- before(name).add(...) inserts a handler just before the handler called name.
function handlers.before(name) return positioned(name, 0) end

-- after(name).add(...) inserts a handler just after the handler called name.
function handlers.after(name) return positioned(name, 1) end

-- once([name,] pattern, handle) adds a handler at the front that runs a single time.
function handlers.once(...)
  local name, pattern, handle
  if select("#", ...) == 3 then
    name, pattern, handle = ...
  else
    name = "_once_" .. tostring(handlers.onceNonce)
    handlers.onceNonce = handlers.onceNonce + 1
    pattern, handle = ...
  end
  handlers.prepend(name, pattern, handle, 1)
end

-- remove(name) removes the handler called name.
function handlers.remove(name)
  assert(type(name) == "string", "name MUST be string")
  if #handlers.list == 1 and handlers.list[1].name == name then
    handlers.list = {}
  end
  local i = indexOf(name)
  if i then table.remove(handlers.list, i) end
end

-- receive(pattern) suspends the running handler until a message matching pattern arrives, and returns it.
function handlers.receive(pattern)
  local self = coroutine.running()
  handlers.once(pattern, function(msg)
    local _, ok, err = coroutine.resume(self, msg)
    if not ok then error(err) end
  end)
  return coroutine.yield(pattern)
end

local matchCodes = { continue = 1, ["break"] = -1 }

-- evaluate runs the handlers matching msg, in list order, then "_default" if none stopped evaluation.
function handlers.evaluate(msg, env)
  assert(type(msg) == "table", "msg is not valid")
  assert(type(env) == "table", "env is not valid")
  local handled = false
  for _, h in ipairs(handlers.list) do
    if h.name ~= "_default" then
      local m = utils.matchesSpec(msg, h.pattern)
      local tm = type(m)
      if tm == "boolean" then
        m = m and -1 or 0
      elseif tm == "string" then
        m = matchCodes[m] or 0
      elseif tm ~= "number" then
        error("Pattern result is not valid, it MUST be string, number, or boolean")
      end
      if m ~= 0 then
        if m < 0 then handled = true end
        local ok, err = pcall(h.handle, msg, env)
        if not ok then error(err) end
        if h.maxRuns ~= nil and h.maxRuns ~= "inf" then
          h.maxRuns = h.maxRuns - 1
          if h.maxRuns == 0 then handlers.remove(h.name) end
        end
      end
      if m < 0 then return handled end
    end
  end
  if not handled then
    local i = indexOf("_default")
    if i then handlers.list[i].handle(msg, env) end
  end
end

return handlers
