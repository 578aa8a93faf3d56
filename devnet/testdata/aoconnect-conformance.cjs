// aoconnect conformance: drives a running aogo dev network with the real @permaweb/aoconnect client (legacy
// mode) and checks real outputs: spawn, message + result, results paging, dryrun (state unchanged),
// monitor/unmonitor of a cron process, and assign.
//
// env: AOGO_NET (base URL of the network), AOGO_JWK (path of an RSA JWK), AOGO_MODULE (module id; default:
// the network's). Prints one JSON line of facts on success; exits 1 with the failure otherwise.
'use strict'

// ao-scheduler-utils asks a hard-coded public SU router before GraphQL; there is no internet here, so that one
// URL answers 404 (as for an unknown process) and everything else goes to the network under test.
const realFetch = globalThis.fetch
const routerCalls = []
globalThis.fetch = async (url, opts) => {
  const u = String(url instanceof Request ? url.url : url)
  if (u.includes('su-router.ao-testnet.xyz')) {
    routerCalls.push(u)
    return new Response(JSON.stringify({ error: 'not here' }), { status: 404 })
  }
  return realFetch(url, opts)
}

const fs = require('node:fs')
const { connect, createDataItemSigner } = require('@permaweb/aoconnect')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
function check (cond, what, got) {
  if (!cond) throw new Error(`${what}: got ${JSON.stringify(got)}`)
}
async function getJSON (url) {
  const r = await realFetch(url)
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`)
  return r.json()
}
// outputData is what an aos result shows: Output.data (aos 2), or Output itself when it is a string.
function outputData (res) {
  const o = res.Output
  if (o == null) return undefined
  if (typeof o === 'string') return o
  if (typeof o.data === 'string') return o.data
  if (o.data && typeof o.data.output !== 'undefined') return String(o.data.output)
  return o.data
}
// replyData is the Data of the single outbox message a handler's msg.reply produced.
function replyData (res, what) {
  check(!res.Error, `${what}: no Error`, res.Error)
  check(Array.isArray(res.Messages) && res.Messages.length >= 1, `${what}: one reply in the outbox`, res.Messages)
  return res.Messages[0].Data
}

async function main () {
  const base = process.env.AOGO_NET
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
  const facts = { module: moduleId }
  const authority = { name: 'Authority', value: mu.address }
  const evalMsg = async (pid, code) => {
    const id = await ao.message({ process: pid, signer, tags: [{ name: 'Action', value: 'Eval' }], data: code })
    const res = await ao.result({ process: pid, message: id })
    check(!res.Error, `eval ${code.slice(0, 40)}: no Error`, res.Error)
    return { id, res }
  }

  // spawn: aoconnect checks the module's tags and the scheduler's Scheduler-Location through GraphQL first.
  const pid = await ao.spawn({
    module: moduleId,
    scheduler: info.scheduler,
    signer,
    tags: [authority, { name: 'Name', value: 'conformance' }]
  })
  check(typeof pid === 'string' && pid.length === 43, 'spawn returns a process id', pid)
  facts.pid = pid

  // message: an Eval adds handlers; result returns its output.
  const setup = await evalMsg(pid, [
    'Count = 0',
    'Handlers.add("inc", Handlers.utils.hasMatchingTag("Action", "Inc"), function (m) Count = Count + 1; m.reply({ Data = tostring(Count) }) end)',
    'Handlers.add("count", Handlers.utils.hasMatchingTag("Action", "Count"), function (m) m.reply({ Data = tostring(Count) }) end)',
    'return "handlers: " .. #Handlers.list'
  ].join('\n'))
  const setupOut = outputData(setup.res)
  check(typeof setupOut === 'string' && setupOut.startsWith('handlers: '), 'eval output', setup.res.Output)
  facts.evalOutput = setupOut

  const incs = []
  for (let i = 1; i <= 3; i++) {
    const id = await ao.message({ process: pid, signer, tags: [{ name: 'Action', value: 'Inc' }], data: 'inc ' + i })
    const res = await ao.result({ process: pid, message: id })
    check(replyData(res, 'Inc') === String(i), `Inc #${i} replies ${i}`, res.Messages)
    check(res.Messages[0].Target === me, 'the reply goes to the sender', res.Messages[0])
    incs.push(id)
  }
  facts.incReplies = 3

  // dryrun: reads state and never changes it.
  const dryCount = async () => replyData(await ao.dryrun({ process: pid, tags: [{ name: 'Action', value: 'Count' }] }), 'dryrun Count')
  check(await dryCount() === '3', 'dryrun Count after 3 Inc', await dryCount())
  const dryInc = await ao.dryrun({ process: pid, tags: [{ name: 'Action', value: 'Inc' }] })
  check(replyData(dryInc, 'dryrun Inc') === '4', 'dryrun Inc computes 4', dryInc.Messages)
  check(await dryCount() === '3', 'dryrun Inc did not change Count', await dryCount())
  facts.dryrunCount = 3

  // results: every evaluated message (Process, Eval, 3 Inc), paged with cursors, in order.
  const all = await ao.results({ process: pid, sort: 'ASC', limit: 100 })
  check(all.edges.length === 5, 'results lists 5 evaluations', all.edges.length)
  const page1 = await ao.results({ process: pid, sort: 'ASC', limit: 2 })
  check(page1.edges.length === 2, 'first page of 2', page1.edges.length)
  const page2 = await ao.results({ process: pid, sort: 'ASC', limit: 2, from: page1.edges[1].cursor })
  const page3 = await ao.results({ process: pid, sort: 'ASC', limit: 2, from: page2.edges[1].cursor })
  const paged = [...page1.edges, ...page2.edges, ...page3.edges]
  check(paged.length === 5, 'pages of 2 cover the 5 results', paged.length)
  check(JSON.stringify(paged.map((e) => e.cursor)) === JSON.stringify(all.edges.map((e) => e.cursor)), 'paged cursors equal the full list', paged.map((e) => e.cursor))
  const lastInc = all.edges[4].node
  check(replyData(lastInc, 'last result') === '3', 'last result is the third Inc', lastInc.Messages)
  const desc = await ao.results({ process: pid, sort: 'DESC', limit: 1 })
  check(desc.edges.length === 1 && JSON.stringify(desc.edges[0].node) === JSON.stringify(all.edges[4].node), 'DESC starts at the newest', desc.edges)
  facts.results = all.edges.length

  // monitor: a cron process ticks every second; its Tick handler sends a message to itself, which only the
  // MU's cranking of the cron results delivers (Tocks counts them).
  const cronPid = await ao.spawn({
    module: moduleId,
    scheduler: info.scheduler,
    signer,
    tags: [authority, { name: 'Name', value: 'cron' }, { name: 'Cron-Interval', value: '1-second' }, { name: 'Cron-Tag-Action', value: 'Tick' }]
  })
  await evalMsg(cronPid, [
    'Ticks = Ticks or 0; Tocks = Tocks or 0',
    'Handlers.add("tick", Handlers.utils.hasMatchingTag("Action", "Tick"), function (m) Ticks = Ticks + 1; Send({ Target = ao.id, Action = "Tock" }) end)',
    'Handlers.add("tock", Handlers.utils.hasMatchingTag("Action", "Tock"), function (m) Tocks = Tocks + 1 end)',
    'Handlers.add("stats", Handlers.utils.hasMatchingTag("Action", "Stats"), function (m) m.reply({ Data = tostring(Ticks) .. "," .. tostring(Tocks) }) end)',
    'return "ok"'
  ].join('\n'))
  const stats = async () => {
    const [t, k] = replyData(await ao.dryrun({ process: cronPid, tags: [{ name: 'Action', value: 'Stats' }] }), 'dryrun Stats').split(',').map(Number)
    return { ticks: t, tocks: k }
  }
  const before = await stats()
  check(before.tocks === 0, 'no Tock before monitor', before)
  const mon = await ao.monitor({ process: cronPid, signer })
  check(typeof mon === 'string', 'monitor answers', mon)
  let s = before
  for (let i = 0; i < 200 && s.tocks < 2; i++) {
    await sleep(100)
    s = await stats()
  }
  check(s.tocks >= 2 && s.ticks >= 2, 'the cron handler ran and its messages were cranked', s)
  facts.cronTicks = s.ticks
  facts.cronTocks = s.tocks
  const unmon = await ao.unmonitor({ process: cronPid, signer })
  check(typeof unmon === 'string', 'unmonitor answers', unmon)
  await sleep(2500) // let a tick already in flight land
  const settled = await stats()
  await sleep(3000)
  const after = await stats()
  check(after.tocks === settled.tocks, 'no more Tocks after unmonitor', { settled, after })
  facts.afterUnmonitor = after.tocks

  // assign: the first process's Inc message is assigned to a second process, whose handler sees it.
  const other = await ao.spawn({ module: moduleId, scheduler: info.scheduler, signer, tags: [authority, { name: 'Name', value: 'assignee' }] })
  await evalMsg(other, [
    'Seen = 0',
    'ao.addAssignable("inc-from-anyone", function (m) return true end)',
    'Handlers.add("seen", Handlers.utils.hasMatchingTag("Action", "Inc"), function (m) Seen = Seen + 1; SeenData = m.Data; m.reply({ Data = "seen " .. m.Data }) end)',
    'Handlers.add("get", Handlers.utils.hasMatchingTag("Action", "Seen"), function (m) m.reply({ Data = tostring(Seen) .. ":" .. tostring(SeenData) }) end)',
    'return "ok"'
  ].join('\n'))
  const assignment = await ao.assign({ process: other, message: incs[1] })
  check(typeof assignment === 'string' && assignment.length === 43, 'assign returns the assignment id', assignment)
  let seen
  for (let i = 0; i < 200; i++) {
    seen = replyData(await ao.dryrun({ process: other, tags: [{ name: 'Action', value: 'Seen' }] }), 'dryrun Seen')
    if (seen !== '0:nil') break
    await sleep(50)
  }
  check(seen === '1:inc 2', 'the assigned message ran the handler', seen)
  const assignedRes = await ao.result({ process: other, message: incs[1] })
  check(replyData(assignedRes, 'assigned result') === 'seen inc 2', 'result of the assigned message', assignedRes.Messages)
  // The first process's own state did not change.
  check(await dryCount() === '3', 'assigning did not touch the source process', await dryCount())
  facts.assigned = seen

  facts.routerCalls = routerCalls.length
  console.log(JSON.stringify(facts))
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err)
  process.exit(1)
})
