-- token: the ao Standard Token blueprint. Load it into a process with require(".token") or by Eval of
-- this file's text (what `.load-blueprint token` does in the aos console). It keeps any existing state
-- (Balances, TotalSupply, Name, Ticker, Logo, Denomination) and installs these handlers:
--   Info          reply Name, Ticker, Logo, Denomination
--   Balance       reply Balance/Account/Ticker (Data = balance) of Recipient, Target or the sender
--   Balances      reply Data = JSON of all balances
--   Transfer      Recipient, Quantity: move tokens; Debit-Notice to the sender, Credit-Notice to the
--                 recipient (X-* tags of the request forwarded to both), none when Cast is set;
--                 Transfer-Error "Insufficient Balance!" otherwise
--   Mint          Quantity: only the process itself may mint (Mint-Error otherwise)
--   Total-Supply  reply Data = total supply (not to the process itself)
--   Burn          Quantity: destroy tokens of the sender
-- Quantities are decimal strings of integers; arithmetic is exact (bint).
local bint = require(".bint")(256)
local json = require("json")

local function add(a, b) return tostring(bint(a) + bint(b)) end
local function sub(a, b) return tostring(bint(a) - bint(b)) end

Variant = "0.0.3"
Denomination = Denomination or 12
Balances = Balances or { [ao.id] = tostring(bint(10000 * 10 ^ Denomination)) }
TotalSupply = TotalSupply or tostring(bint(10000 * 10 ^ Denomination))
Name = Name or "Points Coin"
Ticker = Ticker or "PNTS"
Logo = Logo or "SBCCXwwecBlDqRLUjb8dYABExTJXLieawf7m2aBJ-KY"

-- respond replies to msg (Reply-To / X-Reference aware), or sends to msg.From without msg.reply.
local function respond(msg, out)
  if msg.reply then
    msg.reply(out)
  else
    out.Target = msg.From
    Send(out)
  end
end

Handlers.add("info", Handlers.utils.hasMatchingTag("Action", "Info"), function(msg)
  respond(msg, { Name = Name, Ticker = Ticker, Logo = Logo, Denomination = tostring(Denomination) })
end)

Handlers.add("balance", Handlers.utils.hasMatchingTag("Action", "Balance"), function(msg)
  local bal = "0"
  if msg.Tags.Recipient then
    bal = Balances[msg.Tags.Recipient] or bal
  elseif msg.Tags.Target and Balances[msg.Tags.Target] then
    bal = Balances[msg.Tags.Target]
  elseif Balances[msg.From] then
    bal = Balances[msg.From]
  end
  respond(msg, { Balance = bal, Ticker = Ticker, Account = msg.Tags.Recipient or msg.From, Data = bal })
end)

Handlers.add("balances", Handlers.utils.hasMatchingTag("Action", "Balances"), function(msg)
  respond(msg, { Data = json.encode(Balances) })
end)

Handlers.add("transfer", Handlers.utils.hasMatchingTag("Action", "Transfer"), function(msg)
  assert(type(msg.Recipient) == "string", "Recipient is required!")
  assert(type(msg.Quantity) == "string", "Quantity is required!")
  assert(bint.__lt(0, bint(msg.Quantity)), "Quantity must be greater than 0")

  local from, to, qty = msg.From, msg.Recipient, msg.Quantity
  Balances[from] = Balances[from] or "0"
  Balances[to] = Balances[to] or "0"

  if not (bint(qty) <= bint(Balances[from])) then
    respond(msg, { Action = "Transfer-Error", ["Message-Id"] = msg.Id, Error = "Insufficient Balance!" })
    return
  end

  Balances[from] = sub(Balances[from], qty)
  Balances[to] = add(Balances[to], qty)
  if msg.Cast then return end

  local debit = {
    Action = "Debit-Notice",
    Recipient = to,
    Quantity = qty,
    Data = Colors.gray .. "You transferred " .. Colors.blue .. qty .. Colors.gray .. " to "
      .. Colors.green .. to .. Colors.reset,
  }
  local credit = {
    Target = to,
    Action = "Credit-Notice",
    Sender = from,
    Quantity = qty,
    Data = Colors.gray .. "You received " .. Colors.blue .. qty .. Colors.gray .. " from "
      .. Colors.green .. from .. Colors.reset,
  }
  for name, value in pairs(msg) do
    if type(name) == "string" and name:sub(1, 2) == "X-" then
      debit[name] = value
      credit[name] = value
    end
  end
  respond(msg, debit)
  Send(credit)
end)

Handlers.add("mint", Handlers.utils.hasMatchingTag("Action", "Mint"), function(msg)
  assert(type(msg.Quantity) == "string", "Quantity is required!")
  assert(bint(0) < bint(msg.Quantity), "Quantity must be greater than zero!")
  Balances[ao.id] = Balances[ao.id] or "0"
  if msg.From ~= ao.id then
    respond(msg, {
      Action = "Mint-Error",
      ["Message-Id"] = msg.Id,
      Error = "Only the Process Id can mint new " .. Ticker .. " tokens!",
    })
    return
  end
  Balances[msg.From] = add(Balances[msg.From], msg.Quantity)
  TotalSupply = add(TotalSupply, msg.Quantity)
  respond(msg, { Data = Colors.gray .. "Successfully minted " .. Colors.blue .. msg.Quantity .. Colors.reset })
end)

Handlers.add("totalSupply", Handlers.utils.hasMatchingTag("Action", "Total-Supply"), function(msg)
  assert(msg.From ~= ao.id, "Cannot call Total-Supply from the same process!")
  respond(msg, { Action = "Total-Supply", Data = TotalSupply, Ticker = Ticker })
end)

Handlers.add("burn", Handlers.utils.hasMatchingTag("Action", "Burn"), function(msg)
  assert(type(msg.Tags.Quantity) == "string", "Quantity is required!")
  assert(bint(msg.Tags.Quantity) <= bint(Balances[msg.From]), "Quantity must be less than or equal to the current balance!")
  Balances[msg.From] = sub(Balances[msg.From], msg.Tags.Quantity)
  TotalSupply = sub(TotalSupply, msg.Tags.Quantity)
  respond(msg, { Data = Colors.gray .. "Successfully burned " .. Colors.blue .. msg.Tags.Quantity .. Colors.reset })
end)

return "token blueprint loaded"
