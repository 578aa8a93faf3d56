// Signs items with the real npm arbundles and uploads them to a gateway, as an outside client would:
//
//   node arbundles-upload.cjs GATEWAY_URL WALLET.json
//
// Uploads one plain item (RSA/Arweave signer, tags, target, anchor) and one bundle item wrapping two items made
// with bundleAndSignData, then prints what it sent as JSON. Packages resolve through NODE_PATH.
"use strict";
const crypto = require("crypto");
const { createData, ArweaveSigner, bundleAndSignData } = require("arbundles");

const fs = require("fs");

const [gateway, walletFile] = process.argv.slice(2);

async function post(raw) {
  const res = await fetch(`${gateway}/tx`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: raw,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST /tx: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function main() {
  const signer = new ArweaveSigner(JSON.parse(fs.readFileSync(walletFile, "utf8")));

  const target = crypto.randomBytes(32).toString("base64url");
  const anchor = crypto.randomBytes(16).toString("hex"); // arbundles anchors are 32 bytes of text
  const tags = [
    { name: "Content-Type", value: "text/plain" },
    { name: "App-Name", value: "aogo-gateway-test" },
    { name: "Nonce", value: crypto.randomUUID() },
  ];
  const item = createData("hello from arbundles", signer, { tags, target, anchor });
  await item.sign(signer);
  const answer = await post(item.getRaw());

  const a = createData("first", signer, { tags: [{ name: "Content-Type", value: "text/plain" }, { name: "Index", value: "0" }] });
  const b = createData(Buffer.from([1, 2, 3]), signer, { tags: [{ name: "Index", value: "1" }] });
  const bundle = await bundleAndSignData([a, b], signer);
  const wrapper = createData(bundle.getRaw(), signer, {
    tags: [{ name: "Bundle-Format", value: "binary" }, { name: "Bundle-Version", value: "2.0.0" }],
  });
  await wrapper.sign(signer);
  await post(wrapper.getRaw());

  console.log(JSON.stringify({
    owner: Buffer.from(signer.publicKey).toString("base64url"),
    answer,
    item: { id: item.id, tags, target, anchor: Buffer.from(anchor).toString("base64url"), data: "hello from arbundles" },
    bundle: { id: wrapper.id, items: bundle.getIds() },
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
