-- base64: standard base64 (RFC 4648, with padding) encode / decode.
local base64 = {}

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local decodeMap = {}
for i = 1, 64 do decodeMap[alphabet:byte(i)] = i - 1 end
decodeMap[("-"):byte()] = 62 -- accept base64url too
decodeMap[("_"):byte()] = 63

function base64.encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local chunk = {
      alphabet:sub((n >> 18) + 1, (n >> 18) + 1),
      alphabet:sub(((n >> 12) & 63) + 1, ((n >> 12) & 63) + 1),
      b and alphabet:sub(((n >> 6) & 63) + 1, ((n >> 6) & 63) + 1) or "=",
      c and alphabet:sub((n & 63) + 1, (n & 63) + 1) or "=",
    }
    out[#out + 1] = table.concat(chunk)
  end
  return table.concat(out)
end

function base64.decode(s)
  local out, n, bits = {}, 0, 0
  for i = 1, #s do
    local v = decodeMap[s:byte(i)]
    if v then
      n = (n << 6) | v
      bits = bits + 6
      if bits >= 8 then
        bits = bits - 8
        out[#out + 1] = string.char((n >> bits) & 0xff)
      end
    end
  end
  return table.concat(out)
end

return base64
