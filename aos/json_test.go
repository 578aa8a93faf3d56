package aos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aogo/aogo/vm"
)

// The C JSON codec (csrc/json.c) must give exactly what the Lua codec (lua/json.lua) gives: the same values
// with the same number subtypes and the same table layout (pairs order, borders), the same text, the same
// error messages. These tests run both inside our module and compare them there.

// jsonChecker is Lua, run once per machine: JSONCHECK_DECODE(s) and JSONCHECK_ENCODE(v) return "ok" or what
// differs. Error messages are compared without their "chunk:line:" prefix (the two raise at other lines).
const jsonChecker = `
local json = require("json")
local function strip(e) return (tostring(e):gsub('^%[string "[^"]*"%]:%d+: ', '')) end
local function same(a, b, depth)
  if type(a) ~= type(b) then return false, "type " .. type(a) .. " / " .. type(b) end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then return false, "number subtype" end
    if a ~= b and (a == a or b == b) then return false, "number " .. tostring(a) .. " / " .. tostring(b) end
    if math.type(a) == "float" and a == 0 and 1/a ~= 1/b then return false, "sign of zero" end
    return true
  end
  if type(a) ~= "table" then
    if a ~= b then return false, "value " .. tostring(a) .. " / " .. tostring(b) end
    return true
  end
  if depth > 400 then return true end
  local ka, kb = {}, {}
  for k in pairs(a) do ka[#ka + 1] = k end
  for k in pairs(b) do kb[#kb + 1] = k end
  if #ka ~= #kb then return false, "key count " .. #ka .. " / " .. #kb end
  for i = 1, #ka do
    if ka[i] ~= kb[i] then return false, "key order at " .. i end
    local ok, why = same(a[ka[i]], b[kb[i]], depth + 1)
    if not ok then return false, why end
  end
  if #a ~= #b then return false, "border " .. #a .. " / " .. #b end
  return true
end
local function compareEncode(v)
  local ok1, r1 = pcall(json.encode, v)
  local ok2, r2 = pcall(json._luaEncode, v)
  if ok1 ~= ok2 then return "encode: ok " .. tostring(ok1) .. " / " .. tostring(ok2) .. ": " .. strip(r1) .. " / " .. strip(r2) end
  if not ok1 and strip(r1) ~= strip(r2) then return "encode error: " .. strip(r1) .. " / " .. strip(r2) end
  if ok1 and r1 ~= r2 then return "encode text: " .. r1 .. " / " .. r2 end
  return "ok", ok1 and r1 or nil
end
function JSONCHECK_DECODE(s)
  local ok1, v1 = pcall(json.decode, s)
  local ok2, v2 = pcall(json._luaDecode, s)
  if ok1 ~= ok2 then return "decode: ok " .. tostring(ok1) .. " / " .. tostring(ok2) .. ": " .. strip(v1) .. " / " .. strip(v2) end
  if not ok1 then
    if strip(v1) ~= strip(v2) then return "decode error: " .. strip(v1) .. " / " .. strip(v2) end
    return "ok"
  end
  local eq, why = same(v1, v2, 0)
  if not eq then return "decode value: " .. why end
  return (compareEncode(v1))
end
function JSONCHECK_ENCODE(v)
  local r, text = compareEncode(v)
  if r ~= "ok" or text == nil then return r end
  return JSONCHECK_DECODE(text)
end
`

// jsonMachine is our module booted with the checker loaded; tests and the fuzz target share it.
type jsonMachine struct {
	mu   sync.Mutex
	m    vm.Machine
	env  []byte
	seq  int
	fail error
}

var (
	jsonOnce sync.Once
	jsonVM   jsonMachine
)

func (j *jsonMachine) msg(action, data string) []byte {
	j.seq++
	b, _ := json.Marshal(map[string]any{
		"Id": fmt.Sprintf("JSONTEST%035d", j.seq), "Owner": jsonOwner, "From": jsonOwner, "Target": jsonPID,
		"Tags": []map[string]string{{"name": "Action", "value": action}}, "Data": data,
		"Timestamp": 1700000000000 + int64(j.seq), "Block-Height": 1000 + j.seq,
	})
	return b
}

const (
	jsonPID   = "JSONPROCESS0000000000000000000000000000000"
	jsonOwner = "JSONOWNER000000000000000000000000000000000"
)

