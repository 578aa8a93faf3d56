/*
 * aos.c - entry points of the aogo aos module (Lua 5.3 compiled to wasm32 with emscripten).
 *
 * ABI (the ao "handle" ABI, see docs/reference-ao.md section 5):
 *   int main(void)                           boots the Lua state once, at instantiation
 *   const char *handle(const char *msg,      msg and env are JSON strings; the result is the JSON
 *                      const char *env)      string {"ok":bool,"response":...} built by the Lua side
 *
 * All state lives in linear memory: the lua_State pointer, the Lua heap and the last result string.
 * The Lua library (aos/lua) is embedded by the build as C arrays (aos_modules.h, generated) and
 * registered in package.preload, so nothing is read from a file system.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <emscripten/stack.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "aos_modules.h" /* generated: struct aos_module aos_modules[]; */

/*
 * Deterministic replacements for libc entry points that emscripten 3.1.6 would otherwise import from the
 * host, and that ao-loader's wasm32-unknown-emscripten2 glue does not provide under these names. A process
 * has no wall clock and no file system: time is 0 (aos sets os.time from msg.Timestamp), opening, removing
 * or renaming a file fails with ENOENT/EPERM, so io.open returns nil, err.
 */
#include <errno.h>
#include <time.h>
time_t time(time_t *t) { if (t) *t = 0; return 0; }
clock_t clock(void) { return 0; }
double difftime(time_t a, time_t b) { return (double)(a - b); }
int __clock_gettime(clockid_t clk, struct timespec *ts) { (void)clk; ts->tv_sec = 0; ts->tv_nsec = 0; return 0; }
long __syscall_open(long path, long flags, ...) { (void)path; (void)flags; return -ENOENT; }
long __syscall_unlink(long path) { (void)path; return -EPERM; }
long __syscall_rename(long old_path, long new_path) { (void)old_path; (void)new_path; return -EPERM; }

static lua_State *L = NULL;
static char *last_result = NULL;

/* Loader for package.preload entries: upvalue 1 is the index into aos_modules. */
static int load_embedded(lua_State *S) {
  int i = (int)lua_tointeger(S, lua_upvalueindex(1));
  const struct aos_module *m = &aos_modules[i];
  if (luaL_loadbufferx(S, (const char *)m->src, m->len, m->chunkname, "t") != LUA_OK) {
    return lua_error(S);
  }
  lua_pushstring(S, m->name);
  lua_call(S, 1, 1);
  return 1;
}

static void register_modules(lua_State *S) {
  lua_getglobal(S, "package");
  lua_getfield(S, -1, "preload");
  for (int i = 0; aos_modules[i].name != NULL; i++) {
    lua_pushinteger(S, i);
    lua_pushcclosure(S, load_embedded, 1);
    lua_setfield(S, -2, aos_modules[i].name);
  }
  lua_pop(S, 2);
}

int luaopen_aosjson(lua_State *L); /* json.c */

/*
 * Lua's allocator: realloc and free, but a block of AOS_ZERO_FREED bytes or more is zeroed before it is freed
 * (or left by a move, or cut by a shrink). A big message leaves tens of MB of freed strings in the heap (its
 * JSON, its Data, the buffers that built them): as zeros, the CU's memory hash and snapshots skip those pages
 * instead of reading them again after every later message.
 */
#define AOS_ZERO_FREED (16u << 10)

/* zero is memset through a volatile pointer: the compiler drops a plain memset before free as a dead store. */
static void *(*const volatile zero)(void *, int, size_t) = memset;

static void *aos_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (ptr == NULL) osize = 0; /* osize then tells the type of the new object */
  if (nsize == 0) {
    if (osize >= AOS_ZERO_FREED) zero(ptr, 0, osize);
    free(ptr);
    return NULL;
  }
  if (osize < AOS_ZERO_FREED) return realloc(ptr, nsize);
  if (nsize <= osize) {
    zero((char *)ptr + nsize, 0, osize - nsize);
    return realloc(ptr, nsize); /* in place: dlmalloc shrinks without moving */
  }
  void *n = malloc(nsize);
  if (n == NULL) return NULL;
  memcpy(n, ptr, osize);
  zero(ptr, 0, osize);
  free(ptr);
  return n;
}

/* Boot: open the standard libraries, register the embedded modules and the C JSON codec (package
 * "_aosjson", used by .json), run the ".boot" module. */
int main(void) {
  L = luaL_newstate();
  if (L == NULL) return 1;
  lua_setallocf(L, aos_alloc, NULL); /* same malloc underneath, so blocks from before are freed alike */
  luaL_openlibs(L);
  luaL_requiref(L, "_aosjson", luaopen_aosjson, 0);
  lua_pop(L, 1);
  register_modules(L);
  lua_getglobal(L, "require");
  lua_pushstring(L, ".boot");
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    /* keep the error text for the first handle call to report */
    const char *err = lua_tostring(L, -1);
    lua_setglobal(L, "AOS_BOOT_ERROR");
    (void)err;
  }
  return 0;
}

