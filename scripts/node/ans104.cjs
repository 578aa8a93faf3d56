// ANS-104 cross-checks against the real npm arbundles (and arweave's deepHash), driven by dataitem's Go tests.
//
//   node ans104.cjs gen OUTDIR        sign items of every signature type with arbundles, bundle them, compute
//                                     deep-hash vectors and an arweave-js wallet; write them and vectors.json
//   node ans104.cjs verify FILE...    parse and verify items (made by aogo) with arbundles; print JSON lines
//   node ans104.cjs bundle FILE       parse and verify a bundle (made by aogo) with arbundles; print JSON
//
// Resolve packages through NODE_PATH (the Go test points it at the installed node_modules).
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const ab = require("arbundles");
const bs58 = require("bs58").default || require("bs58");
const arweaveDeepHash = require("arweave/node/lib/deepHash").default;

const b64 = (b) => Buffer.from(b).toString("base64url");

// Deterministic bytes, so regenerated vectors only differ where signatures are randomised (RSA-PSS salt).
function bytes(seed, n) {
  const out = Buffer.alloc(n);
  let off = 0;
  for (let i = 0; off < n; i++) {
    const h = crypto.createHash("sha256").update(`${seed}/${i}`).digest();
    off += h.copy(out, off);
  }
  return out;
}

function ed25519Secret(seed) {
  // Solana secret keys are seed ‖ public key, base58.
  const priv = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), bytes(seed, 32)]),
    format: "der",
    type: "pkcs8",
  });
  const pub = crypto.createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(12);
  return bs58.encode(Buffer.concat([bytes(seed, 32), pub]));
}

function toJSONTree(v) {
  if (Array.isArray(v)) return { list: v.map(toJSONTree) };
  return { blob: Buffer.from(v).toString("hex") };
}

async function gen(outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 4096, publicExponent: 65537 });
  const jwk = privateKey.export({ format: "jwk" });
  const signers = {
    arweave: new ab.ArweaveSigner(jwk),
    ed25519: new ab.SolanaSigner(ed25519Secret("ed25519-key")),
    ethereum: new ab.EthereumSigner(bytes("ethereum-key", 32).toString("hex")),
    solana: new ab.HexSolanaSigner(ed25519Secret("solana-key")),
  };
  const shapes = [
    { name: "plain", data: "hello ao", opts: {} },
    {
      name: "full",
      data: bytes("data", 1000),
      opts: {
        target: b64(bytes("target", 32)),
        anchor: "00000000000000000000000000000042",
        tags: [
          { name: "Data-Protocol", value: "ao" },
          { name: "Variant", value: "ao.TN.1" },
          { name: "Type", value: "Message" },
          { name: "Action", value: "Transfer" },
          { name: "Empty-Value", value: "" },
          { name: "Unicode", value: "héllo ☃ 𝄞" },
          { name: "Long", value: "x".repeat(2000) },
        ],
      },
    },
    { name: "empty", data: "", opts: { anchor: bytes("anchor", 16).toString("hex") } },
    { name: "manytags", data: " ", opts: { tags: Array.from({ length: 128 }, (_, i) => ({ name: `T${i}`, value: `${i}` })) } },
  ];
  const items = [];
  const bundled = [];
  for (const [kind, signer] of Object.entries(signers)) {
    for (const shape of shapes) {
      const d = ab.createData(shape.data, signer, shape.opts);
      await d.sign(signer);
      if (!(await d.isValid())) throw new Error(`arbundles made an invalid ${kind}/${shape.name} item`);
      const file = `item-${kind}-${shape.name}.bin`;
      fs.writeFileSync(path.join(outDir, file), d.getRaw());
      items.push(describe(d, file, kind));
      bundled.push(d);
    }
  }
  const bundle = await ab.bundleAndSignData(bundled, signers.ed25519);
  fs.writeFileSync(path.join(outDir, "bundle.bin"), bundle.getRaw());

  const deepHash = [];
  const inputs = [
    Buffer.alloc(0),
    Buffer.from("abc"),
    bytes("blob", 300),
    [],
    [Buffer.alloc(0)],
    [Buffer.from("a"), [Buffer.from("b"), []], bytes("x", 1025)],
    [[[[Buffer.from("deep")]]]],
  ];
  for (const v of inputs) {
    const a = Buffer.from(await ab.deepHash(v));
    const b = Buffer.from(await arweaveDeepHash(v));
    if (!a.equals(b)) throw new Error("arbundles and arweave deepHash disagree");
    deepHash.push({ input: toJSONTree(v), hash: a.toString("hex") });
  }

  // An arweave-js style key file and its address, for the wallet package.
  const Arweave = require("arweave");
  const arweave = Arweave.init({});
  const wallet = await arweave.wallets.generate();
  fs.writeFileSync(path.join(outDir, "arweave-wallet.json"), JSON.stringify(wallet));
  const address = await arweave.wallets.jwkToAddress(wallet);

  const vectors = { generator: "arbundles@" + JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve("arbundles")), "../../../package.json"))).version, items, bundle: { file: "bundle.bin", ids: bundle.getIds() }, deepHash, wallet: { file: "arweave-wallet.json", address } };
  fs.writeFileSync(path.join(outDir, "vectors.json"), JSON.stringify(vectors, null, 1) + "\n");
}

function describe(d, file, kind) {
  return {
    file,
    kind,
    id: d.id,
    signature_type: d.signatureType,
    owner: d.owner,
    target: d.target,
    anchor: d.anchor,
    tags: d.tags,
    data: d.data,
  };
}

async function verify(files) {
  for (const file of files) {
    const raw = fs.readFileSync(file);
    const valid = await ab.DataItem.verify(raw);
    const d = new ab.DataItem(raw);
    process.stdout.write(JSON.stringify({ ...describe(d, file), valid }) + "\n");
  }
}

async function verifyBundle(file) {
  const b = new ab.Bundle(fs.readFileSync(file));
  const valid = await b.verify();
  process.stdout.write(JSON.stringify({ valid, ids: b.getIds(), items: b.items.map((d) => describe(d, "")) }) + "\n");
}

const [cmd, ...args] = process.argv.slice(2);
const run = { gen: () => gen(args[0]), verify: () => verify(args), bundle: () => verifyBundle(args[0]) }[cmd];
if (!run) {
  process.stderr.write("usage: ans104.cjs gen OUTDIR | verify FILE... | bundle FILE\n");
  process.exit(2);
}
run().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
