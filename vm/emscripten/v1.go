package emscripten

import (
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// The v1 format (wasm32-unknown-emscripten) imports everything from module "a" under minified letters
// and exports minified names. The letters are assigned per build; this table is the one in the
// reference glue (emscripten.cjs asmLibraryArg), which matches every v1 fixture. Each entry carries the
// signature, so a build that shuffled the letters is still resolved: first the letter if its signature
// matches, else the one name whose signature matches.
var v1Imports = map[string]struct{ name, sig string }{
	"a": {"_emscripten_date_now", "->f64"},
	"b": {"setTempRet0", "i32->"},
	"c": {"fd_close", "i32->i32"},
	"d": {"__syscall_fcntl64", "i32,i32,i32->i32"},
	"e": {"__syscall_unlinkat", "i32,i32,i32->i32"},
	"f": {"fd_write", "i32,i32,i32,i32->i32"},
	"g": {"__syscall_openat", "i32,i32,i32,i32->i32"},
	"h": {"getTempRet0", "->i32"},
	"i": {"_mktime_js", "i32->i32"},
	"j": {"_tzset_js", "i32,i32,i32->"},
	"k": {"emscripten_memcpy_big", "i32,i32,i32->"},
	"l": {"exit", "i32->"},
	"m": {"system", "i32->i32"},
	"n": {"strftime", "i32,i32,i32,i32->i32"},
	"o": {"fd_seek", "i32,i32,i32,i32,i32->i32"},
	"p": {"_emscripten_throw_longjmp", "->"},
	"q": {"emscripten_resize_heap", "i32->i32"},
	"r": {"__syscall_lstat64", "i32,i32->i32"},
	"s": {"__syscall_renameat", "i32,i32,i32,i32->i32"},
	"t": {"__syscall_rmdir", "i32->i32"},
	"u": {"environ_get", "i32,i32->i32"},
	"v": {"environ_sizes_get", "i32,i32->i32"},
	"w": {"__syscall_dup3", "i32,i32,i32->i32"},
	"x": {"invoke_vii", "i32,i32,i32->"},
	"y": {"fd_read", "i32,i32,i32,i32->i32"},
	"z": {"__syscall_ioctl", "i32,i32,i32->i32"},
	"A": {"_emscripten_get_now_is_monotonic", "->i32"},
	"B": {"_gmtime_js", "i32,i32->"},
	"C": {"_localtime_js", "i32,i32->"},
	"D": {"abort", "->"},
}

// v1Exports are the minified export letters of the reference glue (emscripten.cjs), with signatures.
var v1Exports = map[string]struct{ letter, sig string }{
	"__wasm_call_ctors": {"F", "->"},
	"handle":            {"G", "i32,i32->i32"},
	"main":              {"H", "i32,i32->i32"},
	"malloc":            {"J", "i32->i32"},
	"setThrew":          {"L", "i32,i32->"},
	"stackSave":         {"M", "->i32"},
	"stackRestore":      {"N", "i32->"},
	"stackAlloc":        {"O", "i32->i32"},
	"__errno_location":  {"K", "->i32"},
}

func sigOf(ft *wasmtime.FuncType) string {
	kinds := func(vs []*wasmtime.ValType) string {
		s := make([]string, len(vs))
		for i, v := range vs {
			s[i] = v.Kind().String()
		}
		return strings.Join(s, ",")
	}
	return kinds(ft.Params()) + "->" + kinds(ft.Results())
}

// v1ImportName de-minifies one import of module "a".
func v1ImportName(letter string, ft *wasmtime.FuncType) string {
	sig := sigOf(ft)
	if e, ok := v1Imports[letter]; ok && e.sig == sig {
		return e.name
	}
	found := ""
	for _, e := range v1Imports {
		if e.sig == sig {
			if found != "" {
				return "" // ambiguous: leave it unsupported rather than guess
			}
			found = e.name
		}
	}
	return found
}
