/*
 * json.c - the C core of require("json") in the aogo aos module.
 *
 * Every message goes through JSON three times (the message and the env in, the result out), and in Lua
 * that was about 70% of a small message's instructions. These functions do the same work in C with exactly
 * the results of the Lua codec in aos/lua/json.lua, which stays the definition (and the fallback):
 *
 *   ok, v = _aosjson.decode(s)    ok == true: v is the value; ok == false: v is the error text the Lua
 *   ok, v = _aosjson.encode(x)    decoder/encoder raises (without its "chunk:line:" prefix); ok == nil:
 *                                 not handled here, ask the Lua codec
 *
 * "Not handled" is returned for tables with a metatable (the Lua encoder goes through __pairs, __len and
 * __index, which C would bypass) and for nesting deeper than MAX_DEPTH (the C stack is bounded; the Lua
 * codec is not). Tables are built with the same API calls the Lua VM makes for `{}` and `t[k] = v`, in the
 * same order, so a decoded table has the same layout (and the same pairs order) as the Lua decoder's.
 * No C setjmp is used: errors travel back as return codes, so nothing here costs a host call.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#define MAX_DEPTH 160

enum { J_OK = 0, J_ERR = 1, J_FALLBACK = 2 };

/* ---- decoding ---------------------------------------------------------------------------------- */

typedef struct {
  lua_State *L;
  const char *s;
  size_t n;
  int depth;
  /* the error: a fixed text, or a fixed text around a span of the input (what = "invalid number '"
   * + span + "'") */
  size_t errpos;
  const char *what;
  const char *span;
  size_t spanlen;
  const char *after;
} decoder;

static int derr(decoder *d, size_t pos, const char *what) {
  d->errpos = pos;
  d->what = what;
  d->span = NULL;
  d->spanlen = 0;
  d->after = "";
  return J_ERR;
}

static int derr_span(decoder *d, size_t pos, const char *what, const char *span, size_t len, const char *after) {
  d->errpos = pos;
  d->what = what;
  d->span = span;
  d->spanlen = len;
  d->after = after;
  return J_ERR;
}

static size_t skip(const decoder *d, size_t p) {
  while (p < d->n) {
    char c = d->s[p];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
    p++;
  }
  return p;
}

