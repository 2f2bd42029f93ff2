// The EC module (kms_wasm_ec: ECDSA/RSA arithmetic) is loaded only when needed: never for
// unsigned suites or WebCrypto-backed operations (including signed one-shot encryption,
// and decryption, which sign and verify with WebCrypto); on first use by a signed stream
// (encryption or decryption), a signed one-shot call where WebCrypto has no ECDSA, or a
// DIGEST verification. Each case runs in a fresh
// Node process, so that nothing loaded it before.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { generateKeyPairSync, sign, createHash, constants } from 'node:crypto'

import { RawAesKeyring, encrypt } from 'kms-wasm'

const here = fileURLToPath(new URL('.', import.meta.url))
const KEY = 'new Uint8Array(32).fill(7)'
const PRELUDE = `
import * as k from 'kms-wasm'
import { readFileSync } from 'node:fs'
import { collect, chunked } from './streams.mjs'
const input = () => readFileSync(0, 'utf8')
const keyring = new k.RawAesKeyring({ keyNamespace: 'ns', keyName: 'ec', wrappingKey: ${KEY} })
const text = (b) => new TextDecoder().decode(b)
const out = (o) => console.log(JSON.stringify(o))
`

/** Runs `body` (an ES module body after PRELUDE) in a fresh Node process; its JSON line. */
function fresh (body, input = '') {
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', PRELUDE + body],
    { cwd: here, input, encoding: 'utf8' })
  return JSON.parse(stdout.trim().split('\n').pop())
}

const keyring = () => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'ec', wrappingKey: new Uint8Array(32).fill(7) })

test('unsigned suites, RAW verification and publicKeyEncrypt never load the EC module', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const msg = Buffer.from('raw message')
  const sig = sign('sha384', msg, privateKey)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey
  const r = fresh(`
    const pt = new TextEncoder().encode('unsigned'.repeat(5000))
    const before = k.ecModuleLoaded()
    const a = await k.encrypt(keyring, pt, { suiteId: 0x0478, frameLength: 1024 })
    const b = await k.decrypt(keyring, a.result)
    const c = await collect(chunked(pt, 777).pipeThrough(k.encryptStream(keyring, { suiteId: 0x0178, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' })))
    const d = await collect(chunked(c, 333).pipeThrough(k.decryptStream(keyring, { commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })))
    const [spki, ecSig, rsaSpki] = JSON.parse(input()).map((h) => Buffer.from(h, 'hex'))
    const ok = await k.verify(spki, new TextEncoder().encode('raw message'), ecSig, 'ECDSA_SHA_384', 'RAW')
    const ct = await k.publicKeyEncrypt(rsaSpki, new Uint8Array(16), 'RSAES_OAEP_SHA_256')
    out({ before, same: text(b.plaintext) === text(pt) && text(d) === text(pt), ok, ct: ct.length, after: k.ecModuleLoaded() })
  `, JSON.stringify([publicKey.export({ type: 'spki', format: 'der' }), sig, rsa.export({ type: 'spki', format: 'der' })].map((b) => b.toString('hex'))))
  assert.deepEqual(r, { before: false, same: true, ok: true, ct: 256, after: false })
})

test('signed messages: one-shot decryption verifies with WebCrypto, streamed decryption loads the EC module; the signature is checked', async () => {
  const { result } = await encrypt(keyring(), new TextEncoder().encode('signed hello'))
  const hex = Buffer.from(result).toString('hex')
  const tampered = Buffer.from(result)
  tampered[tampered.length - 5] ^= 1
  const NO_WEBCRYPTO = "Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true })"
  // WebCrypto that will not import an ECDSA point: the EC module verifies what WebCrypto hashed.
  const NO_POINT = "const i = crypto.subtle.importKey.bind(crypto.subtle); crypto.subtle.importKey = (f, d, alg, ...rest) => alg.name === 'ECDSA' ? Promise.reject(new Error('no')) : i(f, d, alg, ...rest)"
  const cases = [
    // [message, streaming, runtime set-up, EC module loaded after]
    [hex, false, '', false], [tampered.toString('hex'), false, '', false],
    [hex, true, '', true], [tampered.toString('hex'), true, '', true],
    [hex, false, NO_WEBCRYPTO, true], [tampered.toString('hex'), false, NO_WEBCRYPTO, true],
    [hex, false, NO_POINT, true], [tampered.toString('hex'), false, NO_POINT, true]
  ]
  for (const [message, streaming, setup, loaded] of cases) {
    const r = fresh(`
      ${setup}
      const ct = Buffer.from(${JSON.stringify(message)}, 'hex')
      const before = k.ecModuleLoaded()
      let plaintext = null; let code = null
      try {
        plaintext = ${streaming}
          ? text(await collect(chunked(ct, 3).pipeThrough(k.decryptStream(keyring))))
          : text((await k.decrypt(keyring, ct)).plaintext)
      } catch (e) { code = e.code }
      out({ before, plaintext, code, after: k.ecModuleLoaded() })
    `)
    const what = `${message === hex ? 'intact' : 'tampered'}, ${streaming ? 'stream' : 'one-shot'}, ${setup.slice(0, 30)}`
    assert.equal(r.before, false, what)
    assert.equal(r.after, loaded, what)
    if (message === hex) assert.deepEqual([r.plaintext, r.code], ['signed hello', null], what)
    else assert.deepEqual([r.plaintext, r.code], [null, 'DecryptionFailed'], what)
  }
})

