// aoconnect mainnet conformance: drives a running aogo dev network with the real @permaweb/aoconnect client in
// MODE 'mainnet' (AO-Core routes, signed ANS-104 request bodies) and checks real outputs: spawn with and without
// SCHEDULER, message + result by slot and by id, results, dryrun (state unchanged). With AOGO_CROSS=1 it also
// spawns an ao.TN.1 process in legacy mode and has it and an ao.N.1 process message each other both ways, each
// reply counted exactly once. With AOGO_BENCH=N it times N message→result rounds in each mode, interleaved.
//
// env: AOGO_NET (base URL of the network), AOGO_JWK (path of an RSA JWK), AOGO_MODULE (module id; default: the
// network's). Prints one JSON line of facts on success; exits 1 with the failure otherwise.
'use strict'

// ao-scheduler-utils (legacy mode) asks a hard-coded public SU router before GraphQL; there is no internet
// here, so that one URL answers 404 and everything else goes to the network under test.
const realFetch = globalThis.fetch
globalThis.fetch = async (url, opts) => {
  const u = String(url instanceof Request ? url.url : url)
  if (u.includes('su-router.ao-testnet.xyz')) {
    return new Response(JSON.stringify({ error: 'not here' }), { status: 404 })
  }
  return realFetch(url, opts)
}

