// bench_ai.cjs is the node side of `aogo bench ai` (embedded in the aogo binary, written to a temporary
// directory and run there): it evaluates the bench's messages with the reference @permaweb/ao-loader and
// the reference drive @permaweb/weavedrive, fed the files of DATA_DIR by a local HTTP server that answers as
// an Arweave gateway does (HEAD, GET with Range), and prints one JSON line per message:
// {Output, Messages, Spawns, Assignments, Error?, ms, cpu_ms} where ms is the wall time of the handle call
// and cpu_ms the CPU time (user + system, all of node's threads) it took. The
// instance keeps its memory between calls (no buffer passed in, UNSAFE_MEMORY: none copied out), so ms is
// the evaluation alone; the bench's messages end without Error, so there is nothing to roll back.
// A last line {"open_ms": N, "vmhwm_kb": N} gives the time AoLoader took to compile and instantiate the
// module and node's peak resident set.
//
// usage: node --experimental-wasm-memory64 bench_ai.cjs NODE_MODULES MODULE.wasm FORMAT ENV.json MESSAGES.jsonl DATA_DIR
const fs = require('fs')
const path = require('path')
const http = require('http')
const [nodeModules, wasmPath, format, envPath, messagesPath, dataDir] = process.argv.slice(2)
process.argv = [process.argv[0], 'thisProgram'] // the glue copies argv onto the stack: keep it host-independent
const AoLoader = require(path.join(nodeModules, '@permaweb/ao-loader'))
const WeaveDrive = require(path.join(nodeModules, '@permaweb/weavedrive'))

function serve () {
  const server = http.createServer((req, res) => {
    res.setHeader('Connection', 'close') // a keep-alive socket closed while the guest computes makes fetch fail
    const id = decodeURIComponent(req.url.slice(1))
    const file = path.join(dataDir, path.basename(id))
    if (id.includes('/') || !fs.existsSync(file)) {
      res.writeHead(404)
      return res.end()
    }
    const size = fs.statSync(file).size
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Length': size })
      return res.end()
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '')
    const from = m ? Number(m[1]) : 0
    const to = m ? Math.min(m[2] === '' ? size - 1 : Number(m[2]), size - 1) : size - 1
    const fd = fs.openSync(file, 'r')
    const part = Buffer.alloc(Math.max(0, to - from + 1))
    fs.readSync(fd, part, 0, part.length, from)
    fs.closeSync(fd)
    if (m) res.writeHead(206, { 'Content-Length': part.length, 'Content-Range': `bytes ${from}-${to}/${size}` })
    else res.writeHead(200, { 'Content-Length': part.length })
    res.end(part)
  })
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function main () {
  const wasm = fs.readFileSync(wasmPath)
  const env = JSON.parse(fs.readFileSync(envPath, 'utf8'))
  const server = await serve()
  const opts = {
    format,
    memoryLimit: 16 * 1024 * 1024 * 1024,
    UNSAFE_MEMORY: true,
    WeaveDrive,
    ARWEAVE: `http://127.0.0.1:${server.address().port}`,
    mode: 'test', // every /data/ id is admitted, as aogo run --drive admits every file of its directory
    spawn: { tags: env.Process.Tags },
    module: { tags: env.Module.Tags }
  }
  let t = process.hrtime.bigint()
  const handle = await AoLoader(wasm, opts)
  const openMs = Number(process.hrtime.bigint() - t) / 1e6
  const lines = fs.readFileSync(messagesPath, 'utf8').split('\n').filter(l => l.trim() !== '')
  for (const line of lines) {
    const msg = JSON.parse(line)
    let out
    t = process.hrtime.bigint()
    const c = process.cpuUsage()
    try {
      const r = await handle(null, msg, env)
      out = { Output: r.Output, Messages: r.Messages, Spawns: r.Spawns, Assignments: r.Assignments }
      if (r.Error !== undefined && r.Error !== null) out.Error = r.Error
    } catch (e) {
      out = { Error: typeof e === 'string' ? e : (e && e.message !== undefined ? e.message : JSON.stringify(e)) }
    }
    out.ms = Number(process.hrtime.bigint() - t) / 1e6
    const dc = process.cpuUsage(c)
    out.cpu_ms = (dc.user + dc.system) / 1000
    process.stdout.write(JSON.stringify(out) + '\n')
  }
  const hwm = /VmHWM:\s*(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  process.stdout.write(JSON.stringify({ open_ms: openMs, vmhwm_kb: hwm ? Number(hwm[1]) : 0 }) + '\n')
  server.close()
}
main().catch(e => { console.error(e); process.exit(1) })
