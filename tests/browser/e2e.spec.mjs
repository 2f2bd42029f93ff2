// The web build in headless Chromium (Debian's /usr/bin/chromium via playwright-core):
// the page, served from one loopback origin, talks to kms-server on another (so every KMS
// call needs a CORS preflight), round-trips encrypt/decrypt with the KMS keyring, streams a
// 64 MiB Blob through encryptStream/decryptStream, and verifies signatures. The EC module
// (kms_wasm_ec: signed streams, DIGEST verification) must not be fetched by unsigned
// messages, RAW verification and signed one-shot encryption and decryption (WebCrypto
// ECDSA), and must be fetched once when first needed.
//
//   node tests/browser/e2e.spec.mjs    (KMS_SERVER_BIN and AWS_CLI as for tests/node;
//                                       KMS_WASM_WEB_DIR: the web build, default pkg/web)
import { createServer } from 'node:http'
import { once } from 'node:events'
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve, extname, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPairSync, sign, constants } from 'node:crypto'
import { chromium } from 'playwright-core'

import { startServer, createKey, REGION, CREDENTIALS } from '../node/server.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const webDir = resolve(process.env.KMS_WASM_WEB_DIR ?? join(here, '../../pkg/web'))
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' }

const PAGE = `<!doctype html><meta charset="utf-8"><title>kms-wasm e2e</title>
<script type="module">
import init, * as kms from '/web/kms_wasm.js'
window.unsigned = async ({ signatures }) => {
  await init()
  const raw = new kms.RawAesKeyring({ keyNamespace: 'e2e', keyName: 'lazy', wrappingKey: crypto.getRandomValues(new Uint8Array(32)) })
  const data = crypto.getRandomValues(new Uint8Array(5000))
  const ct = (await kms.encrypt(raw, data, { suiteId: 0x0478 })).result
  const back = (await kms.decrypt(raw, ct)).plaintext
  if (back.length !== data.length || back.some((v, i) => v !== data[i])) throw new Error('unsigned round trip')
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
  for (const s of signatures) {
    if (!await kms.verify(b64(s.spki), b64(s.message), b64(s.signature), s.algorithm, 'RAW')) throw new Error('RAW ' + s.algorithm)
  }
  // The default suite (0x0578, ECDSA P-384): one-shot calls sign and verify with WebCrypto
  // (Chromium imports the compressed point), so the EC module stays unloaded.
  const signed = await kms.encrypt(raw, data)
  if (signed.messageHeader.suiteId !== 0x0578) throw new Error('not the signed default suite')
  const signedBack = (await kms.decrypt(raw, signed.result)).plaintext
  if (signedBack.length !== data.length || signedBack.some((v, i) => v !== data[i])) throw new Error('WebCrypto-signed round trip')
  const tamperedFooter = signed.result.slice()
  tamperedFooter[tamperedFooter.length - 1] ^= 1
  if (await kms.decrypt(raw, tamperedFooter).then(() => 'accepted', (e) => e.code) !== 'DecryptionFailed') throw new Error('tampered footer accepted')
  return kms.ecModuleLoaded()
}
window.run = async ({ endpoint, region, credentials, keyArn, signatures }) => {
  await init()
  const log = []
  const client = new kms.KmsClient({ endpoint, region, credentials })
  const keyring = new kms.KmsKeyring({ client, generatorKeyId: keyArn })
  const text = new TextEncoder().encode('hello from chromium')
  const { result, messageHeader } = await kms.encrypt(keyring, text, { encryptionContext: { page: 'e2e' } })
  if (messageHeader.encryptedDataKeys[0].providerInfo !== keyArn) throw new Error('wrong EDK')
  const { plaintext } = await kms.decrypt(keyring, result)
  if (new TextDecoder().decode(plaintext) !== 'hello from chromium') throw new Error('round trip failed')
  log.push('kms keyring round trip')

  // Bulk AES-GCM: WebCrypto and Rust read each other's messages; WebCrypto refuses tampering.
  const raw = new kms.RawAesKeyring({ keyNamespace: 'e2e', keyName: 'bulk', wrappingKey: crypto.getRandomValues(new Uint8Array(32)) })
  const data = crypto.getRandomValues(new Uint8Array(65536)).slice(0, 60001)
  for (const suiteId of [0x0578, 0x0478]) {
    for (const [enc, dec] of [['webcrypto', 'rust'], ['rust', 'webcrypto']]) {
      const ct = (await kms.encrypt(raw, data, { suiteId, bulkCrypto: enc })).result
      const back = (await kms.decrypt(raw, ct, { bulkCrypto: dec })).plaintext
      if (back.length !== data.length || back.some((v, i) => v !== data[i])) throw new Error('bulk ' + enc + ' -> ' + dec)
      const bad = ct.slice()
      bad[ct.length - 2000] ^= 1
      const refused = await kms.decrypt(raw, bad, { bulkCrypto: dec }).then(() => null, (e) => e.code)
      if (refused !== 'DecryptionFailed') throw new Error('tampered message: ' + refused)
    }
  }
  log.push('bulk AES-GCM: WebCrypto <-> Rust interop, tampering refused')

  // 64 MiB Blob, streamed both ways; pattern checked chunk by chunk.
  const SIZE = 64 << 20
  const block = new Uint8Array(1 << 20)
  for (let i = 0; i < block.length; i++) block[i] = (i * 7 + 3) & 255
  const blob = new Blob(Array.from({ length: 64 }, () => block))
  const t0 = performance.now()
  const encrypted = await new Response(blob.stream().pipeThrough(
    kms.encryptStream(keyring, { frameLength: 65536 }))).blob()
  const t1 = performance.now()
  let seen = 0
  for await (const chunk of encrypted.stream().pipeThrough(kms.decryptStream(keyring))) {
    for (let i = 0; i < chunk.length; i += 4099) {
      if (chunk[i] !== block[(seen + i) % block.length]) throw new Error('stream mismatch at ' + (seen + i))
    }
    seen += chunk.length
  }
  const t2 = performance.now()
  if (seen !== SIZE) throw new Error('stream length ' + seen)
  log.push('64 MiB stream: encrypt ' + (t1 - t0).toFixed(0) + ' ms, decrypt ' + (t2 - t1).toFixed(0) + ' ms')

  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
  for (const s of signatures) {
    // RAW goes to WebCrypto, DIGEST to kms-envelope's verifier (both return Promises).
    const ok = await kms.verify(b64(s.spki), b64(s.message), b64(s.signature), s.algorithm, 'RAW')
    const bad = await kms.verify(b64(s.spki), new TextEncoder().encode('tampered'), b64(s.signature), s.algorithm, 'RAW')
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-' + s.algorithm.slice(-3), b64(s.message)))
    const okDigest = await kms.verify(b64(s.spki), digest, b64(s.signature), s.algorithm, 'DIGEST')
    digest[0] ^= 1
    const badDigest = await kms.verify(b64(s.spki), digest, b64(s.signature), s.algorithm, 'DIGEST')
    if (!ok || bad || !okDigest || badDigest) throw new Error('verify ' + s.algorithm)
    log.push('verified ' + s.algorithm + ' (RAW and DIGEST)')
  }
  try {
    await new kms.KmsClient({ endpoint, region, credentials: { accessKeyId: 'nobody', secretAccessKey: 'x' } })
      .generateRandom(8)
    throw new Error('expected a KmsError')
  } catch (e) {
    if (e.code !== 'UnrecognizedClientException' || e.status !== 400) throw e
    log.push('KmsError ' + e.code)
  }
  if (!kms.ecModuleLoaded()) throw new Error('the EC module was not loaded')
  return log
}
window.ready = true
</script>`

