-- process: the aos process (require(".process")). process.handle(msg, env) evaluates one message:
--   1. bind ao to the process (ao.init), copy tags to the message root, turn msg.Tags into a name->value
--      table (the list stays in msg.TagArray), decode JSON Data, set os.time to msg.Timestamp;
--   2. drop untrusted messages: From differs from Owner (pushed by a process) and neither is an Authority;
--      drop assignments (Target is not this process) that match no ao.addAssignable spec;
--   3. run the handlers (Handlers.evaluate) inside a coroutine, so a handler may wait with Receive;
--   4. return ao.result: Output {data, prompt, print} built from print() calls, and the outbox.
local json = require("json")
local coroutine = require("coroutine")
local stringify = require(".stringify")
local chance = require(".chance")

if not package.loaded["ao"] then package.loaded["ao"] = require(".ao") end
ao = require(".ao")
package.loaded["ao"] = ao

Colors = {
  red = "\27[31m",
  green = "\27[32m",
  blue = "\27[34m",
  reset = "\27[0m",
  gray = "\27[90m",
}
Bell = "\x07"
Dump = require(".dump")
Utils = require(".utils")
Handlers = require(".handlers")

local process = { _version = "2.0.6-aogo" }

local maxInboxCount = 10000

local function insertInbox(msg)
  table.insert(Inbox, msg)
  while #Inbox > maxInboxCount do table.remove(Inbox, 1) end
end

local function findTag(tags, name)
  for _, t in ipairs(tags or {}) do
    if t.name == name then return t end
  end
  return nil
end

-- Tab returns the tags of msg as a name -> value table; the first tag of a name wins.
function Tab(msg)
  local r = {}
  for _, t in ipairs(msg.Tags) do
    if r[t.name] == nil then r[t.name] = t.value end
  end
  return r
end

