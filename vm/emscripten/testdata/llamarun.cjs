// llamarun.cjs is refrun.cjs with WeaveDrive: it runs a message log through the reference
// @permaweb/ao-loader with the reference drive @permaweb/weavedrive, fed from the files of DATA_DIR by a
// local HTTP server that answers as an Arweave gateway does for GET/HEAD /<id> (Content-Length, Range).
// With DATA_DIR "-" the loader gets no WeaveDrive at all (fopen of /data/... returns NULL).
// It prints one JSON line per message, like `aogo run`: {Output, Messages, Spawns, Assignments, Error?}.
//
// usage: node --experimental-wasm-memory64 --expose-gc llamarun.cjs NODE_MODULES MODULE.wasm FORMAT PROCESS.json MESSAGES.jsonl DATA_DIR
const fs = require('fs')
const path = require('path')
const http = require('http')
const [nodeModules, wasmPath, format, processPath, messagesPath, dataDir] = process.argv.slice(2)
process.argv = [process.argv[0], 'thisProgram'] // see refrun.cjs: a host-independent stack layout
const AoLoader = require(path.join(nodeModules, '@permaweb/ao-loader'))
const crypto = require('crypto')

// serve answers /<id> from dataDir/<id>: HEAD gives the length, GET a Range (inclusive end, clamped).
function serve () {
  const server = http.createServer((req, res) => {
    // No keep-alive: the server closes an idle connection after 5 s, and a fetch racing that close fails
    // with ECONNRESET (generation between two opens easily takes that long).
    res.setHeader('Connection', 'close')
    const id = decodeURIComponent(req.url.slice(1))
    const file = path.join(dataDir, path.basename(id))
    if (id.includes('/') || !fs.existsSync(file)) {
      res.writeHead(404)
      return res.end()
    }
    const data = fs.readFileSync(file)
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Length': data.length })
      return res.end()
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '')
    if (!m) {
      res.writeHead(200, { 'Content-Length': data.length })
      return res.end(data)
    }
    const from = Number(m[1])
    const to = Math.min(m[2] === '' ? data.length - 1 : Number(m[2]), data.length - 1)
    const part = data.subarray(from, to + 1)
    res.writeHead(206, { 'Content-Length': part.length, 'Content-Range': `bytes ${from}-${to}/${data.length}` })
    res.end(part)
  })
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function main () {
  const wasm = fs.readFileSync(wasmPath)
  const proc = JSON.parse(fs.readFileSync(processPath, 'utf8'))
  const moduleId = crypto.createHash('sha256').update(wasm).digest('base64url')
  const env = { Process: proc, Module: { Id: moduleId, Owner: '', Tags: [] } }
  const opts = { format, memoryLimit: 2 * 1024 * 1024 * 1024 }
  let server = null
  if (dataDir !== '-') {
    server = await serve()
    opts.WeaveDrive = require(path.join(nodeModules, '@permaweb/weavedrive'))
    opts.ARWEAVE = `http://127.0.0.1:${server.address().port}`
    opts.mode = 'test' // every /data/ id is admissible: the test decides which files exist
    opts.spawn = { tags: proc.Tags }
    opts.module = { tags: [] }
  }
  const handle = await AoLoader(wasm, opts)
  let memory = null
  const lines = fs.readFileSync(messagesPath, 'utf8').split('\n').filter(l => l.trim() !== '')
  for (const line of lines) {
    const msg = JSON.parse(line)
    let out
    try {
      const r = await handle(memory, msg, env)
      out = { Output: r.Output, Messages: r.Messages, Spawns: r.Spawns, Assignments: r.Assignments }
      if (r.Error !== undefined && r.Error !== null) out.Error = r.Error
      else memory = r.Memory
    } catch (e) {
      out = { Error: typeof e === 'string' ? e : (e && e.message !== undefined ? e.message : JSON.stringify(e)) }
    }
    process.stdout.write(JSON.stringify(out) + '\n')
    // Each result holds a copy of the whole memory (1.2 GB for llama.wasm): collect the dropped ones now
    // (node --expose-gc) rather than when V8 gets to them, which took the peak RSS to 6.5 GB.
    if (global.gc) global.gc()
  }
  if (server) server.close()
}
main().catch(e => { console.error(e); process.exit(1) })
