// wao HyperBEAM client conformance: drives a running aogo dev network's AO-Core routes with the npm `wao`
// package's HB class (its hb.js, signing with hbsig's httpsig@1.0), a second client independent of aoconnect.
// The Go test has spawned an ao.N.1 aos process AOGO_PID (slot 0), sent it an Eval of the counter handlers
// (slot 1) and three Incs (slots 2–4) through POST /<pid>~process@1.0/push. This script reads all of it back
// the way wao does, and tries wao's own spawn and schedule, which send httpsig@1.0-committed messages this
// node refuses (the Go test checks the refusal and that nothing was scheduled).
//
// env: AOGO_NET (base URL), AOGO_JWK (path of an RSA JWK), AOGO_PID. Prints one JSON line of facts on success;
// exits 1 with the failure otherwise.
'use strict'

const fs = require('node:fs')
const path = require('node:path')

// wao's package exports do not list hb.js, but its index loads much more (ao-loader, arweave…): load the CJS
// build of the HB class itself from where require finds the package (NODE_PATH).
const HB = require(path.join(path.dirname(require.resolve('wao')), 'hb.js')).default

function check (cond, what, got) {
  if (!cond) throw new Error(`${what}: got ${JSON.stringify(got)}`)
}
function replyData (res, what) {
  check(res && !res.Error, `${what}: no Error`, res && res.Error)
  check(Array.isArray(res.Messages) && res.Messages.length >= 1, `${what}: one reply in the outbox`, res.Messages)
  return res.Messages[0].Data
}
async function refusal (what, f) {
  try {
    const r = await f()
    return { what, ok: true, got: JSON.stringify(r).slice(0, 300) }
  } catch (e) {
    // hbsig's send throws `${status}: ${body}` for an answer ≥ 400.
    const m = /^Error: (\d{3}): ([\s\S]*)$/.exec(String(e))
    check(m, `${what}: an HTTP refusal`, String(e))
    return { what, status: Number(m[1]), error: JSON.parse(m[2]).error }
  }
}

async function main () {
  const url = process.env.AOGO_NET
  const pid = process.env.AOGO_PID
  const jwk = JSON.parse(fs.readFileSync(process.env.AOGO_JWK, 'utf8'))
  const info = await (await fetch(url + '/')).json()
  const hb = await new HB({ url, cu: info.cu }).init(jwk)
  const facts = { signer: hb.addr }

  // init reads GET /~meta@1.0/info/address through hbsig's `from`: only a signed answer has an `out`.
  facts.operator = hb.operator
  facts.metaAddress = (await hb.getJSON({ path: '/~meta@1.0/info' })).address

  // slot, now, compute at a slot: GET …/~json@1.0/serialize, as wao's getJSON does.
  facts.slot = (await hb.slot({ pid })).current
  const now = await hb.now({ pid })
  facts.nowReply = replyData(JSON.parse(now.results.json.body), 'now')
  facts.slot2Reply = replyData(await hb.computeLegacy({ pid, slot: 2 }), 'compute slot 2')
  facts.slot4Reply = replyData(await hb.computeLegacy({ pid, slot: 4 }), 'compute slot 4')

  // The schedule: GET /~scheduler@1.0/schedule?target=&from=&accept=application/aos-2 (unsigned fetch).
  const page = await hb.messages({ pid, from: 0 })
  facts.scheduleIds = page.edges.map((e) => e.node.message.id ?? e.node.message.Id)
  facts.scheduleCursors = page.edges.map((e) => e.cursor)
  facts.scheduleFrom2 = (await hb.messages({ pid, from: 2 })).edges.map((e) => e.cursor)

  // dryrun and results go through ~relay@1.0/call to the CU (relay-path = info.cu + …), signed.
  facts.dryrunCount = replyData(await hb.dryrun({ pid, action: 'Count' }), 'dryrun Count')
  facts.dryrunWho = replyData(await hb.dryrun({ pid, action: 'Who' }), 'dryrun Who')
  facts.slotAfterDryrun = (await hb.slot({ pid })).current
  facts.countAfterDryrun = replyData(await hb.dryrun({ pid, action: 'Count' }), 'dryrun Count again')
  const results = await hb.results({ process: pid, limit: 3 })
  facts.resultsEdges = results.edges.length
  facts.resultsFirstReply = replyData(results.edges[0].node, 'results[0]')

  // A relay anywhere else is refused.
  facts.relayElsewhere = await refusal('relay elsewhere', () => hb.post({ path: '/~relay@1.0/call', method: 'GET', 'relay-path': 'http://169.254.169.254/latest/meta-data' }))

  // wao's spawn (POST /~process@1.0/schedule) and schedule (POST /<pid>/schedule) send httpsig@1.0-committed
  // messages (a multipart body with body/commitments/…): refused, nothing scheduled.
  facts.spawn = await refusal('spawnLegacy', () => hb.spawnLegacy({ module: info.module }))
  facts.schedule = await refusal('schedule', () => hb.schedule({ pid, tags: { Action: 'Inc' } }))
  facts.slotAfterRefusals = (await hb.slot({ pid })).current
  console.log(JSON.stringify(facts))
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e))
  process.exit(1)
})
