// meter.cjs rewrites a module with the reference's own @permaweb/wasm-metering (what ao-loader does for the
// metering formats), so a test can run the reference-instrumented module in our machine.
//
// usage: node meter.cjs NODE_MODULES IN.wasm OUT.wasm i32|i64
const fs = require('fs')
const path = require('path')
const [nodeModules, inPath, outPath, meterType] = process.argv.slice(2)
const metering = require(path.join(nodeModules, '@permaweb/wasm-metering'))
fs.writeFileSync(outPath, Buffer.from(metering.meterWASM(fs.readFileSync(inPath), { meterType })))
