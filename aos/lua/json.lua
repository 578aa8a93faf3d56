-- json: JSON encode/decode for aos processes (require("json") or require(".json")).
--
-- Encoding follows the conventions aos processes expect:
--   * a table whose key 1 is set, or an empty table, is an array (and must be a proper sequence);
--     any other table is an object and must have string keys; function values in objects are skipped
--   * integers are written exactly, floats with %.14g; NaN and infinities are errors
--   * strings escape ", \ and control characters
-- Decoding maps null to nil, numbers with math.tointeger when they are integral literals.
--
-- This file is the definition. json.encode and json.decode run the C codec (aos/csrc/json.c, package
-- "_aosjson"), which gives exactly these results several times faster, and come back here for what it
-- leaves to Lua: tables with metatables, and nesting deeper than the C side's bound.
local json = { _version = "aogo-2" }
local core = require("_aosjson")

local byte, char, sub, format, concat = string.byte, string.char, string.sub, string.format, table.concat
local mtype = math.type

local escapes = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}
local function escapeChar(c)
  return escapes[c] or format("\\u%04x", byte(c))
end

local encodeValue

local function encodeTable(t, seen, out)
  if seen[t] then error("circular reference") end
  seen[t] = true
  if rawget(t, 1) ~= nil or next(t) == nil then
    local n = 0
    for k in pairs(t) do
      if type(k) ~= "number" then error("invalid table: mixed or invalid key types") end
      n = n + 1
    end
    if n ~= #t then error("invalid table: sparse array") end
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      encodeValue(t[i], seen, out)
    end
    out[#out + 1] = "]"
  else
    out[#out + 1] = "{"
    local first = true
    for k, v in pairs(t) do
      if type(k) ~= "string" then error("invalid table: mixed or invalid key types") end
      if type(v) ~= "function" then
        if not first then out[#out + 1] = "," end
        first = false
        out[#out + 1] = '"' .. k:gsub('[%z\1-\31"\\]', escapeChar) .. '":'
        encodeValue(v, seen, out)
      end
    end
    out[#out + 1] = "}"
  end
  seen[t] = nil
end

encodeValue = function(v, seen, out)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = '"' .. v:gsub('[%z\1-\31"\\]', escapeChar) .. '"'
  elseif tv == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("unexpected number value '" .. tostring(v) .. "'")
    end
    if mtype(v) == "integer" then
      out[#out + 1] = format("%d", v)
    else
      out[#out + 1] = format("%.14g", v)
    end
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "nil" then
    out[#out + 1] = "null"
  elseif tv == "table" then
    encodeTable(v, seen, out)
  else
    error("unexpected type '" .. tv .. "'")
  end
end

local function luaEncode(v)
  local out = {}
  encodeValue(v, {}, out)
  return concat(out)
end

-- Decoding ------------------------------------------------------------------------------------------

local function decodeError(s, i, what)
  local line, col = 1, 1
  for j = 1, i - 1 do
    if byte(s, j) == 10 then line, col = line + 1, 1 else col = col + 1 end
  end
  error(format("%s at line %d col %d", what, line, col))
end

local function skip(s, i)
  local _, e = s:find("^[ \t\r\n]*", i)
  return e + 1
end

local function utf8char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)) end
  if cp < 0x10000 then return char(0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)) end
  return char(0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F))
end

local unescapes = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }

local decodeValue

local function decodeString(s, i)
  -- s[i] is the opening quote
  local parts = {}
  local j = i + 1
  while true do
    local a, b = s:find('^[^"\\%z\1-\31]*', j)
    if b >= a then parts[#parts + 1] = sub(s, a, b) end
    j = b + 1
    local c = sub(s, j, j)
    if c == '"' then
      return concat(parts), j + 1
    elseif c == '\\' then
      local e = sub(s, j + 1, j + 1)
      if e == 'u' then
        local hex = s:match('^%x%x%x%x', j + 2)
        if not hex then decodeError(s, j, "invalid unicode escape in string") end
        local cp = tonumber(hex, 16)
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = s:match('^\\u([dD][c-fC-F]%x%x)', j)
          if lo then
            cp = 0x10000 + ((cp - 0xD800) << 10) + (tonumber(lo, 16) - 0xDC00)
            j = j + 6
          end
        end
        parts[#parts + 1] = utf8char(cp)
      elseif unescapes[e] then
        parts[#parts + 1] = unescapes[e]
        j = j + 2
      else
        decodeError(s, j, "invalid escape char '" .. e .. "' in string")
      end
    elseif c == '' then
      decodeError(s, i, "expected closing quote for string")
    else
      decodeError(s, j, "control character in string")
    end
  end
end

local function decodeNumber(s, i)
  local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', i)
  if not num or num == '' or num == '-' then decodeError(s, i, "invalid number") end
  local n = tonumber(num)
  if not n then decodeError(s, i, "invalid number '" .. num .. "'") end
  return n, i + #num
end

local function decodeArray(s, i)
  local res, n = {}, 0
  i = skip(s, i + 1)
  if sub(s, i, i) == "]" then return res, i + 1 end
  while true do
    local v
    v, i = decodeValue(s, i)
    n = n + 1
    res[n] = v
    i = skip(s, i)
    local c = sub(s, i, i)
    if c == "]" then return res, i + 1 end
    if c ~= "," then decodeError(s, i, "expected ']' or ','") end
    i = skip(s, i + 1)
  end
end

local function decodeObject(s, i)
  local res = {}
  i = skip(s, i + 1)
  if sub(s, i, i) == "}" then return res, i + 1 end
  while true do
    if sub(s, i, i) ~= '"' then decodeError(s, i, "expected string for key") end
    local k
    k, i = decodeString(s, i)
    i = skip(s, i)
    if sub(s, i, i) ~= ":" then decodeError(s, i, "expected ':' after key") end
    i = skip(s, i + 1)
    local v
    v, i = decodeValue(s, i)
    res[k] = v
    i = skip(s, i)
    local c = sub(s, i, i)
    if c == "}" then return res, i + 1 end
    if c ~= "," then decodeError(s, i, "expected '}' or ','") end
    i = skip(s, i + 1)
  end
end

decodeValue = function(s, i)
  local c = sub(s, i, i)
  if c == '"' then return decodeString(s, i)
  elseif c == "{" then return decodeObject(s, i)
  elseif c == "[" then return decodeArray(s, i)
  elseif c == "-" or c:match("%d") then return decodeNumber(s, i)
  elseif sub(s, i, i + 3) == "true" then return true, i + 4
  elseif sub(s, i, i + 4) == "false" then return false, i + 5
  elseif sub(s, i, i + 3) == "null" then return nil, i + 4
  end
  decodeError(s, i, "unexpected character '" .. c .. "'")
end

local function luaDecode(s)
  local v, i = decodeValue(s, skip(s, 1))
  i = skip(s, i)
  if i <= #s then decodeError(s, i, "trailing garbage") end
  return v
end

function json.encode(v)
  local ok, out = core.encode(v)
  if ok then return out end
  if ok == false then error(out) end
  return luaEncode(v)
end

function json.decode(s)
  if type(s) ~= "string" then
    error("expected argument of type string, got " .. type(s))
  end
  local ok, v = core.decode(s)
  if ok then return v end
  if ok == false then error(v) end
  return luaDecode(s)
end

-- The Lua codec alone, for the tests that hold the C codec to it.
json._luaEncode, json._luaDecode = luaEncode, luaDecode

return json
