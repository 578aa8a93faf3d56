-- stringify: the colored, indented table rendering used by print() and Eval results.
local stringify = { _version = "aogo-1" }

local colors = { red = "\27[31m", green = "\27[32m", blue = "\27[34m", reset = "\27[0m" }

local function scalar(v)
  if type(v) == "string" then return colors.green .. '"' .. v .. '"' .. colors.reset end
  return colors.blue .. tostring(v) .. colors.reset
end

-- isSimpleArray: keys 1..n in order, values only strings and numbers.
function stringify.isSimpleArray(t)
  local i = 1
  for k, v in pairs(t) do
    if k ~= i or (type(v) ~= "number" and type(v) ~= "string") then return false end
    i = i + 1
  end
  return true
end

-- format renders a table; simple arrays on one line, other arrays one item per line, maps as key = value.
function stringify.format(t, indent, visited)
  indent = indent or 0
  local pad = string.rep(" ", indent)
  local padChild = string.rep(" ", indent + 2)
  if stringify.isSimpleArray(t) then
    local items = {}
    for _, v in ipairs(t) do items[#items + 1] = scalar(v) end
    return "{ " .. table.concat(items, ", ") .. " }"
  end
  local isArray, nextIndex, items = true, 1, {}
  for k, v in pairs(t) do
    if isArray then
      if k == nextIndex then
        nextIndex = nextIndex + 1
        if type(v) == "table" then
          items[#items + 1] = padChild .. stringify.format(v, indent + 2)
        else
          items[#items + 1] = padChild .. scalar(v)
        end
      else
        isArray, items = false, {}
      end
    end
    if not isArray then
      local s
      if type(v) == "table" then
        visited = visited or {}
        if visited[v] then return "<circular reference>" end
        visited[v] = true
        s = stringify.format(v, indent + 2, visited)
      else
        s = scalar(v)
      end
      items[#items + 1] = padChild .. colors.red .. tostring(k) .. colors.reset .. " = " .. s
    end
  end
  if isArray then
    return "{\n" .. table.concat(items, ",\n") .. "\n" .. pad .. " }"
  end
  return "{\n " .. table.concat(items, ",\n ") .. "\n" .. pad .. "}"
end

return stringify