function Prompt()
  return Colors.green .. Name .. Colors.gray
    .. "@" .. Colors.blue .. "aos-" .. process._version .. Colors.gray
    .. "[Inbox:" .. Colors.red .. tostring(#Inbox) .. Colors.gray
    .. "]" .. Colors.reset .. "> "
end

-- print appends a line to this message's Output.data (tables are formatted, other non-strings colored).
function print(a)
  if type(a) == "table" then
    a = stringify.format(a)
  elseif type(a) == "boolean" then
    a = Colors.blue .. tostring(a) .. Colors.reset
  elseif a == nil then
    a = Colors.red .. "nil" .. Colors.reset
  elseif type(a) == "number" then
    a = Colors.green .. tostring(a) .. Colors.reset
  else
    a = tostring(a)
  end
  local data = a
  if ao.outbox.Output.data then
    data = ao.outbox.Output.data .. "\n" .. a
  end
  ao.outbox.Output = { data = data, prompt = Prompt(), print = true }
  if HANDLER_PRINT_LOGS then
    table.insert(HANDLER_PRINT_LOGS, a)
    return nil
  end
  return a
end

function Send(msg)
  if not msg.Target then
    print("WARN: No target specified for message. Data will be stored, but no process will receive it.")
  end
  local m = ao.send(msg)
  return { output = "Message added to outbox", receive = m.receive, onReply = m.onReply }
end

-- Spawn([module,] msg) spawns a process of module (default: this process's module).
function Spawn(...)
  local module, msg
  if select("#", ...) == 1 then
    module, msg = ao._module, ...
  else
    module, msg = ...
  end
  local s = ao.spawn(module, msg or {})
  return { output = "Spawn process request added to outbox", after = s.after, receive = s.receive, onReply = s.onReply }
end

function Receive(match)
  return Handlers.receive(match)
end

function Assign(assignment)
  ao.assign(assignment)
  print("Assignment added to outbox.")
  return "Assignment added to outbox."
end

function Version()
  print("version: " .. process._version)
end

Seeded = Seeded or false

local function initializeState(msg, env)
  if not Seeded then
    -- the seed depends on the first message only (normally the Process message itself)
    local sum = 0
    local s = (msg.Owner or "") .. (msg.Module or "") .. (msg.Id or "")
    for i = 1, #s do sum = sum + s:byte(i) end
    chance.seed(tonumber(tostring(msg["Block-Height"] or 0) .. sum) or 0)
    math.random = function(...)
      local n = select("#", ...)
      local a, b = ...
      if n == 1 then return chance.integer(1, a) end
      if n == 2 then return chance.integer(a, b) end
      return chance.random()
    end
    math.randomseed = function() end
    Seeded = true
  end
  Errors = Errors or {}
  Inbox = Inbox or {}
  if env.Process.Id == msg.Id and not Owner then
    local from = findTag(env.Process.Tags, "From-Process")
    Owner = from and from.value or msg.From
  end
  if not Name then
    local name = findTag(env.Process.Tags, "Name")
    Name = name and name.value or "aos"
  end
end

local function defaultHandler(msg)
  insertInbox(msg)
  local from = msg.From and (msg.From:sub(1, 3) .. "..." .. msg.From:sub(-3)) or "unknown"
  local txt = Colors.gray .. "New Message From " .. Colors.green .. from .. Colors.gray .. ": "
  if msg.Action then
    txt = txt .. Colors.gray .. "Action = " .. Colors.blue .. tostring(msg.Action):sub(1, 20) .. Colors.reset
  else
    local data = msg.Data
    if type(data) == "table" then data = json.encode(data) end
    txt = txt .. Colors.gray .. "Data = " .. Colors.blue .. (data and tostring(data):sub(1, 20) or "") .. Colors.reset
  end
  print(txt)
end

local function output(extra)
  local o = { data = table.concat(HANDLER_PRINT_LOGS, "\n"), prompt = Prompt() }
  for k, v in pairs(extra) do o[k] = v end
  return o
end

local function withoutLastLines(s, n)
  local lines = {}
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  for _ = 1, n do table.remove(lines) end
  return table.concat(lines, "\n")
end

function process.handle(msg, envOrCtx)
  local env = envOrCtx.Process and envOrCtx or envOrCtx.env
  ao.init(env)
  msg = ao.normalize(msg)
  ao.id = ao.env.Process.Id
  initializeState(msg, ao.env)
  HANDLER_PRINT_LOGS = {}

  local now = msg.Timestamp
  os.time = function() return now end

  msg.TagArray = msg.Tags
  msg.Tags = Tab(msg)
  ao.env.Process.TagArray = ao.env.Process.Tags
  ao.env.Process.Tags = Tab(ao.env.Process)

  if msg.Tags["Content-Type"] == "application/json" then
    msg.Data = json.decode(msg.Data or "{}")
  end

  Errors = Errors or {}
  ao.clearOutbox()

  -- Only the owner's (signed) messages and those of an Authority are trusted: a message pushed by a
  -- process (From = From-Process differs from the signer) must be signed by an Authority.
  if msg.From ~= msg.Owner and not ao.isTrusted(msg) then
    print("Message is not trusted! From: " .. tostring(msg.From) .. " - Owner: " .. tostring(msg.Owner))
    return ao.result({})
  end
  if ao.isAssignment(msg) and not ao.isAssignable(msg) then
    if msg.From ~= ao.id then
      Send({ Target = msg.From, Data = "Assignment is not trusted by this process!" })
    end
    print("Assignment is not trusted! From: " .. tostring(msg.From) .. " - Owner: " .. tostring(msg.Owner))
    return ao.result({})
  end

  Handlers.add("_eval", function(m)
    return m.Action == "Eval" and Owner == m.From
  end, require(".eval")(ao))

  if env.Process.Id == msg.Id then
    Handlers.once("_boot", function(m)
      return m.Tags.Type == "Process" and Owner == m.From
    end, require(".boot-loader")(ao))
  end

  Handlers.append("_default", function() return true end, defaultHandler)

  msg.reply = function(r)
    r.Target = msg["Reply-To"] or r.Target or msg.From
    r["X-Reference"] = msg["X-Reference"] or msg.Reference
    r["X-Origin"] = msg["X-Origin"] or nil
    return ao.send(r)
  end

  msg.forward = function(target, fields)
    local m = ao.sanitize(msg)
    for k, v in pairs(fields or {}) do m[k] = v end
    m.Target = target
    m["Reply-To"] = msg["Reply-To"] or msg.From
    m["X-Reference"] = msg["X-Reference"] or msg.Reference
    m["X-Origin"] = msg["X-Origin"] or msg.From
    m.reply, m.forward = nil, nil
    ao.send(m)
  end

  local co = coroutine.create(function()
    return pcall(Handlers.evaluate, msg, env)
  end)
  local _, ok, result = coroutine.resume(co)

  -- keep suspended handlers (Receive) alive; drop finished ones
  table.insert(Handlers.coroutines, co)
  local alive = {}
  for _, c in ipairs(Handlers.coroutines) do
    if coroutine.status(c) ~= "dead" then alive[#alive + 1] = c end
  end
  Handlers.coroutines = alive

  if not ok then
    -- (like aos, a non-string error object fails here with "attempt to concatenate a table value")
    if msg.Action == "Eval" then
      table.insert(Errors, result)
      return { Error = table.concat(HANDLER_PRINT_LOGS, "\n") .. "\n\n" .. Colors.red .. "error:\n" .. Colors.reset .. result }
    end
    if msg.Action then
      print(Colors.red .. "Error" .. Colors.gray .. " handling message with Action = " .. tostring(msg.Action) .. Colors.reset)
    else
      print(Colors.red .. "Error" .. Colors.gray .. " handling message " .. Colors.reset)
    end
    print(Colors.green .. result .. Colors.reset)
    print("\n" .. Colors.gray .. withoutLastLines(debug.traceback(), 3) .. Colors.reset)
    return ao.result({
      Error = table.concat(HANDLER_PRINT_LOGS, "\n") .. "\n\n" .. Colors.red .. "error:\n" .. Colors.reset .. result,
      Messages = {}, Spawns = {}, Assignments = {},
    })
  end

  local response
  if msg.Action == "Eval" then
    -- Eval results carry no print flag; test is the raw list of printed lines (as aos returns it)
    response = ao.result({ Output = output({ test = Dump(HANDLER_PRINT_LOGS) }) })
  else
    response = ao.result({ Output = output({ print = true }) })
  end
  HANDLER_PRINT_LOGS = {}
  ao.Nonce = msg.Nonce
  return response
end

return process
