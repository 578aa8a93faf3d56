-- ao: the process's view of the ao network (global ao, require("ao") / require(".ao")).
--
-- ao.send / ao.spawn / ao.assign fill the outbox that handle() returns to the CU:
--   Messages    {Target, Data, Anchor, Tags = {{name, value}...}}
--   Spawns      {Data, Anchor, Tags}
--   Assignments {Processes = {pid...}, Message = id}
-- Every send and spawn takes the next reference number n: tag Reference = n and Anchor = n zero-padded to
-- 32 digits. Replies carry X-Reference = n, which is what onReply/receive wait for.
local utils = require(".utils")
local json = require("json")

local prev = ao or {}

local ao = {
  _version = "aogo-1",
  id = prev.id or "",
  _module = prev._module or "",
  authorities = prev.authorities or {},
  reference = prev.reference or 0,
  outbox = prev.outbox or { Output = {}, Messages = {}, Spawns = {}, Assignments = {} },
  assignables = prev.assignables or {},
  -- tags that stay in msg.Tags only (normalize does not copy them to the message root)
  nonExtractableTags = {
    "Data-Protocol", "Variant", "From-Process", "From-Module", "Type",
    "From", "Owner", "Anchor", "Target", "Data", "Tags", "Read-Only",
  },
  -- fields msg.forward does not copy to the forwarded message
  nonForwardableTags = {
    "Data-Protocol", "Variant", "From-Process", "From-Module", "Type",
    "From", "Owner", "Anchor", "Target", "Tags", "TagArray", "Hash-Chain",
    "Timestamp", "Nonce", "Epoch", "Signature", "Forwarded-By",
    "Pushed-For", "Read-Only", "Cron", "Block-Height", "Reference", "Id",
    "Reply-To",
  },
  Nonce = prev.Nonce,
}

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local reservedSendKeys = set({ "Target", "Data", "Anchor", "Tags", "From" })

local function anchor(n) return string.format("%032d", n) end

-- clone deep-copies a value (tables keep their metatables).
function ao.clone(obj, seen)
  if type(obj) ~= "table" then return obj end
  seen = seen or {}
  if seen[obj] then return seen[obj] end
  local r = {}
  seen[obj] = r
  for k, v in pairs(obj) do r[ao.clone(k, seen)] = ao.clone(v, seen) end
  return setmetatable(r, getmetatable(obj))
end

-- normalize copies the message's tags to the message root (later tags win), except nonExtractableTags.
function ao.normalize(msg)
  local skip = set(ao.nonExtractableTags)
  for _, t in ipairs(msg.Tags or {}) do
    if not skip[t.name] then msg[t.name] = t.value end
  end
  return msg
end

-- sanitize returns a copy of msg without the nonForwardableTags fields.
function ao.sanitize(msg)
  local r = ao.clone(msg)
  for _, k in ipairs(ao.nonForwardableTags) do r[k] = nil end
  return r
end

-- init binds the module to the process on every message: id, module id, authorities, a fresh outbox.
function ao.init(env)
  if ao.id == "" then ao.id = env.Process.Id end
  if ao._module == "" then
    for _, t in ipairs(env.Process.Tags) do
      if t.name == "Module" then ao._module = t.value end
    end
  end
  local known = set(ao.authorities)
  for _, t in ipairs(env.Process.Tags) do
    if t.name == "Authority" and type(t.value) == "string" then
      for part in t.value:gmatch("[^,]+") do
        part = part:match("^%s*(.-)%s*$")
        if part ~= "" and not known[part] then
          known[part] = true
          table.insert(ao.authorities, part)
        end
      end
    end
  end
  ao.outbox = { Output = {}, Messages = {}, Spawns = {}, Assignments = {} }
  ao.env = env
end

function ao.log(txt)
  if type(ao.outbox.Output) == "string" then
    ao.outbox.Output = { ao.outbox.Output }
  end
  table.insert(ao.outbox.Output, txt)
end

function ao.clearOutbox()
  ao.outbox = { Output = {}, Messages = {}, Spawns = {}, Assignments = {} }
end