func sharedJSONMachine(t testing.TB) *jsonMachine {
	jsonOnce.Do(func() {
		j := &jsonVM
		m, err := vm.Open(Format, Module, vm.Options{})
		if err != nil {
			j.fail = err
			return
		}
		tags := []map[string]string{{"name": "Data-Protocol", "value": "ao"}, {"name": "Type", "value": "Process"}}
		j.env, _ = json.Marshal(map[string]any{
			"Process": map[string]any{"Id": jsonPID, "Owner": jsonOwner, "Tags": tags},
			"Module":  map[string]any{"Id": "MODULE", "Owner": "", "Tags": []any{}},
		})
		boot, _ := json.Marshal(map[string]any{"Id": jsonPID, "Owner": jsonOwner, "From": jsonOwner, "Target": jsonPID,
			"Tags": tags, "Data": "", "Timestamp": 1700000000000, "Block-Height": 1000})
		j.m = m
		for _, msg := range [][]byte{boot, j.msg("Eval", jsonChecker)} {
			if r, err := m.Apply(context.Background(), msg, j.env); err != nil || r.Error != "" {
				j.fail = fmt.Errorf("boot the checker: %v %s", err, r.Error)
				return
			}
		}
	})
	if jsonVM.fail != nil {
		t.Fatal(jsonVM.fail)
	}
	return &jsonVM
}

// eval runs Lua code that returns a string and gives that string.
func (j *jsonMachine) eval(t testing.TB, code string) string {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	r, err := j.m.Apply(context.Background(), j.msg("Eval", code), j.env)
	if err != nil {
		t.Fatal(err)
	}
	if r.Error != "" {
		t.Fatalf("eval: %s", r.Error)
	}
	var out struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(r.Output, &out); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	return out.Data
}

// luaString is s as a Lua string literal: every byte outside printable ASCII, and the quote and backslash,
// as a decimal escape.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var jsonDecodeCases = []string{
	``, ` `, `null`, `true`, `false`, `tru`, `nul`, `truex`, `0`, `-0`, `-`, `--1`, `1`, `-1`, `01`, `1.`, `.5`, `1.5`,
	`1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `1-2`, `1.5.5`, `9223372036854775807`, `9223372036854775808`,
	`-9223372036854775808`, `-9223372036854775809`, `123456789012345678901234567890`, `1e400`, `-1e400`,
	`0.1`, `3.14159265358979`, `2.5e-310`, `0x10`, `1 2`, `[1 2]`,
	`""`, `"a"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\u20ac"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
	`"\udc00"`, `"\ud83d\u0041"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\`, `"abc`, "\"a\x01b\"", "\"a\x00b\"",
	"\"\xff\xfe\"", `"é"`, `[]`, `[ ]`, `[1,2,3]`, `[1,,2]`, `[1,]`, `[,1]`, `[`, `]`, `[null]`, `[null,1]`,
	`[1,null]`, `[null,null,3]`, `[1,null,null,null,5,null]`, `{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a"}`,
	`{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":null}`, `{"a":null,"b":1}`, `{"a":1,"a":2}`, `{"":1}`,
	`{"\u0000":1}`, `{"k\"q":[{"x":[]}]}`, `{`, `}`, `{"a":[1,{"b":null}]}`, " \t\r\n[1]\n ", "[1]\n\n x",
	"{\n\"a\":\n1\n,\n\"b\" 2}", `[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]`,
	strings.Repeat("[", 300) + strings.Repeat("]", 300), strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat("}", 200),
	strings.Repeat("[", 300), `{"Id":"x","Tags":[{"name":"Action","value":"Eval"}],"Data":"return 1","Timestamp":1700000000000}`,
}