function signatures () {
  const message = Buffer.from('signed outside the browser')
  const out = []
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  out.push({ algorithm: 'ECDSA_SHA_256', key: p256, sig: sign('sha256', message, p256.privateKey) })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  out.push({ algorithm: 'ECDSA_SHA_384', key: ec, sig: sign('sha384', message, ec.privateKey) })
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' })
  out.push({ algorithm: 'ECDSA_SHA_512', key: p521, sig: sign('sha512', message, p521.privateKey) })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  out.push({ algorithm: 'RSASSA_PSS_SHA_256', key: rsa,
    sig: sign('sha256', message, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }) })
  out.push({ algorithm: 'RSASSA_PKCS1_V1_5_SHA_512', key: rsa, sig: sign('sha512', message, rsa.privateKey) })
  return out.map(({ algorithm, key, sig }) => ({
    algorithm,
    spki: key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    message: message.toString('base64'),
    signature: sig.toString('base64')
  }))
}

/** Every path the page fetched, in order. */
const fetched = []

async function servePage () {
  const srv = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    fetched.push(path)
    try {
      if (path === '/') {
        res.writeHead(200, { 'content-type': TYPES['.html'] }).end(PAGE)
      } else if (path.startsWith('/web/') && !path.includes('..')) {
        const body = await readFile(join(webDir, path.slice('/web/'.length)))
        res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body)
      } else {
        res.writeHead(404).end()
      }
    } catch {
      res.writeHead(404).end()
    }
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  return srv
}

const kmsServer = await startServer()
const page = await servePage()
const profile = await mkdtemp(join(tmpdir(), 'kms-wasm-chromium-'))
let context
try {
  const keyArn = createKey(kmsServer.endpoint)
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  const tab = context.pages()[0] ?? await context.newPage()
  const errors = []
  tab.on('pageerror', (e) => errors.push(String(e)))
  await tab.goto(`http://127.0.0.1:${page.address().port}/`)
  await tab.waitForFunction(() => window.ready === true)
  const sigs = signatures()
  const ecFetches = () => fetched.filter((p) => p.includes('kms_wasm_ec')).sort()
  const loadedEarly = await tab.evaluate((args) => window.unsigned(args), { signatures: sigs })
  if (loadedEarly || ecFetches().length) {
    throw new Error('unsigned messages, RAW verification and signed one-shot calls loaded the EC module: ' + ecFetches())
  }
  console.log('ok - unsigned round trip, RAW verification and signed one-shot round trip (WebCrypto ECDSA, tampered footer refused) without the EC module')
  const log = await tab.evaluate((args) => window.run(args), {
    endpoint: kmsServer.endpoint, region: REGION, credentials: CREDENTIALS, keyArn, signatures: sigs
  })
  if (errors.length) throw new Error(errors.join('\n'))
  const ec = ecFetches()
  if (ec.join() !== ['/web/kms_wasm_ec.js', '/web/kms_wasm_ec_bg.wasm'].join()) {
    throw new Error('the EC module should be fetched once, was: ' + ec)
  }
  console.log('ok - EC module fetched once, on first need')
  for (const line of log) console.log(`ok - ${line}`)
  console.log('browser e2e: PASS')
} finally {
  await context?.close()
  page.close()
  await kmsServer.stop()
  await rm(profile, { recursive: true, force: true })
}