static int isdig(int c) { return c >= '0' && c <= '9'; }
static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* hex4 reads 4 hex digits at p, or returns -1. */
static long hex4(const decoder *d, size_t p) {
  if (p + 4 > d->n) return -1;
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval((unsigned char)d->s[p + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

static void addutf8(luaL_Buffer *b, unsigned long cp) {
  char u[4];
  int n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  luaL_addlstring(b, u, n);
}

/* plain reports whether byte c may appear unescaped in a string: not '"', '\\' or a control byte 0-31. */
static int plain(unsigned char c) { return c != '"' && c != '\\' && c >= 0x20; }

/* dstring decodes the string whose opening quote is at p and pushes it; *next is the position after it. */
static int dstring(decoder *d, size_t p, size_t *next) {
  const char *s = d->s;
  size_t j = p + 1;
  while (j < d->n && plain((unsigned char)s[j])) j++;
  if (j < d->n && s[j] == '"') { /* no escapes: the common case */
    lua_pushlstring(d->L, s + p + 1, j - p - 1);
    *next = j + 1;
    return J_OK;
  }
  luaL_Buffer b;
  luaL_buffinit(d->L, &b);
  luaL_addlstring(&b, s + p + 1, j - p - 1);
  for (;;) {
    if (j >= d->n) {
      luaL_pushresult(&b);
      lua_pop(d->L, 1);
      return derr(d, p, "expected closing quote for string");
    }
    char c = s[j];
    if (c == '"') {
      luaL_pushresult(&b);
      *next = j + 1;
      return J_OK;
    }
    if (c != '\\') {
      luaL_pushresult(&b);
      lua_pop(d->L, 1);
      return derr(d, j, "control character in string");
    }
    char e = j + 1 < d->n ? s[j + 1] : 0;
    const char *rep = NULL;
    switch (e) {
      case '"': rep = "\""; break;
      case '\\': rep = "\\"; break;
      case '/': rep = "/"; break;
      case 'b': rep = "\b"; break;
      case 'f': rep = "\f"; break;
      case 'n': rep = "\n"; break;
      case 'r': rep = "\r"; break;
      case 't': rep = "\t"; break;
    }
    if (e == 'u') {
      long cp = hex4(d, j + 2);
      if (cp < 0) {
        luaL_pushresult(&b);
        lua_pop(d->L, 1);
        return derr(d, j, "invalid unicode escape in string");
      }
      j += 6;
      if (cp >= 0xD800 && cp <= 0xDBFF && j + 6 <= d->n && s[j] == '\\' && s[j + 1] == 'u' &&
          (s[j + 2] == 'd' || s[j + 2] == 'D') &&
          ((s[j + 3] >= 'c' && s[j + 3] <= 'f') || (s[j + 3] >= 'C' && s[j + 3] <= 'F')) &&
          hexval((unsigned char)s[j + 4]) >= 0 && hexval((unsigned char)s[j + 5]) >= 0) {
        long lo = hex4(d, j + 2);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        j += 6;
      }
      addutf8(&b, (unsigned long)cp);
    } else if (rep != NULL) {
      luaL_addchar(&b, rep[0]);
      j += 2;
    } else {
      luaL_pushresult(&b);
      lua_pop(d->L, 1);
      /* e is the byte after the backslash, or none at the end of the input */
      return derr_span(d, j, "invalid escape char '", s + j + 1, j + 1 < d->n ? 1 : 0, "' in string");
    }
    size_t a = j;
    while (j < d->n && plain((unsigned char)s[j])) j++;
    luaL_addlstring(&b, s + a, j - a);
  }
}

/* dnumber matches the Lua decoder's pattern ^-?%d+%.?%d*[eE]?[-+]?%d* greedily and converts the match
 * with lua_stringtonumber, which is what tonumber() does with a string. */
static int dnumber(decoder *d, size_t p, size_t *next) {
  const char *s = d->s;
  size_t q = p;
  if (q < d->n && s[q] == '-') q++;
  size_t digits = q;
  while (q < d->n && isdig((unsigned char)s[q])) q++;
  if (q == digits) return derr(d, p, "invalid number");
  if (q < d->n && s[q] == '.') q++;
  while (q < d->n && isdig((unsigned char)s[q])) q++;
  if (q < d->n && (s[q] == 'e' || s[q] == 'E')) q++;
  if (q < d->n && (s[q] == '-' || s[q] == '+')) q++;
  while (q < d->n && isdig((unsigned char)s[q])) q++;
  size_t len = q - p;
  char small[64];
  const char *z;
  if (len < sizeof small) {
    memcpy(small, s + p, len);
    small[len] = 0;
    z = small;
  } else {
    lua_pushlstring(d->L, s + p, len); /* NUL-terminated copy */
    z = lua_tostring(d->L, -1);
  }
  size_t used = lua_stringtonumber(d->L, z);
  if (z != small) lua_remove(d->L, used == len + 1 ? -2 : -1);
  if (used != len + 1) return derr_span(d, p, "invalid number '", s + p, len, "'");
  *next = q;
  return J_OK;
}

static int dvalue(decoder *d, size_t p, size_t *next);

static int darray(decoder *d, size_t p, size_t *next) {
  lua_State *L = d->L;
  lua_createtable(L, 0, 0);
  lua_Integer n = 0;
  size_t i = skip(d, p + 1);
  if (i < d->n && d->s[i] == ']') { *next = i + 1; return J_OK; }
  for (;;) {
    int r = dvalue(d, i, &i);
    if (r != J_OK) { lua_pop(L, 1); return r; }
    n++;
    lua_seti(L, -2, n);
    i = skip(d, i);
    char c = i < d->n ? d->s[i] : 0;
    if (i < d->n && c == ']') { *next = i + 1; return J_OK; }
    if (i >= d->n || c != ',') { lua_pop(L, 1); return derr(d, i, "expected ']' or ','"); }
    i = skip(d, i + 1);
  }
}

static int dobject(decoder *d, size_t p, size_t *next) {
  lua_State *L = d->L;
  lua_createtable(L, 0, 0);
  size_t i = skip(d, p + 1);
  if (i < d->n && d->s[i] == '}') { *next = i + 1; return J_OK; }
  for (;;) {
    if (i >= d->n || d->s[i] != '"') { lua_pop(L, 1); return derr(d, i, "expected string for key"); }
    int r = dstring(d, i, &i);
    if (r != J_OK) { lua_pop(L, 1); return r; }
    i = skip(d, i);
    if (i >= d->n || d->s[i] != ':') { lua_pop(L, 2); return derr(d, i, "expected ':' after key"); }
    i = skip(d, i + 1);
    r = dvalue(d, i, &i);
    if (r != J_OK) { lua_pop(L, 2); return r; }
    lua_settable(L, -3);
    i = skip(d, i);
    char c = i < d->n ? d->s[i] : 0;
    if (i < d->n && c == '}') { *next = i + 1; return J_OK; }
    if (i >= d->n || c != ',') { lua_pop(L, 1); return derr(d, i, "expected '}' or ','"); }
    i = skip(d, i + 1);
  }
}

static int dvalue(decoder *d, size_t p, size_t *next) {
  const char *s = d->s;
  if (p >= d->n) return derr_span(d, p, "unexpected character '", s, 0, "'");
  char c = s[p];
  switch (c) {
    case '"':
      if (!lua_checkstack(d->L, 4)) return J_FALLBACK;
      return dstring(d, p, next);
    case '{':
    case '[': {
      if (d->depth >= MAX_DEPTH || !lua_checkstack(d->L, 6)) return J_FALLBACK;
      d->depth++;
      int r = c == '{' ? dobject(d, p, next) : darray(d, p, next);
      d->depth--;
      return r;
    }
  }
  if (c == '-' || isdig((unsigned char)c)) {
    if (!lua_checkstack(d->L, 4)) return J_FALLBACK;
    return dnumber(d, p, next);
  }
  if (p + 4 <= d->n && memcmp(s + p, "true", 4) == 0) { lua_pushboolean(d->L, 1); *next = p + 4; return J_OK; }
  if (p + 5 <= d->n && memcmp(s + p, "false", 5) == 0) { lua_pushboolean(d->L, 0); *next = p + 5; return J_OK; }
  if (p + 4 <= d->n && memcmp(s + p, "null", 4) == 0) { lua_pushnil(d->L); *next = p + 4; return J_OK; }
  return derr_span(d, p, "unexpected character '", s + p, 1, "'");
}

/* pusherror pushes "<what> at line L col C" as the Lua decoder's decodeError formats it. */
static void pusherror(lua_State *L, const decoder *d) {
  int line = 1, col = 1;
  for (size_t j = 0; j < d->errpos && j < d->n; j++) {
    if (d->s[j] == '\n') { line++; col = 1; } else col++;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, d->what);
  if (d->span != NULL) {
    luaL_addlstring(&b, d->span, d->spanlen);
    luaL_addstring(&b, d->after);
  }
  lua_pushfstring(L, " at line %d col %d", line, col);
  luaL_addvalue(&b);
  luaL_pushresult(&b); /* the span may hold a NUL: no %s of it */
}

static int l_decode(lua_State *L) {
  decoder d;
  memset(&d, 0, sizeof d);
  d.L = L;
  d.s = luaL_checklstring(L, 1, &d.n);
  lua_settop(L, 1);
  size_t i = skip(&d, 0);
  int r = dvalue(&d, i, &i);
  if (r == J_OK) {
    i = skip(&d, i);
    if (i < d.n) {
      lua_pop(L, 1);
      r = derr(&d, i, "trailing garbage");
    }
  }
  if (r == J_FALLBACK) {
    lua_settop(L, 1);
    lua_pushnil(L);
    return 1;
  }
  if (r == J_ERR) {
    lua_settop(L, 1);
    lua_pushboolean(L, 0);
    pusherror(L, &d);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -2);
  return 2;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

/* The output buffer is static and reused: nothing to free when a Lua error (out of memory) unwinds
 * through an encode. It is returned to the allocator when a large result leaves it big. */
static char *obuf = NULL;
static size_t ocap = 0;

typedef struct {
  lua_State *L;
  size_t len;
  int depth;
  const void *path[MAX_DEPTH]; /* the tables being encoded, outermost first: circular references */
  const char *err;             /* J_ERR: the message */
  char errbuf[96];
} encoder;

/* ozero is memset through a volatile pointer (a plain memset before free is dropped as a dead store): the
 * buffer of a big encoding is zeroed before it is freed, so its pages read as zeros again (see aos.c). */
static void *(*const volatile ozero)(void *, int, size_t) = memset;

static void ogrow(encoder *e, size_t need) {
  if (e->len + need <= ocap) return;
  size_t cap = ocap ? ocap : 1024;
  while (cap < e->len + need) cap *= 2;
  char *nb = malloc(cap);
  if (nb == NULL) luaL_error(e->L, "not enough memory");
  if (obuf != NULL) {
    memcpy(nb, obuf, e->len);
    ozero(obuf, 0, e->len);
    free(obuf);
  }
  obuf = nb;
  ocap = cap;
}

static void oadd(encoder *e, const char *s, size_t n) {
  ogrow(e, n);
  memcpy(obuf + e->len, s, n);
  e->len += n;
}

static void ostring(encoder *e, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  ogrow(e, n + 2);
  obuf[e->len++] = '"';
  size_t a = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (plain(c)) continue;
    oadd(e, s + a, i - a);
    a = i + 1;
    char esc[6];
    switch (c) {
      case '"': oadd(e, "\\\"", 2); break;
      case '\\': oadd(e, "\\\\", 2); break;
      case '\b': oadd(e, "\\b", 2); break;
      case '\f': oadd(e, "\\f", 2); break;
      case '\n': oadd(e, "\\n", 2); break;
      case '\r': oadd(e, "\\r", 2); break;
      case '\t': oadd(e, "\\t", 2); break;
      default:
        esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0'; esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
        oadd(e, esc, 6);
    }
  }
  oadd(e, s + a, n - a);
  oadd(e, "\"", 1);
}

static int evalue(encoder *e, int idx);

static int etable(encoder *e, int idx) {
  lua_State *L = e->L;
  if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    return J_FALLBACK;
  }
  const void *self = lua_topointer(L, idx);
  for (int k = 0; k < e->depth; k++) {
    if (e->path[k] == self) { e->err = "circular reference"; return J_ERR; }
  }
  if (e->depth >= MAX_DEPTH || !lua_checkstack(L, 4)) return J_FALLBACK;
  e->path[e->depth++] = self;
  int r = J_OK;
  int isarray = lua_rawgeti(L, idx, 1) != LUA_TNIL;
  lua_pop(L, 1);
  if (!isarray) {
    lua_pushnil(L);
    if (lua_next(L, idx)) lua_pop(L, 2);
    else isarray = 1; /* empty */
  }
  if (isarray) {
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TNUMBER) {
        lua_pop(L, 1);
        e->err = "invalid table: mixed or invalid key types";
        r = J_ERR;
        goto done;
      }
      n++;
    }
    if ((lua_Unsigned)n != (lua_Unsigned)lua_rawlen(L, idx)) {
      e->err = "invalid table: sparse array";
      r = J_ERR;
      goto done;
    }
    oadd(e, "[", 1);
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) oadd(e, ",", 1);
      lua_rawgeti(L, idx, i);
      r = evalue(e, lua_gettop(L));
      lua_pop(L, 1);
      if (r != J_OK) goto done;
    }
    oadd(e, "]", 1);
  } else {
    oadd(e, "{", 1);
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      if (lua_type(L, -2) != LUA_TSTRING) {
        lua_pop(L, 2);
        e->err = "invalid table: mixed or invalid key types";
        r = J_ERR;
        goto done;
      }
      if (lua_type(L, -1) != LUA_TFUNCTION) {
        if (!first) oadd(e, ",", 1);
        first = 0;
        size_t kn;
        const char *k = lua_tolstring(L, -2, &kn); /* a string already: no conversion, next() stays valid */
        ostring(e, k, kn);
        oadd(e, ":", 1);
        r = evalue(e, lua_gettop(L));
        if (r != J_OK) { lua_pop(L, 2); goto done; }
      }
      lua_pop(L, 1);
    }
    oadd(e, "}", 1);
  }
