-- boot-loader: the once-handler for the Process message itself (the first message of an aos process).
-- It puts the Process message in the Inbox and, with an On-Boot = "Data" tag, evaluates the process Data
-- as Lua (like Eval). On-Boot = <tx id> needs the data of that transaction, which this module cannot
-- fetch (no WeaveDrive): it is reported as an error.
return function(ao)
  local eval = require(".eval")(ao)
  return function(msg)
    if #Inbox == 0 then table.insert(Inbox, msg) end
    local onBoot = msg.Tags["On-Boot"]
    if onBoot == nil then return end
    if onBoot == "Data" then
      eval(msg)
    else
      ao.outbox.Error = "On-Boot " .. onBoot .. ": loading a transaction is not supported by this module"
    end
  end
end
