// refbench.cjs times a message log under the reference @permaweb/ao-loader: ROUNDS times, each on a fresh
// instance, it prints the milliseconds the log's handle() calls took (instantiation excluded) as one JSON line
// {ms, gas}, gas being the sum of GasUsed up to
// the first message that throws (out of gas), so a benchmark can set its figures beside ours from the same run.
//
// usage: node --experimental-wasm-memory64 refbench.cjs NODE_MODULES MODULE.wasm FORMAT PROCESS.json MESSAGES.jsonl COMPUTE_LIMIT ROUNDS
const fs = require('fs')
const path = require('path')
const [nodeModules, wasmPath, format, processPath, messagesPath, computeLimit, rounds] = process.argv.slice(2)
process.argv = [process.argv[0], 'thisProgram'] // as refrun.cjs: the v2 glue puts argv on the wasm stack
// The glues replace process.hrtime and Date.now with their deterministic counters: keep the real clock first.
const clock = process.hrtime.bigint.bind(process.hrtime)
const AoLoader = require(path.join(nodeModules, '@permaweb/ao-loader'))
const crypto = require('crypto')

async function main () {
  const wasm = fs.readFileSync(wasmPath)
  const proc = JSON.parse(fs.readFileSync(processPath, 'utf8'))
  const moduleId = crypto.createHash('sha256').update(wasm).digest('base64url')
  const env = { Process: proc, Module: { Id: moduleId, Owner: '', Tags: [] } }
  const msgs = fs.readFileSync(messagesPath, 'utf8').split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l))
  for (let r = 0; r < Number(rounds); r++) {
    const handle = await AoLoader(wasm, { format, memoryLimit: 1024 * 1024 * 1024, computeLimit: Number(computeLimit) })
    let memory = null
    let gas = 0
    let threw = false
    const start = clock()
    for (const msg of msgs) {
      try {
        const res = await handle(memory, msg, env)
        if (res.Error === undefined || res.Error === null) memory = res.Memory
        if (!threw) gas += res.GasUsed || 0
      } catch (e) {
        threw = true // the glue leaves its stack pointer where the trap was: later gas is not comparable
      }
    }
    const ms = Number(clock() - start) / 1e6
    process.stdout.write(JSON.stringify({ ms, gas }) + '\n')
  }
}
main().catch(e => { console.error(e); process.exit(1) })