/* drop_last frees the previous result, zeroed (see aos_alloc). */
static void drop_last(void) {
  if (last_result != NULL) {
    zero(last_result, 0, strlen(last_result));
    free(last_result);
    last_result = NULL;
  }
}

static const char *fail(const char *text) {
  /* Minimal JSON for failures outside Lua: {"ok":false,"response":"<text>"} with text escaped. */
  size_t n = strlen(text);
  drop_last();
  last_result = malloc(n * 6 + 32);
  if (last_result == NULL) return "{\"ok\":false,\"response\":\"out of memory\"}";
  char *p = last_result;
  p += sprintf(p, "{\"ok\":false,\"response\":\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\') { *p++ = '\\'; *p++ = (char)c; }
    else if (c < 0x20) { p += sprintf(p, "\\u%04x", c); }
    else *p++ = (char)c;
  }
  strcpy(p, "\"}");
  return last_result;
}

/*
 * The host puts msg and env on the wasm stack before it calls handle, as ao-loader's ccall does (the v2 glue
 * reserves 4 bytes per UTF-16 unit of each string) without checking the stack's size. The stack lies between
 * the static data (below it) and the heap, and grows down. A string whose reservation ran past the stack's end
 * has been written over static data (Lua's tables, malloc's state, L) or wrapped below address 0: nothing in
 * memory can be trusted, so handle traps and the CU throws the memory away. A message that fits but leaves
 * handle less than AOS_MIN_STACK (the whole stack of earlier builds) ends in an Error instead, before
 * anything changed. Either way the process stays as it was. A host that passes the strings on the heap
 * (above the stack) is not affected.
 */
extern unsigned char __data_end, __heap_base; /* wasm-ld: the stack's end is __data_end aligned to 16, its base __heap_base */
#define AOS_MIN_STACK (1u << 20)
#define AOS_SAFE_STACK (64u << 10) /* enough for fail() */

static uintptr_t stack_end(void) { return ((uintptr_t)&__data_end + 15u) & ~(uintptr_t)15u; }

/* stack_left traps as above, else returns the stack bytes handle has. */
static uintptr_t stack_left(const char *msg, const char *env) {
  uintptr_t end = stack_end();
  uintptr_t sp = emscripten_stack_get_current();
  /* a wrapped reservation leaves sp "above" the base: the glue reads stackAlloc's result as signed */
  if ((uintptr_t)msg < end || (uintptr_t)env < end || sp < end || sp > (uintptr_t)&__heap_base ||
      sp - end < AOS_SAFE_STACK) {
    __builtin_trap();
  }
  return sp - end;
}

/* wipe zeroes the host's copy of a string on the stack once handle is done with it (Lua holds its own): the
 * stack pages a big message filled are zeros again, for the memory hash and snapshots as for the heap above. */
static void wipe(const char *s) {
  uintptr_t p = (uintptr_t)s;
  if (p >= stack_end() && p < (uintptr_t)&__heap_base) memset((char *)s, 0, strlen(s));
}

static const char *handle_lua(const char *msg, const char *env);

const char *handle(const char *msg, const char *env) {
  uintptr_t left = stack_left(msg, env);
  const char *r;
  if (left < AOS_MIN_STACK) {
    char text[200];
    snprintf(text, sizeof text, "aos: message too large for the wasm stack: the host's copy of it (4 bytes per "
             "character of its JSON) leaves %lu bytes, handle needs %u", (unsigned long)left, AOS_MIN_STACK);
    r = fail(text);
  } else {
    r = handle_lua(msg, env);
  }
  wipe(msg);
  wipe(env);
  return r;
}

static const char *handle_lua(const char *msg, const char *env) {
  if (L == NULL) return fail("aos: Lua state not initialised");
  lua_settop(L, 0);
  lua_getglobal(L, "handle");
  if (!lua_isfunction(L, -1)) {
    lua_getglobal(L, "AOS_BOOT_ERROR");
    const char *e = lua_tostring(L, -1);
    const char *r = fail(e ? e : "aos: no global handle function");
    lua_settop(L, 0);
    return r;
  }
  lua_pushstring(L, msg);
  lua_pushstring(L, env);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    const char *r = fail(lua_tostring(L, -1) ? lua_tostring(L, -1) : "aos: error object is not a string");
    lua_settop(L, 0);
    return r;
  }
  size_t n = 0;
  const char *s = lua_tolstring(L, -1, &n);
  if (s == NULL) {
    lua_settop(L, 0);
    return fail("aos: handle did not return a string");
  }
  drop_last();
  last_result = malloc(n + 1);
  if (last_result == NULL) {
    lua_settop(L, 0);
    return "{\"ok\":false,\"response\":\"out of memory\"}";
  }
  memcpy(last_result, s, n + 1);
  lua_settop(L, 0);
  return last_result;
}
