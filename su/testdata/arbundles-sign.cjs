// Signs ao items with the npm arbundles package, for the SU's compatibility test.
// stdin: {"jwk": {...}, "items": [{"target": "...", "anchor": "...", "tags": [{name, value}], "data": "..."}]}
// stdout: one base64 raw ANS-104 item per line.
const { createData, ArweaveSigner } = require('arbundles');

let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  const req = JSON.parse(input);
  const signer = new ArweaveSigner(req.jwk);
  for (const it of req.items) {
    const opts = { tags: it.tags };
    if (it.target) opts.target = it.target;
    if (it.anchor) opts.anchor = it.anchor;
    const d = createData(it.data, signer, opts);
    await d.sign(signer);
    process.stdout.write(Buffer.from(d.getRaw()).toString('base64') + '\n');
  }
});
