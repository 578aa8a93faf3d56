#!/usr/bin/env bash
# Builds the edge-case modules from edge.wat.in. The .wasm files are committed so tests need no wabt.
set -euo pipefail
cd "$(dirname "$0")"
command -v wat2wasm >/dev/null || apt-get install -y wabt
gen() { # out.wat env invoke longjmp resize missing memory table ctors main ssave srestore salloc setthrew handle
  sed -e "s/@ENV@/$2/g" -e "s/@INVOKE@/$3/" -e "s/@LONGJMP@/$4/" -e "s/@RESIZE@/$5/" -e "s/@MISSING@/$6/" \
      -e "s/@MEMORY@/$7/" -e "s/@TABLE@/$8/" -e "s/@CTORS@/$9/" -e "s/@MAIN@/${10}/" -e "s/@STACKSAVE@/${11}/" \
      -e "s/@STACKRESTORE@/${12}/" -e "s/@STACKALLOC@/${13}/" -e "s/@SETTHREW@/${14}/" -e "s/@HANDLE@/${15}/" edge.wat.in > "$1"
}
# v2: unminified emscripten names.
gen edge2.wat env invoke_vii _emscripten_throw_longjmp emscripten_resize_heap not_implemented_here \
  memory __indirect_function_table __wasm_call_ctors main stackSave stackRestore stackAlloc setThrew handle
# v1: module "a", the reference glue's letters (x invoke_vii, p throw_longjmp, q resize_heap) and exports. The
# "missing" import is m, the glue's system(): the glue links it, but with another signature, which our loader
# (checking letters against signatures) leaves unresolved, so "u" still tests an unsupported import here.
gen edge1.wat a x p q m E I F H M N O L G
# v3: the v2 names, plus the stack exports the emscripten3 glue calls at start-up (emscripten_stack_init, and
# emscripten_stack_get_end for its stack cookie); its glue has no import this module may lack, so "u" calls
# _emscripten_system there instead (the test skips it).
gen edge3.wat env invoke_vii _emscripten_throw_longjmp emscripten_resize_heap _emscripten_system \
  memory __indirect_function_table __wasm_call_ctors main stackSave stackRestore stackAlloc setThrew handle
sed -i 's|^  (func (export "__wasm_call_ctors")|  (func (export "emscripten_stack_init"))\n  (func (export "emscripten_stack_get_end") (result i32) (i32.const 32768))\n&|' edge3.wat
grep -q emscripten_stack_get_end edge3.wat || { echo "build.sh: edge3 stack exports not added" >&2; exit 1; }
wat2wasm edge3.wat -o edge3.wasm
wat2wasm edge2.wat -o edge2.wasm
wat2wasm edge1.wat -o edge1.wasm
rm edge1.wat edge2.wat edge3.wat
