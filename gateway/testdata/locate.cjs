// Runs the real @permaweb/ao-scheduler-utils lookups (what aoconnect calls) against a gateway:
//
//   node locate.cjs GATEWAY_URL PROCESS_ID SCHEDULER_ADDRESS UNKNOWN_ADDRESS
//
// aoconnect uses the module-level locate, configured from the GRAPHQL_URL environment variable at load time, so
// that is set before the package loads. Any request not to the gateway (scheduler-utils first asks a hard-coded
// testnet su-router) is answered 404 locally and recorded, so nothing leaves the machine. Prints JSON.
"use strict";
const [gateway, processId, scheduler, unknown] = process.argv.slice(2);

const outside = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  if (String(url).startsWith(gateway)) return realFetch(url, init);
  outside.push(String(url));
  return new Response("not here", { status: 404 });
};
process.env.GRAPHQL_URL = `${gateway}/graphql`;

const su = require("@permaweb/ao-scheduler-utils");

async function main() {
  const viaProcess = await su.locate(processId); // su-router (stubbed 404) → process tags → Scheduler-Location
  const fresh = su.connect({ GRAPHQL_URL: `${gateway}/graphql`, cacheSize: 0 });
  const viaHint = await fresh.locate(processId, scheduler);
  const raw = await fresh.raw(scheduler);
  const valid = await fresh.validate(scheduler);
  let unknownError = null;
  try {
    await fresh.validate(unknown);
  } catch (e) {
    unknownError = e.name + ": " + e.message;
  }
  console.log(JSON.stringify({ viaProcess, viaHint, raw, valid, unknownError, outside }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
