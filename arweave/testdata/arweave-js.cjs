// Cross-checks package arweave against the npm arweave package. Reads a JSON array of cases on stdin:
//   {data, tags: [{name, value}], target, quantity, reward, last_tx, go_tx}
// (data, tag names/values, target, last_tx base64url; go_tx the transaction aogo signed for the same fields, or
// null) and prints, per case, arweave-js's chunks, proofs and data_root, the transaction it signs with the wallet
// in argv[2], the signature data of aogo's transaction and whether arweave-js verifies it.
const fs = require("fs");
const Arweave = require("arweave");
const Transaction = require("arweave/node/lib/transaction").default;
const { generateTransactionChunks } = require("arweave/node/lib/merkle");

const b64 = (u8) => Arweave.utils.bufferTob64Url(u8);

async function main() {
  const jwk = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const cases = JSON.parse(fs.readFileSync(0, "utf8"));
  const arweave = Arweave.init({});
  const out = [];
  for (const c of cases) {
    const data = Arweave.utils.b64UrlToBuffer(c.data);
    const res = { chunks: [], proofs: [] };
    if (data.byteLength > 0) {
      const t = await generateTransactionChunks(data);
      res.data_root = b64(t.data_root);
      res.chunks = t.chunks.map((ch) => ({ min: ch.minByteRange, max: ch.maxByteRange, hash: b64(ch.dataHash) }));
      res.proofs = t.proofs.map((p) => ({ offset: p.offset, path: b64(p.proof) }));
    } else {
      res.data_root = "";
    }
    const tx = new Transaction({
      format: 2, owner: jwk.n, last_tx: c.last_tx, target: c.target, quantity: c.quantity, reward: c.reward,
      data_size: data.byteLength.toString(), data,
    });
    for (const tag of c.tags) tx.tags.push(new (require("arweave/node/lib/transaction").Tag)(tag.name, tag.value));
    await tx.prepareChunks(data);
    await arweave.transactions.sign(tx, jwk);
    res.js_tx = tx.toJSON();
    if (c.go_tx) {
      const gt = new Transaction(c.go_tx);
      res.go_sigdata = b64(await gt.getSignatureData());
      res.go_verified = await arweave.transactions.verify(gt);
    }
    out.push(res);
  }
  process.stdout.write(JSON.stringify(out));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
