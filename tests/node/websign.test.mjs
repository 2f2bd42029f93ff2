// Signed one-shot encryption signs with WebCrypto (src/websign.rs): the public key in
// `aws-crypto-public-key` is WebCrypto's point compressed, and the footer is WebCrypto's
// IEEE P1363 signature turned into DER. Checked independently here (node:crypto verifies the
// footer over header || body), by kms-wasm (one-shot and streamed) and by the AWS
// Encryption SDK for JavaScript (@aws-crypto/client-node); tampering is refused. The caching
// materials manager hands the same signing key to a one-shot call and a stream, in either
// order; one-shot decryption verifies footers (client-node's too) with WebCrypto. KMS_WASM_REPO: the repository (for tests/interop/esdk/node_modules).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createPublicKey, verify as nodeVerify, randomBytes } from 'node:crypto'

import {
  RawAesKeyring, CachingMaterialsManager, encrypt, decrypt, encryptStream, decryptStream
} from 'kms-wasm'
import { collect, chunked } from './streams.mjs'

const repo = process.env.KMS_WASM_REPO
if (!repo) throw new Error('KMS_WASM_REPO is not set')
const esdkJs = createRequire(join(repo, 'tests/interop/esdk/package.json'))('@aws-crypto/client-node')
const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = esdkJs