done:
  e->depth--;
  return r;
}

static int evalue(encoder *e, int idx) {
  lua_State *L = e->L;
  char num[64];
  int n;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      ostring(e, s, len);
      return J_OK;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        n = snprintf(num, sizeof num, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
      } else {
        lua_Number v = lua_tonumber(L, idx);
        if (v != v || v == HUGE_VAL || v == -HUGE_VAL) {
          luaL_tolstring(L, idx, NULL); /* tostring(v), as the Lua encoder reports it */
          snprintf(e->errbuf, sizeof e->errbuf, "unexpected number value '%s'", lua_tostring(L, -1));
          lua_pop(L, 1);
          e->err = e->errbuf;
          return J_ERR;
        }
        n = snprintf(num, sizeof num, "%.14g", (LUAI_UACNUMBER)v);
      }
      oadd(e, num, (size_t)n);
      return J_OK;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) oadd(e, "true", 4);
      else oadd(e, "false", 5);
      return J_OK;
    case LUA_TNIL:
      oadd(e, "null", 4);
      return J_OK;
    case LUA_TTABLE:
      return etable(e, idx);
    default:
      snprintf(e->errbuf, sizeof e->errbuf, "unexpected type '%s'", luaL_typename(L, idx));
      e->err = e->errbuf;
      return J_ERR;
  }
}

static int l_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  encoder *e = lua_newuserdata(L, sizeof(encoder)); /* large: not on the C stack */
  memset(e, 0, sizeof *e);
  e->L = L;
  int r = evalue(e, 1);
  if (r == J_FALLBACK) {
    lua_pushnil(L);
    return 1;
  }
  if (r == J_ERR) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, e->err);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_pushlstring(L, obuf, e->len);
  if (ocap > (1u << 20)) {
    ozero(obuf, 0, e->len);
    free(obuf);
    obuf = NULL;
    ocap = 0;
  }
  return 2;
}

int luaopen_aosjson(lua_State *L) {
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, l_decode);
  lua_setfield(L, -2, "decode");
  lua_pushcfunction(L, l_encode);
  lua_setfield(L, -2, "encode");
  return 1;
}
