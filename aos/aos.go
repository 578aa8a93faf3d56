// Package aos holds aogo's own aos-compatible Lua process module: Lua 5.3 plus a Lua process library
// (aos/lua: Handlers, ao, Send/Spawn/Receive, Eval, json, utils, bint, the token blueprint) compiled to a
// wasm32 ao module by build.sh. It is the default module of `aogo dev`, so a fresh machine can spawn and
// program Lua processes without fetching anyone's binary.
//
// The module speaks the ao handle ABI (docs/reference-ao.md section 5) in the Module-Format given by
// Format; aos.wasm.sha256 records the hash of the sources it was built from (see aos_test.go).
package aos

//go:generate ./build.sh

import _ "embed"

// Module is the wasm binary (aos.wasm).
//
//go:embed aos.wasm
var Module []byte

// Format is the Module-Format of Module: emscripten 3.1.6 output, whose imports and exports are those
// ao-loader's wasm32-unknown-emscripten2 glue provides.
const Format = "wasm32-unknown-emscripten2"

// Tag is one data item tag.
type Tag struct {
	Name  string
	Value string
}

// ModuleTags are the tags to publish Module with (Type = Module data item), as dev-cli publishes aos.
var ModuleTags = []Tag{
	{"Data-Protocol", "ao"},
	{"Variant", "ao.TN.1"},
	{"Type", "Module"},
	{"Module-Format", Format},
	{"Input-Encoding", "JSON-1"},
	{"Output-Encoding", "JSON-1"},
	{"Memory-Limit", "524288000-b"},
	{"Compute-Limit", "9000000000000"},
	{"Content-Type", "application/wasm"},
	{"Name", "aogo-aos"},
}
