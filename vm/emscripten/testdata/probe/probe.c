/*
 * probe.c - a small ao module (handle ABI) that reports what differs between the reference loader's glues:
 * what the clock imports return, at boot and per message, and where the glue put handle()'s arguments on
 * the stack. build.sh compiles it with emscripten 3.1.6 into probe2.wasm (wasm32-unknown-emscripten2, as
 * aos/aos.wasm) and, with -DPROBE_V1, probe1.wasm (renamed by v1names.go to the v1 glue's minified import and
 * export names; the v1 glue has no emscripten_get_now, so that build reports it as 0 without calling it).
 *
 * handle(msg, env) returns Output as one line:
 *   boot=<date_now at main>/<get_now at main> date=<date_now> now=<get_now> msg@<msg> env@<env> sp@<a local>
 *   len=<strlen(msg)> utf8=<non-ASCII bytes in msg> sum=<hash of msg seeded by the boot clock> heap@<malloc(len)>
 * Lua seeds its string hash from time() and the address of a local, so both the clock and the stack position
 * decide a Lua process's pairs() order and heap use; this module shows the two inputs directly.
 */
#include <emscripten.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The glue's clock imports. _emscripten_date_now is internal to emscripten (time() uses it in later
 * releases); it is left undefined here and so imported from env. */
extern double _emscripten_date_now(void);
#ifdef PROBE_V1
#define get_now() 0.0
#else
#define get_now() emscripten_get_now()
#endif

static double boot_date, boot_now;
static char out[1024];
static char *keep;

int main(void) {
  boot_date = _emscripten_date_now();
  boot_now = get_now();
  return 0;
}

EMSCRIPTEN_KEEPALIVE
const char *handle(const char *msg, const char *env) {
  volatile char local = 0;
  double date = _emscripten_date_now();
  double now = get_now();
  size_t len = strlen(msg), high = 0;
  uint32_t sum = (uint32_t)(int64_t)boot_date;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)msg[i];
    if (c >= 0x80) high++;
    sum = sum * 31u + c;
  }
  /* The previous message's block stays allocated until this one's is: the heap carries state over. */
  char *block = malloc(len + 1);
  free(keep);
  keep = block;
  snprintf(out, sizeof out,
           "{\"ok\":true,\"response\":{\"Output\":\"boot=%.17g/%.17g date=%.17g now=%.17g msg@%lu env@%lu sp@%lu "
           "len=%lu utf8=%lu sum=%08x heap@%lu\",\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}}",
           boot_date, boot_now, date, now, (unsigned long)(uintptr_t)msg, (unsigned long)(uintptr_t)env,
           (unsigned long)(uintptr_t)&local, (unsigned long)len, (unsigned long)high, sum,
           (unsigned long)(uintptr_t)block);
  return out;
}