-- addTags appends the custom fields of msg (root keys other than Target/Data/Anchor/Tags/From, in name
-- order so the output is deterministic) and msg.Tags (a {name, value} list or a name->value table).
local function addTags(tags, msg)
  local keys = {}
  for k, v in pairs(msg) do
    if not reservedSendKeys[k] and type(v) ~= "function" then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do tags[#tags + 1] = { name = k, value = msg[k] } end
  if type(msg.Tags) == "table" then
    if utils.isArray(msg.Tags) then
      for _, t in ipairs(msg.Tags) do tags[#tags + 1] = t end
    else
      local names = {}
      for k in pairs(msg.Tags) do names[#names + 1] = k end
      table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
      for _, k in ipairs(names) do tags[#tags + 1] = { name = k, value = msg.Tags[k] } end
    end
  end
end

local function copy(t)
  local r = {}
  for k, v in pairs(t) do r[k] = v end
  return r
end

-- jsonData turns a table Data into JSON text with Content-Type application/json.
local function jsonData(msg)
  if type(msg.Data) == "table" then
    msg["Content-Type"] = "application/json"
    msg.Data = json.encode(msg.Data)
  end
end

-- send queues a message and returns it with onReply(handler) / receive() for the reply.
function ao.send(msg)
  assert(type(msg) == "table", "msg should be a table")
  jsonData(msg)
  ao.reference = ao.reference + 1
  local ref = tostring(ao.reference)
  local out = {
    Target = msg.Target,
    Data = msg.Data,
    Anchor = anchor(ao.reference),
    Tags = {
      { name = "Data-Protocol", value = "ao" },
      { name = "Variant", value = "ao.TN.1" },
      { name = "Type", value = "Message" },
      { name = "Reference", value = ref },
    },
  }
  addTags(out.Tags, msg)
  if not Handlers then return out end
  table.insert(ao.outbox.Messages, copy(out))
  -- onReply([from,] handler): run handler once on the reply (X-Reference = ref) from the target (or from).
  out.onReply = function(...)
    local from, resolver
    if select("#", ...) == 2 then
      from, resolver = ...
    else
      from, resolver = out.Target, ...
    end
    Handlers.once({ From = from, ["X-Reference"] = ref }, resolver)
  end
  -- receive([from]): suspend until that reply arrives and return it.
  out.receive = function(...)
    local from = out.Target
    if select("#", ...) == 1 then from = ... end
    return Handlers.receive({ From = from, ["X-Reference"] = ref })
  end
  return out
end

-- spawn queues a new process of module (a module id) and returns it with onReply / receive, which wait
-- for the MU's Spawned notice (Action = Spawned, Reference = the spawn's reference).
function ao.spawn(module, msg)
  assert(type(module) == "string", "Module source id is required!")
  assert(type(msg) == "table", "Message must be a table")
  jsonData(msg)
  ao.reference = ao.reference + 1
  local ref = tostring(ao.reference)
  local out = {
    Data = msg.Data or "NODATA",
    Anchor = anchor(ao.reference),
    Tags = {
      { name = "Data-Protocol", value = "ao" },
      { name = "Variant", value = "ao.TN.1" },
      { name = "Type", value = "Process" },
      { name = "From-Process", value = ao.id },
      { name = "From-Module", value = ao._module },
      { name = "Module", value = module },
      { name = "Reference", value = ref },
    },
  }
  addTags(out.Tags, msg)
  if not Handlers then return out end
  table.insert(ao.outbox.Spawns, copy(out))
  local spec = { Action = "Spawned", From = ao.id, Reference = ref }
  out.onReply = function(callback) Handlers.once(spec, callback) end
  out.after = out.onReply
  out.receive = function() return Handlers.receive(spec) end
  return out
end

-- assign queues an assignment of an existing message to processes.
function ao.assign(assignment)
  assert(type(assignment) == "table", "assignment should be a table")
  assert(type(assignment.Processes) == "table", "Processes should be a table")
  assert(type(assignment.Message) == "string", "Message should be a string")
  table.insert(ao.outbox.Assignments, assignment)
end

-- isTrusted: a message is trusted when its signer (Owner) is one of the process's authorities. Its From is
-- not enough: for a pushed message From is the From-Process tag, which any signer can write, so a stranger
-- naming an Authority (an MU's address) in From-Process would pass. aos 2.x also trusts From; aogo does not.
function ao.isTrusted(msg)
  for _, a in ipairs(ao.authorities) do
    if msg.Owner == a then return true end
  end
  return false
end

-- result builds what handle() returns: the Error alone, or Output and the outbox.
function ao.result(r)
  if ao.outbox.Error or r.Error then
    return { Error = r.Error or ao.outbox.Error }
  end
  return {
    Output = r.Output or ao.outbox.Output,
    Messages = ao.outbox.Messages,
    Spawns = ao.outbox.Spawns,
    Assignments = ao.outbox.Assignments,
  }
end

-- Assignables: messages assigned to this process (Target ~= ao.id) are accepted only when they match one
-- of the registered match specs.
function ao.addAssignable(...)
  local name, spec
  if select("#", ...) == 1 then
    spec = ...
  else
    name, spec = ...
    assert(type(name) == "string", "MatchSpec name MUST be a string")
  end
  if name then
    for _, a in ipairs(ao.assignables) do
      if a.name == name then a.pattern = spec return end
    end
  end
  table.insert(ao.assignables, { name = name, pattern = spec })
end

function ao.removeAssignable(name)
  local idx
  if type(name) == "string" then
    for i, a in ipairs(ao.assignables) do
      if a.name == name then idx = i break end
    end
  else
    assert(type(name) == "number", "index MUST be a number")
    idx = name
  end
  if idx and idx > 0 and idx <= #ao.assignables then table.remove(ao.assignables, idx) end
end

function ao.isAssignment(msg) return msg.Target ~= ao.id end

function ao.isAssignable(msg)
  for _, a in pairs(ao.assignables) do
    if utils.matchesSpec(msg, a.pattern) then return true end
  end
  return false
end

return ao