const KEY = randomBytes(32)
const ours = () => new RawAesKeyring({ keyNamespace: 'websign', keyName: 'k', wrappingKey: KEY })
const theirs = new RawAesKeyringNode({
  keyName: 'k', keyNamespace: 'websign', unencryptedMasterKey: new Uint8Array(KEY),
  wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING, utf8Sorting: true
})
const sdk = {
  require: buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
  allow: buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
}
const ALLOW = { commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' }

// SubjectPublicKeyInfo prefixes for a compressed point (id-ecPublicKey + the named curve).
const SPKI = {
  'P-384': '3046301006072a8648ce3d020106052b81040022033200',
  'P-256': '3039301306072a8648ce3d020106082a8648ce3d030107032200'
}
const SUITES = [
  { id: 0x0578, curve: 'P-384', hash: 'sha384', options: {} },
  { id: 0x0378, curve: 'P-384', hash: 'sha384', options: { commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' } },
  { id: 0x0214, curve: 'P-256', hash: 'sha256', options: { commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' } }
]

/** The footer's DER signature and where it starts, from the end of a signed message. */
function footer (message) {
  // DER ECDSA-Sig-Value: 30 <len> ...; the u16 length precedes it.
  for (let len = 6; len <= 104; len++) {
    const at = message.length - len
    if (message[at - 2] === 0 && message[at - 1] === len && message[at] === 0x30 && message[at + 1] === len - 2) {
      return { der: Buffer.from(message.subarray(at)), start: at - 2 }
    }
  }
  throw new Error('no footer')
}

function publicKeyOf (header, curve) {
  const point = Buffer.from(header.encryptionContext['aws-crypto-public-key'], 'base64')
  assert.equal(point.length, curve === 'P-384' ? 49 : 33)
  assert.ok(point[0] === 2 || point[0] === 3, 'a compressed point')
  return createPublicKey({ key: Buffer.concat([Buffer.from(SPKI[curve], 'hex'), point]), format: 'der', type: 'spki' })
}

test('WebCrypto-signed messages: node:crypto verifies the footer; kms-wasm and client-node decrypt', async () => {
  const keyring = ours()
  for (const suite of SUITES) {
    for (const size of [0, 1, 1024, 300_000]) {
      const data = randomBytes(size)
      const { result, messageHeader } = await encrypt(keyring, data,
        { ...suite.options, suiteId: suite.id, frameLength: 4096, encryptionContext: { a: 'b' } })
      assert.equal(messageHeader.suiteId, suite.id)
      const { der, start } = footer(result)
      assert.ok(nodeVerify(suite.hash, result.subarray(0, start), publicKeyOf(messageHeader, suite.curve), der),
        `footer of ${suite.id.toString(16)}, ${size} bytes`)

      const one = await decrypt(keyring, result, ALLOW)
      assert.ok(Buffer.from(one.plaintext).equals(data))
      const streamed = await collect(chunked(result, 1000).pipeThrough(decryptStream(keyring, ALLOW)))
      assert.ok(Buffer.from(streamed).equals(data))
      const back = await sdk.allow.decrypt(theirs, result)
      assert.ok(Buffer.from(back.plaintext).equals(data), `client-node, ${suite.id.toString(16)}, ${size} bytes`)
    }
  }
})

test('tampered WebCrypto-signed messages are refused by kms-wasm and client-node', async () => {
  const keyring = ours()
  const { result } = await encrypt(keyring, randomBytes(10_000), { frameLength: 1024 })
  const { start } = footer(result)
  const cases = {
    body: (m) => { m[start - 40] ^= 1 },
    footer: (m) => { m[m.length - 1] ^= 1 },
    'footer r': (m) => { m[start + 8] ^= 0x80 }
  }
  for (const [what, change] of Object.entries(cases)) {
    const bad = result.slice()
    change(bad)
    await assert.rejects(decrypt(keyring, bad), (e) => e.code === 'DecryptionFailed', what)
    await assert.rejects(collect(chunked(bad, 777).pipeThrough(decryptStream(keyring))), undefined, what)
    await assert.rejects(sdk.require.decrypt(theirs, bad), undefined, `client-node, ${what}`)
  }
  const unsigned = result.subarray(0, start)
  await assert.rejects(decrypt(keyring, unsigned), undefined, 'no footer')
})

test('the caching materials manager shares one signing key between one-shot calls and streams', async () => {
  const data = randomBytes(20_000)
  const pk = (header) => header.encryptionContext['aws-crypto-public-key']
  // One-shot first (a WebCrypto key), then a stream (its scalar goes to the EC module),
  // then one-shot again; and the other way round (an EC-module key used by one-shot calls).
  for (const order of [['oneShot', 'stream', 'oneShot'], ['stream', 'oneShot', 'stream']]) {
    const cmm = new CachingMaterialsManager({ keyring: ours(), maxAge: 60_000 })
    const keys = []
    for (const how of order) {
      let message
      if (how === 'oneShot') {
        const { result, messageHeader } = await encrypt(cmm, data)
        keys.push(pk(messageHeader))
        message = result
      } else {
        let header
        message = await collect(chunked(data, 3000).pipeThrough(
          encryptStream(cmm, { plaintextLength: data.length, onMessageHeader: (h) => { header = h } })))
        keys.push(pk(header))
      }
      assert.ok(Buffer.from((await decrypt(ours(), message)).plaintext).equals(data), `${order}: ${how}`)
      assert.ok(Buffer.from((await sdk.require.decrypt(theirs, message)).plaintext).equals(data), `client-node ${order}: ${how}`)
    }
    assert.equal(new Set(keys).size, 1, `one cached signing key for ${order}`)
    assert.equal(cmm.stats().hits, 2)
    assert.equal(cmm.stats().misses, 1)
  }
})

test('concurrent signed one-shot calls each get their own key', async () => {
  const keyring = ours()
  const data = randomBytes(2048)
  const results = await Promise.all(Array.from({ length: 8 }, () => encrypt(keyring, data)))
  const keys = new Set(results.map((r) => r.messageHeader.encryptionContext['aws-crypto-public-key']))
  assert.equal(keys.size, 8)
  for (const { result } of results) {
    assert.ok(Buffer.from((await sdk.require.decrypt(theirs, result)).plaintext).equals(data))
  }
})

test('one-shot decryption verifies client-node signatures with WebCrypto; tampering is refused', async () => {
  const { AlgorithmSuiteIdentifier } = esdkJs
  const keyring = ours()
  const suites = [
    [AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, sdk.require],
    [AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)],
    [AlgorithmSuiteIdentifier.ALG_AES128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256, buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT)]
  ]
  for (const [suiteId, client] of suites) {
    for (const size of [0, 5000]) {
      const data = randomBytes(size)
      const { result } = await client.encrypt(theirs, data, { suiteId, frameLength: 1024, encryptionContext: { x: 'y' } })
      const { plaintext, messageHeader } = await decrypt(keyring, result, ALLOW)
      assert.equal(messageHeader.suiteId, suiteId)
      assert.ok(Buffer.from(plaintext).equals(data), `suite ${suiteId.toString(16)}, ${size} bytes`)
      for (const at of [result.length - 1, result.length - 30]) {
        const bad = Buffer.from(result)
        bad[at] ^= 1
        await assert.rejects(decrypt(keyring, bad, ALLOW), (e) => e.code === 'DecryptionFailed', `byte ${at}`)
      }
    }
  }
})
