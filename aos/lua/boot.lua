-- boot: run once by main() when the module is instantiated. Registers the short module names and defines
-- the global handle(msgJSON, envJSON) that the C entry point calls for every message. It returns the JSON
-- {"ok": true, "response": <result>} or {"ok": false, "response": "<error>"} (the ao handle ABI).
package.preload["json"] = package.preload[".json"]
package.preload["ao"] = function() return require(".ao") end
package.preload[".pretty"] = function()
  local stringify = require(".stringify")
  return { tprint = function(t) return stringify.format(t) end }
end

-- Nothing in a process may depend on the host: no wall clock, no file system, no shell.
os.execute = nil
os.exit = nil
os.remove = nil
os.rename = nil
os.tmpname = nil
os.getenv = nil
os.clock = function() return 0 end
io.popen = nil

local json = require("json")

function handle(msgJSON, envJSON)
  local process = require(".process")
  local ok, response = pcall(function()
    return process.handle(json.decode(msgJSON), json.decode(envJSON))
  end)
  local encOk, out = pcall(json.encode, { ok = ok, response = response })
  if not encOk then
    out = json.encode({ ok = false, response = "encoding the result: " .. tostring(out) })
  end
  -- No full collectgarbage() here: its cost grows with the heap and it dominated small messages. Lua's
  -- incremental collector is deterministic too, so memory stays bounded and replays stay identical.
  response = nil
  return out
end
