// refrun.cjs runs a message log through the reference @permaweb/ao-loader and prints one JSON line per
// message, in the same shape as `aogo run`: {Output, Messages, Spawns, Assignments, Error?, GasUsed}.
// It keeps the memory between messages and, like the reference CU, keeps the previous memory when a
// message ends with an Error.
//
// With AOGO_REFRUN_INPUTS=1 each line also carries the exact strings handle() was given (_msg, _env: the loader
// passes JSON.stringify of both), so that a comparison of gas can feed the same bytes to our machine.
//
// usage: node --experimental-wasm-memory64 refrun.cjs NODE_MODULES MODULE.wasm FORMAT PROCESS.json MESSAGES.jsonl [COMPUTE_LIMIT]
const fs = require('fs')
const path = require('path')
const [nodeModules, wasmPath, format, processPath, messagesPath, computeLimit] = process.argv.slice(2)
// The v2 glue calls main with argv = [process.argv[1], ...process.argv.slice(2)] on the wasm stack (and
// exports process.argv[1] as the environment's "_"), so this script's path and arguments would move the stack
// of every later call: a host-dependent layout. Run as the program "thisProgram" without arguments, which is
// what we emulate (and what any entry script of up to 15 bytes gives).
process.argv = [process.argv[0], 'thisProgram']
const AoLoader = require(path.join(nodeModules, '@permaweb/ao-loader'))
const crypto = require('crypto')

async function main () {
  const wasm = fs.readFileSync(wasmPath)
  const proc = JSON.parse(fs.readFileSync(processPath, 'utf8'))
  const moduleId = crypto.createHash('sha256').update(wasm).digest('base64url')
  const env = { Process: proc, Module: { Id: moduleId, Owner: '', Tags: [] } }
  const opts = { format, memoryLimit: 1024 * 1024 * 1024 }
  if (computeLimit) opts.computeLimit = Number(computeLimit)
  const handle = await AoLoader(wasm, opts)
  let memory = null
  const lines = fs.readFileSync(messagesPath, 'utf8').split('\n').filter(l => l.trim() !== '')
  for (const line of lines) {
    const msg = JSON.parse(line)
    let out
    try {
      const r = await handle(memory, msg, env)
      out = { Output: r.Output, Messages: r.Messages, Spawns: r.Spawns, Assignments: r.Assignments, GasUsed: r.GasUsed }
      if (r.Error !== undefined && r.Error !== null) out.Error = r.Error
      else memory = r.Memory
    } catch (e) {
      out = { Error: typeof e === 'string' ? e : (e && e.message !== undefined ? e.message : JSON.stringify(e)) }
    }
    if (process.env.AOGO_REFRUN_INPUTS) {
      out._msg = JSON.stringify(msg)
      out._env = JSON.stringify(env)
    }
    process.stdout.write(JSON.stringify(out) + '\n')
  }
}
main().catch(e => { console.error(e); process.exit(1) })