test('signed one-shot encryption signs with WebCrypto, without the EC module; a signed stream loads it', () => {
  const r = fresh(`
    const pt = new TextEncoder().encode('x'.repeat(10000))
    const before = k.ecModuleLoaded()
    const [a, b] = await Promise.all([k.encrypt(keyring, pt), k.encrypt(keyring, pt, { suiteId: 0x0378, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' })])
    const afterOneShot = k.ecModuleLoaded()
    const s = await collect(chunked(pt, 999).pipeThrough(k.encryptStream(keyring, { suiteId: 0x0214, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' })))
    const afterStream = k.ecModuleLoaded()
    const allow = { commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' }
    const back = [await k.decrypt(keyring, a.result), await k.decrypt(keyring, b.result, allow),
      await k.decrypt(keyring, s, allow)]
    out({ before, afterOneShot, afterStream, suites: [a.messageHeader.suiteId, b.messageHeader.suiteId], same: back.every((d) => text(d.plaintext) === text(pt)) })
  `)
  assert.deepEqual(r, { before: false, afterOneShot: false, afterStream: true, suites: [0x0578, 0x0378], same: true })
})

test('without WebCrypto ECDSA (missing, or refusing the curve) signed one-shot encryption uses the EC module', () => {
  const cases = {
    // No SubtleCrypto, as in a browser page outside a secure context, where only
    // crypto.getRandomValues remains (bulk AES-GCM then stays in Rust too).
    missing: "Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true })",
    // WebCrypto without P-384 ECDSA key generation.
    refusing: "const g = crypto.subtle.generateKey.bind(crypto.subtle); crypto.subtle.generateKey = (alg, ...rest) => alg.name === 'ECDSA' ? Promise.reject(new Error('no')) : g(alg, ...rest)"
  }
  for (const [what, setup] of Object.entries(cases)) {
    const r = fresh(`
      ${setup}
      const pt = new TextEncoder().encode('fallback '.repeat(500))
      const before = k.ecModuleLoaded()
      const { result } = await k.encrypt(keyring, pt)
      const after = k.ecModuleLoaded()
      const back = await k.decrypt(keyring, result)
      out({ before, after, same: text(back.plaintext) === text(pt) })
    `)
    assert.deepEqual(r, { before: false, after: true, same: true }, what)
  }
})

test('without globalThis.crypto there is no randomness: encryption fails rather than use weak bytes', () => {
  const r = fresh(`
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true })
    let code
    try { await k.encrypt(keyring, new Uint8Array([1]), { suiteId: 0x0478 }) } catch (e) { code = e.code }
    out({ code })
  `)
  assert.deepEqual(r, { code: 'RandomFailure' })
})

test('DIGEST verification loads it and verifies ECDSA and RSA signatures', () => {
  const msg = Buffer.from('digest me')
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-521' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 })
  const cases = [
    [ec.publicKey, sign('sha512', msg, ec.privateKey), createHash('sha512').update(msg).digest(), 'ECDSA_SHA_512'],
    [rsa.publicKey, sign('sha256', msg, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      createHash('sha256').update(msg).digest(), 'RSASSA_PSS_SHA_256']
  ].map(([key, s, d, alg]) => [key.export({ type: 'spki', format: 'der' }).toString('hex'), s.toString('hex'), d.toString('hex'), alg])
  const r = fresh(`
    const h = (x) => Buffer.from(x, 'hex')
    const before = k.ecModuleLoaded()
    const results = []
    for (const [spki, sig, digest, alg] of ${JSON.stringify(cases)}) {
      results.push(await k.verify(h(spki), h(digest), h(sig), alg, 'DIGEST'))
      const bad = h(digest); bad[0] ^= 1
      results.push(await k.verify(h(spki), bad, h(sig), alg, 'DIGEST'))
    }
    out({ before, results, after: k.ecModuleLoaded() })
  `)
  assert.deepEqual(r, { before: false, results: [true, false, true, false], after: true })
})
