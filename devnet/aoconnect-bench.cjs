// aoconnect bench: message → result latency through the real @permaweb/aoconnect client (legacy mode, the
// RSA JWK signer users have), split into the HTTP share — each exchange timed around fetch, from the call to
// the last byte of the body — and the client's own work (building and signing the item, its JS).
//
// It spawns a process of the module, adds an Inc handler that replies, warms up, then sends AOGO_N messages
// one after the other (ao.message, then ao.result) and checks every reply. undici's diagnostics channels say
// how many TCP connections were opened (keep-alive working: none during the measured messages) and how long
// each request spent between its headers going out and its body coming in (the wire time, without fetch's
// own JS around it). After each message a POST of as many zero bytes, which the MU refuses at once, gives the
// floor of fetch on this machine (nullPost).
//
// env: AOGO_NET (base URL of the network), AOGO_JWK (path of an RSA JWK), AOGO_MODULE (module id; default:
// the network's), AOGO_N (messages, default 100), AOGO_WARMUP (default 10). Prints one JSON line of figures
// (milliseconds) on success; exits 1 with the failure otherwise.
'use strict'

const dc = require('node:diagnostics_channel')
const fs = require('node:fs')
const { performance } = require('node:perf_hooks')

const now = () => performance.now()
let connections = 0
dc.subscribe('undici:client:connected', () => { connections++ })
// The benchmark is sequential: one request is in flight at a time, so the wire time of the current exchange
// is the span between these two events.
let wireStart = 0
let wireLast = 0
dc.subscribe('undici:client:sendHeaders', () => { wireStart = now() })
dc.subscribe('undici:request:trailers', () => { wireLast = now() - wireStart })

// ao-scheduler-utils asks a hard-coded public SU router first; there is no internet here, so that one URL
// answers 404 (as for an unknown process) and everything else goes to the network under test.
const realFetch = globalThis.fetch
let exchanges = null // the current message's exchanges, when timing
globalThis.fetch = async (url, opts) => {
  const u = String(url instanceof Request ? url.url : url)
  if (u.includes('su-router.ao-testnet.xyz')) {
    return new Response(JSON.stringify({ error: 'not here' }), { status: 404 })
  }
  const t0 = now()
  wireLast = 0
  const res = await realFetch(url, opts)
  const body = await res.arrayBuffer()
  const ms = now() - t0
  const size = opts && opts.body ? opts.body.length || opts.body.byteLength || 0 : 0
  if (exchanges) exchanges.push({ method: (opts && opts.method) || 'GET', url: u, ms, wire: wireLast, size })
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
}

const { connect, createDataItemSigner } = require('@permaweb/aoconnect')

function check (cond, what, got) {
  if (!cond) throw new Error(`${what}: got ${JSON.stringify(got)}`)
}
async function getJSON (url) {
  const r = await realFetch(url)
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`)
  return r.json()
}
function stats (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q) => s[Math.min(s.length - 1, Math.floor(s.length * q))]
  const round = (x) => Math.round(x * 1000) / 1000
  return { p50: round(at(0.5)), p99: round(at(0.99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) }
}

async function main () {
  const base = process.env.AOGO_NET
  const n = Number(process.env.AOGO_N || 100)
  const warmup = Number(process.env.AOGO_WARMUP || 10)
  const info = await getJSON(base + '/')
  const mu = await getJSON(info.mu)
  const moduleId = process.env.AOGO_MODULE || info.module
  const jwk = JSON.parse(fs.readFileSync(process.env.AOGO_JWK, 'utf8'))
  const signer = createDataItemSigner(jwk)
  const me = require('node:crypto').createHash('sha256').update(Buffer.from(jwk.n, 'base64url')).digest('base64url')
  const ao = connect({
    MODE: 'legacy',
    MU_URL: info.mu,
    CU_URL: info.cu,
    GATEWAY_URL: info.gateway,
    GRAPHQL_URL: info.gateway + '/graphql',
    fetch: globalThis.fetch,
    noLog: true
  })

  const pid = await ao.spawn({
    module: moduleId,
    scheduler: info.scheduler,
    signer,
    tags: [{ name: 'Authority', value: mu.address }, { name: 'Name', value: 'aoconnect-bench' }]
  })
  const setup = await ao.message({
    process: pid,
    signer,
    tags: [{ name: 'Action', value: 'Eval' }],
    data: 'Count = 0\nHandlers.add("inc", Handlers.utils.hasMatchingTag("Action", "Inc"), function (m) Count = Count + 1; m.reply({ Data = tostring(Count) }) end)\nreturn "ok"'
  })
  const setupRes = await ao.result({ process: pid, message: setup })
  check(!setupRes.Error, 'setup Eval: no Error', setupRes.Error)

  const total = []; const http = []; const post = []; const result = []; const client = []
  const wirePost = []; const wireResult = []; const others = []; const nullPost = []
  let count = 0
  let measuredConnections = 0
  for (let i = 0; i < warmup + n; i++) {
    const measured = i >= warmup
    if (i === warmup) measuredConnections = connections
    exchanges = []
    const t0 = now()
    const id = await ao.message({ process: pid, signer, tags: [{ name: 'Action', value: 'Inc' }], data: 'inc ' + i })
    const res = await ao.result({ process: pid, message: id })
    const ms = now() - t0
    const ex = exchanges
    exchanges = null
    count++
    check(!res.Error, `Inc #${count}: no Error`, res.Error)
    check(Array.isArray(res.Messages) && res.Messages.length === 1 && res.Messages[0].Data === String(count) && res.Messages[0].Target === me,
      `Inc #${count} replies ${count} to the sender`, res.Messages)
    if (!measured) continue
    // The floor of fetch itself here: a POST of the same size that the MU refuses at once (not an item), timed
    // the same way. What a message's exchanges take above it is the units' work.
    const junk = new Uint8Array(ex[0] && ex[0].size ? ex[0].size : 1024)
    const n0 = now()
    const nr = await realFetch(info.mu, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' }, body: junk })
    await nr.arrayBuffer()
    check(nr.status === 400, 'an empty POST is refused', nr.status)
    nullPost.push(now() - n0)
    const p = ex.filter((e) => e.method === 'POST')
    const g = ex.filter((e) => e.method === 'GET' && e.url.includes('/result/'))
    check(p.length === 1 && g.length === 1, 'one POST and one GET result per message', ex.map((e) => e.method + ' ' + e.url))
    if (ex.length !== 2) others.push(ex.length - 2)
    const h = ex.reduce((a, e) => a + e.ms, 0)
    total.push(ms); http.push(h); client.push(ms - h)
    post.push(p[0].ms); result.push(g[0].ms)
    wirePost.push(p[0].wire); wireResult.push(g[0].wire)
  }
  console.log(JSON.stringify({
    pid,
    messages: total.length,
    replies: count,
    total: stats(total),
    http: stats(http),
    post: stats(post),
    result: stats(result),
    client: stats(client),
    wirePost: stats(wirePost),
    wireResult: stats(wireResult),
    nullPost: stats(nullPost),
    connections: connections - measuredConnections,
    extraExchanges: others.length
  }))
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
