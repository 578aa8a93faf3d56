#!/usr/bin/env node
// Runs aos scenario call lists through the reference loader @permaweb/ao-loader against one wasm module.
// The Go side (aos/scenario.go) turns a scenario (aos/testdata/scenarios/*.json, format in aos/README.md)
// into a "calls" file: {"name", "env", "calls": [{"name", "msg"}], "bench"?: step name} with every msg
// already built as the CU builds it. This runner only executes them and prints one JSON line per file:
//   {"scenario": name, "steps": [{"name", "Output", "Error", "Messages", "Spawns", "Assignments", "ms"}]}
// Expectations are checked in Go (aos/scenario_test.go), so another runner (e.g. `aogo run`) only has to
// emit the same lines.
//
// usage: node run-scenarios.cjs --loader DIR/@permaweb/ao-loader --wasm FILE --format FORMAT
//                               [--copy-memory] [--bench N] CALLS.json...
//   --copy-memory  hand the memory returned by each call back into the next one, as a CU does (not
//                  after a failed call: a CU keeps the memory from before it)
//                  (default: keep the state in the live instance)
//   --bench N      instead of the steps, time N extra repetitions of the scenario's "bench" step
'use strict'
const fs = require('fs')
// the emscripten glue replaces process.hrtime (and Date.now, performance.now) with deterministic counters
const hrtime = process.hrtime.bigint.bind(process.hrtime)

function parseArgs (argv) {
  const o = { files: [], copyMemory: false, bench: 0 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--loader') o.loader = argv[++i]
    else if (a === '--wasm') o.wasm = argv[++i]
    else if (a === '--format') o.format = argv[++i]
    else if (a === '--copy-memory') o.copyMemory = true
    else if (a === '--bench') o.bench = Number(argv[++i])
    else o.files.push(a)
  }
  if (!o.loader || !o.wasm || !o.format || o.files.length === 0) {
    console.error('usage: run-scenarios.cjs --loader DIR --wasm FILE --format FORMAT [--copy-memory] [--bench N] SCENARIO.json...')
    process.exit(2)
  }
  return o
}

async function runScenario (AoLoader, binary, opts, file) {
  const sc = JSON.parse(fs.readFileSync(file, 'utf8'))
  const env = sc.env
  const msgs = sc.calls
  // UNSAFE_MEMORY: hand back the live buffer instead of a copy of the whole heap on every call (100 MB
  // for the real aos modules); --copy-memory still feeds a copy back in, as a CU does
  const handle = await AoLoader(binary, { format: opts.format, computeLimit: 9e12, memoryLimit: 524288000, UNSAFE_MEMORY: !opts.copyMemory })
  let memory = null
  const steps = []
  const call = async (msg) => {
    const t0 = hrtime()
    const res = await handle(memory, msg, env)
    const ms = Number(hrtime() - t0) / 1e6
    // a CU keeps the previous memory when the result has an Error (and a thrown ok:false never gets here)
    if (opts.copyMemory && !res.Error) memory = res.Memory
    return { res, ms }
  }
  for (const { name, msg } of msgs) {
    let step
    try {
      const { res, ms } = await call(msg)
      step = { name, Output: res.Output, Error: res.Error, Messages: res.Messages, Spawns: res.Spawns, Assignments: res.Assignments, ms }
    } catch (e) {
      // ok:false from the module: the loader throws the response (the CU records it as Error)
      step = { name, Error: typeof e === 'string' ? e : String(e && e.message ? e.message : e), Thrown: true }
    }
    steps.push(step)
  }
  const out = { scenario: sc.name, steps }
  if (opts.bench > 0 && sc.bench) {
    const tmpl = msgs.find(m => m.name === sc.bench)
    if (!tmpl) throw new Error(`bench step ${sc.bench} not found`)
    const times = []
    for (let i = 0; i < opts.bench; i++) {
      const msg = JSON.parse(JSON.stringify(tmpl.msg))
      msg.Id = 'BENCH' + String(i).padStart(38, '0')
      msg.Nonce = msgs.length + i
      msg.Timestamp = msg.Timestamp + i + 1
      msg['Hash-Chain'] = msg.Id
      const { res, ms } = await call(msg)
      if (res.Error) throw new Error('bench step failed: ' + res.Error)
      times.push(ms)
    }
    times.sort((a, b) => a - b)
    out.bench = { step: sc.bench, n: times.length, median_ms: times[Math.floor(times.length / 2)], min_ms: times[0], copyMemory: opts.copyMemory }
  }
  return out
}

async function main () {
  const opts = parseArgs(process.argv.slice(2))
  const AoLoader = require(opts.loader)
  const binary = fs.readFileSync(opts.wasm)
  for (const f of opts.files) {
    const out = await runScenario(AoLoader, binary, opts, f)
    process.stdout.write(JSON.stringify(out) + '\n')
  }
}

main().catch(e => { console.error(e && e.stack ? e.stack : e); process.exit(1) })
