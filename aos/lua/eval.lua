-- eval: the handler of Action = "Eval" messages from the process Owner: runs msg.Data as Lua in the
-- global environment (as an expression first, then as a chunk) and prints the value it returns.
-- A compile error, or a second return value, becomes the result's Error.
local stringify = require(".stringify")

return function(ao)
  return function(msg)
    local code = msg.Data
    if type(code) ~= "string" then code = tostring(code) end
    local fn, err = load("return " .. code, "aos", "t", _G)
    if err then
      fn, err = load(code, "aos", "t", _G)
    end
    if not fn then
      ao.outbox.Error = err
      return
    end
    local value, e = fn()
    if e then
      ao.outbox.Error = e
      return
    end
    if value then
      table.insert(HANDLER_PRINT_LOGS, type(value) == "table" and stringify.format(value) or tostring(value))
    end
  end
end