const fs = require('node:fs')
// aoconnect 0.0.98's CommonJS build cannot start mainnet mode (its require of @permaweb/ao-core-libs has no
// default.init): load its ES module build, found where require would find the package (NODE_PATH).
let connect, createSigner, createDataItemSigner
async function load () {
  const esm = require.resolve('@permaweb/aoconnect').replace(/index\.cjs$/, 'index.js')
  ;({ connect, createSigner, createDataItemSigner } = await import(require('node:url').pathToFileURL(esm).href))
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
function check (cond, what, got) {
  if (!cond) throw new Error(`${what}: got ${JSON.stringify(got)}`)
}
async function getJSON (url) {
  const r = await realFetch(url)
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`)
  return r.json()
}
function outputData (res) {
  const o = res.Output
  if (o == null) return undefined
  if (typeof o === 'string') return o
  if (typeof o.data === 'string') return o.data
  if (o.data && typeof o.data.output !== 'undefined') return String(o.data.output)
  return o.data
}
function replyData (res, what) {
  check(!res.Error, `${what}: no Error`, res.Error)
  check(Array.isArray(res.Messages) && res.Messages.length >= 1, `${what}: one reply in the outbox`, res.Messages)
  return res.Messages[0].Data
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

const handlers = `
Count = Count or 0
Handlers.add("inc", Handlers.utils.hasMatchingTag("Action", "Inc"), function (m) Count = Count + 1; m.reply({ Data = tostring(Count) }) end)
Handlers.add("count", Handlers.utils.hasMatchingTag("Action", "Count"), function (m) m.reply({ Data = tostring(Count) }) end)
Pings = Pings or 0
Pongs = Pongs or 0
Handlers.add("go", Handlers.utils.hasMatchingTag("Action", "Go"), function (m) Send({ Target = m.Tags.Peer, Action = "Ping" }) end)
Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), function (m) Pings = Pings + 1; Send({ Target = m.From, Action = "Pong" }) end)
Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), function (m) Pongs = Pongs + 1 end)
Handlers.add("counts", Handlers.utils.hasMatchingTag("Action", "Counts"), function (m) m.reply({ Data = tostring(Pings) .. "/" .. tostring(Pongs) }) end)
Handlers.add("publish", Handlers.utils.hasMatchingTag("Action", "Publish"), function (m) Send({ device = "patch@1.0", cache = { count = tostring(Count), info = { name = "mainnet", level = Count } } }) end)
Handlers.add("bench", Handlers.utils.hasMatchingTag("Action", "Bench"), function (m) BenchCount = (BenchCount or 0) + 1 end)
return "ok"`

async function main () {
  await load()
  const base = process.env.AOGO_NET
  const info = await getJSON(base + '/')
  const mu = await getJSON(info.mu)
  const moduleId = process.env.AOGO_MODULE || info.module
  const jwk = JSON.parse(fs.readFileSync(process.env.AOGO_JWK, 'utf8'))
  const signer = createSigner(jwk)
  const facts = { module: moduleId }

  // spawn without SCHEDULER: aoconnect asks GET /~meta@1.0/info/address for it.
  const hbDefault = connect({ MODE: 'mainnet', URL: base, signer })
  const pid0 = await hbDefault.spawn({ module: moduleId, tags: [{ name: 'Name', value: 'mainnet-default' }] })
  check(typeof pid0 === 'string' && pid0.length === 43, 'spawn without SCHEDULER', pid0)
  facts.pidDefault = pid0

  // spawn with SCHEDULER and the MU as Authority (so messages it pushes for other processes are trusted).
  const ao = connect({ MODE: 'mainnet', URL: base, SCHEDULER: info.scheduler, signer })
  const pid = await ao.spawn({ module: moduleId, authority: mu.address, tags: [{ name: 'Name', value: 'mainnet' }] })
  check(typeof pid === 'string' && pid.length === 43 && pid !== pid0, 'spawn with SCHEDULER', pid)
  facts.pid = pid

  // message → slot; result by slot.
  const evalSlot = await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Eval' }], data: handlers })
  check(Number.isInteger(Number(evalSlot)) && Number(evalSlot) >= 1, 'message answers a slot', evalSlot)
  const evalRes = await ao.result({ process: pid, slot: evalSlot })
  check(!evalRes.Error, 'eval: no Error', evalRes.Error)
  facts.evalOutput = String(outputData(evalRes))

  // message with returnMessageId; result by id and by slot agree.
  let last
  for (let i = 1; i <= 3; i++) {
    const { slot, id } = await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Inc' }], returnMessageId: true, returnAssignmentSlot: true })
    check(typeof id === 'string' && id.length === 43, 'message id', id)
    const byId = await ao.result({ process: pid, message: id })
    const bySlot = await ao.result({ process: pid, slot })
    check(replyData(byId, 'inc by id') === String(i), `inc ${i} by id`, byId.Messages)
    check(replyData(bySlot, 'inc by slot') === String(i), `inc ${i} by slot`, bySlot.Messages)
    last = slot
  }
  facts.incReplies = 3

  // results: the latest slot's result.
  const rs = await ao.results({ process: pid })
  check(rs.edges.length === 1 && String(rs.edges[0].cursor) === String(last), 'results cursor is the last slot', rs.edges.map((e) => e.cursor))
  check(replyData(rs.edges[0].node, 'results') === '3', 'results node', rs.edges[0].node.Messages)
  facts.resultsCursor = Number(rs.edges[0].cursor)

  // dryrun: reads Count, changes nothing (a later Inc counts from 3).
  const d1 = await ao.dryrun({ process: pid, tags: [{ name: 'Action', value: 'Count' }] })
  check(replyData(d1, 'dryrun') === '3', 'dryrun count', d1.Messages)
  const d2 = await ao.dryrun({ process: pid, tags: [{ name: 'Action', value: 'Inc' }] })
  check(replyData(d2, 'dryrun inc') === '4', 'dryrun inc sees 4', d2.Messages)
  const after = await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Inc' }] })
  const afterRes = await ao.result({ process: pid, slot: after })
  check(replyData(afterRes, 'inc after dryrun') === '4', 'dryrun left the state unchanged', afterRes.Messages)
  facts.dryrunCount = 3

  // patch@1.0: state the process publishes, read at …/now/cache/<key> and …/compute/cache/<key>.
  const getText = async (path) => {
    const r = await realFetch(base + path)
    const t = await r.text()
    check(r.ok, `GET ${path}`, `${r.status} ${t}`)
    return t
  }
  const pub = await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Publish' }] })
  check(!(await ao.result({ process: pid, slot: pub })).Error, 'publish', pub)
  check(await getText(`/${pid}~process@1.0/now/cache/count`) === '4', 'now/cache/count', null)
  check(await getText(`/${pid}~process@1.0/compute/cache/info/name`) === 'mainnet', 'compute/cache/info/name', null)
  check(JSON.parse(await getText(`/${pid}/now/cache/info`)).level === 4, 'now/cache/info is the nested map', null)
  await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Inc' }] })
  await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Publish' }] })
  // no result asked: now/cache computes to the latest slot itself.
  check(await getText(`/${pid}~process@1.0/now/cache/count`) === '5', 'now/cache/count after another publish', null)
  const miss = await realFetch(`${base}/${pid}~process@1.0/now/cache/nope`)
  check(miss.status === 404 && (await miss.json()).error.includes('no key cache/nope'), 'a missing cache key is a 404 naming it', miss.status)
  facts.cacheCount = 5

  // request(): any AO-Core path, signed as ans104@1.0 or with its default, HTTP Message Signatures (httpsig@1.0).
  const infoRes = await ao.request({ path: '/~meta@1.0/info', 'signing-format': 'ans104' })
  check(infoRes.ok && (await infoRes.json()).address === info.scheduler, 'request ~meta@1.0/info (ans104)', infoRes.status)
  const nowRes = await ao.request({ path: `/${pid}~process@1.0/now`, 'signing-format': 'ans104', target: pid })
  const nowBody = await nowRes.json()
  check(nowRes.ok && nowBody.slot === 8, 'request now (ans104) is at the latest slot', nowBody)
  const sigRes = await ao.request({ path: '/~meta@1.0/info' })
  const sigBody = await sigRes.json()
  check(sigRes.ok && sigBody.address === info.scheduler, 'request ~meta@1.0/info (httpsig)', [sigRes.status, sigBody])
  const sigNow = await ao.request({ path: `/${pid}~process@1.0/now`, target: pid })
  const sigNowBody = await sigNow.json()
  check(sigNow.ok && sigNowBody.slot === 8, 'request now (httpsig) is at the latest slot', [sigNow.status, sigNowBody])
  facts.requestNowSlot = nowBody.slot

  if (process.env.AOGO_CROSS === '1') facts.cross = await cross({ info, mu, moduleId, jwk, ao, pid })
  if (process.env.AOGO_BENCH) facts.bench = await bench({ info, mu, moduleId, jwk, ao, pid, n: Number(process.env.AOGO_BENCH) })
  console.log(JSON.stringify(facts))
}

function legacy (info) {
  return connect({ MODE: 'legacy', MU_URL: info.mu, CU_URL: info.cu, GATEWAY_URL: info.gateway, GRAPHQL_URL: info.gateway + '/graphql', fetch: globalThis.fetch, noLog: true })
}

// cross: the ao.N.1 process pid and a new ao.TN.1 process ping each other both ways through the one MU.
async function cross ({ info, mu, moduleId, jwk, ao, pid }) {
  const lg = legacy(info)
  const dsigner = createDataItemSigner(jwk)
  const tn = await lg.spawn({ module: moduleId, scheduler: info.scheduler, signer: dsigner, tags: [{ name: 'Authority', value: mu.address }, { name: 'Name', value: 'legacy' }] })
  const ev = await lg.message({ process: tn, signer: dsigner, tags: [{ name: 'Action', value: 'Eval' }], data: handlers })
  const evr = await lg.result({ process: tn, message: ev })
  check(!evr.Error, 'legacy eval', evr.Error)
  // ao.N.1 → ao.TN.1: Ping, and its Pong back.
  const g1 = await ao.message({ process: pid, tags: [{ name: 'Action', value: 'Go' }, { name: 'Peer', value: tn }] })
  const g1r = await ao.result({ process: pid, slot: g1 })
  check(!g1r.Error && g1r.Messages.length === 1 && g1r.Messages[0].Target === tn, 'N.1 sends Ping to TN.1', g1r.Messages)
  // ao.TN.1 → ao.N.1.
  const g2 = await lg.message({ process: tn, signer: dsigner, tags: [{ name: 'Action', value: 'Go' }, { name: 'Peer', value: pid }] })
  const g2r = await lg.result({ process: tn, message: g2 })
  check(!g2r.Error && g2r.Messages.length === 1 && g2r.Messages[0].Target === pid, 'TN.1 sends Ping to N.1', g2r.Messages)
  const counts = async () => {
    const a = await ao.dryrun({ process: pid, tags: [{ name: 'Action', value: 'Counts' }] })
    const b = await lg.dryrun({ process: tn, tags: [{ name: 'Action', value: 'Counts' }] })
    return { n1: replyData(a, 'counts N.1'), tn1: replyData(b, 'counts TN.1') }
  }
  let c
  for (let i = 0; i < 200; i++) {
    c = await counts()
    if (c.n1 === '1/1' && c.tn1 === '1/1') break
    await sleep(50)
  }
  check(c.n1 === '1/1' && c.tn1 === '1/1', 'each side got one Ping and one Pong', c)
  await sleep(1500) // a second crank of any of the four messages would show by now
  c = await counts()
  check(c.n1 === '1/1' && c.tn1 === '1/1', 'still exactly one of each', c)
  return { legacyPid: tn, counts: c }
}

// bench: n rounds of message → result on pid in mainnet mode and on a legacy process in legacy mode,
// alternating, same module, same handler.
async function bench ({ info, mu, moduleId, jwk, ao, pid, n }) {
  const lg = legacy(info)
  const dsigner = createDataItemSigner(jwk)
  const tn = await lg.spawn({ module: moduleId, scheduler: info.scheduler, signer: dsigner, tags: [{ name: 'Authority', value: mu.address }] })
  const ev = await lg.message({ process: tn, signer: dsigner, tags: [{ name: 'Action', value: 'Eval' }], data: handlers })
  await lg.result({ process: tn, message: ev })
  const tags = [{ name: 'Action', value: 'Bench' }]
  // sign: what one signature costs the client (mainnet mode signs its result request too; legacy GETs it).
  const ms = { legacy: [], mainnet: [], sign: [] }
  const nodeCrypto = require('node:crypto')
  const privateKey = nodeCrypto.createPrivateKey({ key: jwk, format: 'jwk' })
  const deepHash = nodeCrypto.randomBytes(48)
  for (let i = 0; i < n + 3; i++) {
    let t = performance.now()
    const id = await lg.message({ process: tn, signer: dsigner, tags })
    const r1 = await lg.result({ process: tn, message: id })
    const dl = performance.now() - t
    t = performance.now()
    const slot = await ao.message({ process: pid, tags })
    const r2 = await ao.result({ process: pid, slot })
    const dm = performance.now() - t
    check(!r1.Error && !r2.Error, 'bench results', [r1.Error, r2.Error])
    const ts = performance.now()
    // the RSA-PSS signature of an item's deep hash, as aoconnect's signer makes it in both modes
    nodeCrypto.createSign('sha256').update(deepHash).sign({ key: privateKey, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING })
    const dsig = performance.now() - ts
    if (i >= 3) { // 3 warm-up rounds
      ms.legacy.push(dl); ms.mainnet.push(dm); ms.sign.push(dsig)
    }
  }
  const l = median(ms.legacy); const m = median(ms.mainnet); const sg = median(ms.sign)
  return {
    rounds: n,
    legacyP50ms: +l.toFixed(2),
    mainnetP50ms: +m.toFixed(2),
    ratio: +(m / l).toFixed(3),
    signP50ms: +sg.toFixed(2),
    // Less the one extra signature mainnet mode's result request costs the client.
    ratioLessSigning: +((m - sg) / l).toFixed(3)
  }
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1) })
