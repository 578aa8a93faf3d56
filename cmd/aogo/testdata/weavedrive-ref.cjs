// weavedrive-ref.cjs runs a message log through the reference @permaweb/ao-loader with the reference
// @permaweb/weavedrive drive reading from a gateway, and prints one JSON line per message in the shape of
// `aogo run`: {Output, Error?}. As the reference CU does, a message that throws (the drive's HALT, its
// exceptions) becomes a result Error, keeps the previous memory and gets a fresh instance.
//
// On wasm64 the glue throws the drive's HALT from inside an async callback: the exception escapes handle()
// (an uncaught exception, which kills a reference CU's worker) and handle() never settles. Such a message is
// printed as {Error: <the exception's message>, Uncaught: true} (after 10 s without an answer) and the next
// one runs on a fresh instance with the previous memory.
//
// usage: node --experimental-wasm-memory64 weavedrive-ref.cjs NODE_MODULES MODULE.wasm FORMAT PROCESS.json MESSAGES.jsonl GATEWAY_URL
const fs = require('fs')
const path = require('path')
const [nodeModules, wasmPath, format, processPath, messagesPath, gateway] = process.argv.slice(2)
process.argv = [process.argv[0], 'thisProgram'] // see vm/emscripten/testdata/refrun.cjs
const AoLoader = require(path.join(nodeModules, '@permaweb/ao-loader'))
const WeaveDrive = require(path.join(nodeModules, '@permaweb/weavedrive'))
const crypto = require('crypto')

async function main () {
  const wasm = fs.readFileSync(wasmPath)
  const proc = JSON.parse(fs.readFileSync(processPath, 'utf8'))
  const moduleId = crypto.createHash('sha256').update(wasm).digest('base64url')
  const env = { Process: proc, Module: { Id: moduleId, Owner: '', Tags: [] } }
  const opts = {
    format,
    memoryLimit: 1024 * 1024 * 1024,
    WeaveDrive,
    ARWEAVE: gateway,
    spawn: { tags: proc.Tags },
    module: { tags: [] }
  }
  let uncaught = null
  process.on('uncaughtException', e => { uncaught = e })
  let handle = await AoLoader(wasm, opts)
  let memory = null
  const lines = fs.readFileSync(messagesPath, 'utf8').split('\n').filter(l => l.trim() !== '')
  for (const line of lines) {
    const msg = JSON.parse(line)
    let out
    try {
      uncaught = null
      const r = await Promise.race([
        handle(memory, msg, env),
        new Promise((resolve, reject) => {
          const poll = setInterval(() => { if (uncaught) { clearInterval(poll); clearTimeout(limit); reject(Object.assign(uncaught, { uncaught: true })) } }, 20)
          const limit = setTimeout(() => { clearInterval(poll); reject(new Error('no answer in 10 s')) }, 10000)
        })
      ])
      out = { Output: r.Output }
      if (r.Error !== undefined && r.Error !== null) out.Error = r.Error
      else memory = r.Memory
    } catch (e) {
      out = { Error: typeof e === 'string' ? e : (e && e.message !== undefined ? e.message : JSON.stringify(e)) }
      if (e && e.uncaught) out.Uncaught = true
      handle = await AoLoader(wasm, opts)
    }
    process.stdout.write(JSON.stringify(out) + '\n')
  }
}
main().catch(e => { console.error(e); process.exit(1) })
