// httpsig interop: the real npm signers sign requests to a Go server that verifies them with our httpsig
// package, and the real npm verifiers check the responses the Go server signed.
//
// Signers: @permaweb/aoconnect 0.0.98 in MODE 'mainnet' (request(), which signs with
// @permaweb/ao-core-libs over http-message-signatures), and wao's hbsig signer (what wao's hb.js uses).
// Verifiers: http-message-signatures' verifyMessage with the keyid's RSA key (RSA-PSS, SHA-512), and
// hbsig's verify. Each response is also verified once more with one header changed: that must fail.
//
// env: AOGO_URL (the Go server), AOGO_JWK (path of an RSA JWK). Prints one JSON line: the server's answer and
// the verification outcome per case. Exits 1 with the failure otherwise.
'use strict'

const fs = require('node:fs')
const crypto = require('node:crypto')
const { pathToFileURL } = require('node:url')
const { httpbis } = require('http-message-signatures')
const hbsig = require('hbsig')

const url = process.env.AOGO_URL
const jwk = JSON.parse(fs.readFileSync(process.env.AOGO_JWK, 'utf8'))

// keyid (base64url of the RSA modulus) → a public key node's crypto verifies with.
function keyFromId (keyid) {
  return crypto.createPublicKey({ key: { kty: 'RSA', n: keyid, e: 'AQAB' }, format: 'jwk' })
}

async function verifyResponse (status, headers, body) {
  const key = {
    id: 'keyid',
    algs: ['rsa-pss-sha512', 'ed25519'],
    verify: async (data, signature, params) => params.alg === 'ed25519'
      ? crypto.verify(null, data, crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: params.keyid }, format: 'jwk' }), signature)
      : crypto.verify('sha512', data, {
        key: keyFromId(params.keyid),
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: crypto.constants.RSA_PSS_SALTLEN_AUTO
      }, signature)
  }
  let ok
  try {
    ok = await httpbis.verifyMessage({ keyLookup: async () => key }, { status, headers })
  } catch (e) {
    return { ok: false, error: e.message }
  }
  const digest = 'sha-256=:' + crypto.createHash('sha256').update(body).digest('base64') + ':'
  const input = headers['signature-input'] || ''
  const keyid = /keyid="([^"]+)"/.exec(input)?.[1]
  return {
    ok: ok === true,
    digestMatches: headers['content-digest'] === digest,
    coversDigest: input.includes('"content-digest"'),
    signer: keyid ? crypto.createHash('sha256').update(Buffer.from(keyid, 'base64url')).digest('base64url') : ''
  }
}

async function checkResponse (name, res) {
  const body = Buffer.from(await res.arrayBuffer())
  const headers = {}
  res.headers.forEach((v, k) => { headers[k] = v })
  const answer = JSON.parse(body.toString('utf8'))
  const verified = await verifyResponse(res.status, headers, body)
  // A changed covered header must not verify.
  const tampered = await verifyResponse(res.status, { ...headers, 'x-case': name + '-changed' }, body)
  // hbsig's verifier reads the same headers (its method and url do not enter a header-only signature).
  const hb = await hbsig.verify({ url, method: 'GET', headers })
  return { name, status: res.status, answer, verified, tamperedOk: tampered.ok, hbsigVerified: hb.verified === true }
}

async function main () {
  // aoconnect's CommonJS build cannot start mainnet mode (its ao-core-libs import has no default there), so
  // load its ES module build, found through NODE_PATH like every other package here.
  const { connect, createSigner } = await import(pathToFileURL(require.resolve('@permaweb/aoconnect/node')).href)
  const signer = createSigner(jwk)
  const ao = connect({ MODE: 'mainnet', URL: url, signer })
  const results = []

  // aoconnect request(): typed values in headers (ao-types), no body.
  results.push(await checkResponse('small', await ao.request({
    path: '/~meta@1.0/info',
    method: 'POST',
    'x-case': 'small',
    'accept-codec': 'httpsig@1.0',
    slot: 42,
    ratio: 1.5,
    tags: [1, 'two'],
    flag: Symbol('true'),
    Target: 'abc'
  })))

  // A GET, as request() defaults to: signed headers only.
  results.push(await checkResponse('get', await ao.request({
    path: '/~meta@1.0/info',
    'x-case': 'get',
    'accept-codec': 'httpsig@1.0',
    count: 3
  })))

  // An answer signed with an ed25519 node key (aogo dev's unit keys are ed25519).
  results.push(await checkResponse('ed25519-response', await ao.request({
    path: '/~meta@1.0/info',
    'x-case': 'ed25519-response',
    'accept-codec': 'httpsig@1.0'
  })))

  // One value over 4 KiB: the body, named by inline-body-key, bound by Content-Digest.
  results.push(await checkResponse('inline', await ao.request({
    path: '/~meta@1.0/info',
    method: 'POST',
    'x-case': 'inline',
    'accept-codec': 'httpsig@1.0',
    data: 'd'.repeat(5000)
  })))

  // Two body values (one over 4 KiB, one with a newline): multipart/form-data.
  results.push(await checkResponse('multipart', await ao.request({
    path: '/~meta@1.0/info',
    method: 'POST',
    'x-case': 'multipart',
    'accept-codec': 'httpsig@1.0',
    data: 'm'.repeat(5000),
    note: 'line one\nline two',
    count: 3
  })))

  // Without a signer request() sends the body it encodes (with a signer 0.0.98 drops it): the decoder reads
  // ao-core-libs' own multipart encoding.
  const unsigned = connect({ MODE: 'mainnet', URL: url })
  results.push(await checkResponse('unsigned-multipart', await unsigned.request({
    path: '/~meta@1.0/info',
    method: 'POST',
    'x-case': 'unsigned-multipart',
    'accept-codec': 'httpsig@1.0',
    data: 'u'.repeat(5000),
    note: 'line one\nline two',
    count: 3
  })))

  // wao's hbsig signer, as hb.js signs: it covers @path (HyperBEAM's way: the line is named "path").
  const sign = hbsig.signer({ signer, url })
  const hbsigIds = {}
  const send = async (fields) => {
    const signed = await sign({ path: '/~meta@1.0/info', method: 'POST', 'accept-codec': 'httpsig@1.0', ...fields })
    hbsigIds[fields['x-case']] = hbsig.rsaid({ signature: signed.headers.signature }) // HyperBEAM's message id
    const init = { method: signed.method, headers: signed.headers }
    if (signed.body) init.body = signed.body
    return fetch(signed.url, init)
  }
  results.push(await checkResponse('hbsig', await send({ 'x-case': 'hbsig', slot: '7', Target: 'abc' })))
  results.push(await checkResponse('hbsig-multipart', await send({
    'x-case': 'hbsig-multipart',
    data: 'h'.repeat(5000),
    note: 'line one\nline two'
  })))

  // A typed answer in the httpsig@1.0 codec (ao-types headers, multipart body), read the way wao's hb.js
  // reads a HyperBEAM node's answers: hbsig's send() decodes the signed fields of the response.
  const typed = await hbsig.send(await sign({ path: '/~meta@1.0/info', method: 'POST', 'x-case': 'typed-response', 'accept-codec': 'httpsig@1.0' }))
  const typedOut = { signer: typed.signer, out: typed.out }

  process.stdout.write(JSON.stringify({ address: hbsig.toAddr(jwk.n), results, typed: typedOut, hbsigIds }, (k, v) => typeof v === 'bigint' ? Number(v) : v) + '\n')
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e)
  process.exit(1)
})