// TestJSONCodecMatchesLua: fixed inputs (every error path of the decoder, numbers at the integer edges,
// escapes, deep nesting past the C bound), then a few thousand generated values and texts.
func TestJSONCodecMatchesLua(t *testing.T) {
	j := sharedJSONMachine(t)
	for _, s := range jsonDecodeCases {
		if got := j.eval(t, "return JSONCHECK_DECODE("+luaString(s)+")"); got != "ok" {
			t.Errorf("decode %q: %s", s, got)
		}
	}
	encodeCases := []string{
		`nil`, `true`, `false`, `0`, `-1`, `math.maxinteger`, `math.mininteger`, `0.5`, `-0.0`, `1e300`, `2^53`,
		`2^63`, `1/3`, `0/0`, `1/0`, `-1/0`, `""`, `"a\0b"`, `"\"\\/\b\f\n\r\t\1\31\127\128\255"`,
		`(function() local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end return table.concat(t) end)()`,
		`{}`, `{1, 2, 3}`, `{1, nil, 3}`, `{nil, 2}`, `{[1] = 1, [2] = 2, x = 1}`, `{x = 1, [1] = 2}`, `{[1.5] = 1}`,
		`{[2] = 1}`, `{[true] = 1}`, `{a = 1, b = {c = {1, {d = "e"}}}}`, `{a = print}`, `{print}`, `{a = print, b = 1}`,
		`print`, `coroutine.create(print)`, `{co = coroutine.create(print)}`, `{0/0}`, `{a = 1/0}`,
		`(function() local t = {} t.x = t return t end)()`, `(function() local t = {} t[1] = t return t end)()`,
		`(function() local s = {} return {s, s, {s}} end)()`,
		`setmetatable({}, {__len = function() return 0 end})`, `setmetatable({1, 2}, {__index = function() return 9 end})`,
		`{setmetatable({a = 1}, {__pairs = function(t) return next, {b = 2}, nil end})}`,
		`(function() local t = {} local c = t for i = 1, 300 do c[1] = {} c = c[1] end return t end)()`,
		`(function() local t = {} for i = 1, 1000 do t[i] = i * 1.5 end return t end)()`,
		`(function() local t = {} for i = 1, 200 do t["k" .. i] = i end return t end)()`,
		`{1, 2, [2.5] = 1, [4] = 4}`, `{[1] = 1, [3] = 3}`, `{["1"] = 1}`,
	}
	for _, c := range encodeCases {
		if got := j.eval(t, "return JSONCHECK_ENCODE("+c+")"); got != "ok" {
			t.Errorf("encode %s: %s", c, got)
		}
	}
	// Generated: random values (nesting, holes, mixed keys, every scalar kind), and their texts cut and
	// spliced with JSON tokens. A deterministic LCG, so a failure reproduces.
	got := j.eval(t, `
local json = require("json")
local seed = 12345
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n end
local scalars = {function() return rnd(1000) - 500 end, function() return (rnd(100000) - 50000) / 64 end,
  function() return 0/0 end, function() return 1/0 end, function() return math.mininteger end,
  function() return true end, function() return false end, function() return string.char(rnd(256), rnd(256)) end,
  function() return "k" .. rnd(10) end, function() return print end, function() return "\u{1F600}\"\\" end}
local function gen(depth)
  local r = rnd(depth > 3 and 10 or 14)
  if r < #scalars then return scalars[r + 1]() end
  local t, n = {}, rnd(6)
  if r == 11 then for i = 1, n do t[i] = gen(depth + 1) end
  elseif r == 12 then for i = 1, n do t["k" .. rnd(8)] = gen(depth + 1) end
  else for i = 1, n do local k = rnd(3) == 0 and rnd(5) + 1 or "k" .. rnd(4) t[k] = gen(depth + 1) end end
  return t
end
local tokens = {"{", "}", "[", "]", ",", ":", '"', "\\", "\\u", "\\ud83d", "0", "-", "1e", ".", "null", "tru", " ", "\n", "\1", '"a"'}
local bad = 0
for i = 1, 3000 do
  local v = gen(0)
  local r = JSONCHECK_ENCODE(v)
  if r ~= "ok" then return "value " .. i .. ": " .. r end
  local ok, text = pcall(json._luaEncode, v)
  if ok then
    for k = 1, 3 do
      local p = rnd(#text + 1)
      local mutated = text:sub(1, p) .. tokens[rnd(#tokens) + 1] .. text:sub(p + 1 + rnd(3))
      r = JSONCHECK_DECODE(mutated)
      if r ~= "ok" then return "text " .. i .. "." .. k .. " " .. string.format("%q", mutated) .. ": " .. r end
      if not pcall(json._luaDecode, mutated) then bad = bad + 1 end
    end
  end
end
return "ok " .. bad`)
	var bad int
	if _, err := fmt.Sscanf(got, "ok %d", &bad); err != nil {
		t.Fatalf("generated: %s", got)
	}
	if bad < 1000 || bad > 8000 {
		t.Errorf("only %d of 9000 mutated texts were invalid: the mutations do not reach the error paths", bad)
	}
}

// FuzzJSONDecode holds the C decoder to the Lua decoder on arbitrary text.
func FuzzJSONDecode(f *testing.F) {
	for _, s := range jsonDecodeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		j := sharedJSONMachine(t)
		if got := j.eval(t, "return JSONCHECK_DECODE("+luaString(s)+")"); got != "ok" {
			t.Errorf("decode %q: %s", s, got)
		}
	})
}
