-- handlers-utils: pattern and handler builders (Handlers.utils).
local utils = require(".utils")

local hutils = { _version = "aogo-1" }

-- hasMatchingTag(name, value) matches messages whose tag name equals value.
function hutils.hasMatchingTag(name, value)
  assert(type(name) == "string" and type(value) == "string", "invalid arguments: (name : string, value : string)")
  return function(msg)
    return msg.Tags[name] == value
  end
end

-- hasMatchingTagOf(name, values) matches messages whose tag name equals one of values.
function hutils.hasMatchingTagOf(name, values)
  assert(type(name) == "string" and type(values) == "table", "invalid arguments: (name : string, values : string[])")
  return function(msg)
    for _, value in ipairs(values) do
      local r = hutils.hasMatchingTag(name, value)(msg)
      if r ~= 0 and r ~= false and r ~= "skip" then return r end
    end
    return 0
  end
end

-- hasMatchingData(value) matches messages whose Data equals value.
function hutils.hasMatchingData(value)
  assert(type(value) == "string", "invalid arguments: (value : string)")
  return function(msg)
    return msg.Data == value
  end
end

-- reply(input) is a handler replying with input: a string becomes the Data, a table is the reply message.
function hutils.reply(input)
  assert(type(input) == "table" or type(input) == "string", "invalid arguments: (input : table or string)")
  return function(msg)
    if type(input) == "string" then
      msg.reply({ Data = input })
    else
      msg.reply(input)
    end
  end
end

-- continue(pattern) matches like pattern but lets evaluation go on to the next handlers.
function hutils.continue(pattern)
  return function(msg)
    local m = utils.matchesSpec(msg, pattern)
    if not m or m == 0 or m == "skip" then return m end
    return 1
  end
end

return hutils
