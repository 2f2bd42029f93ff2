// encrypt/decrypt, keyrings, caching, commitment policy and streams, against a live kms-server.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, privateDecrypt, constants, randomBytes, createHash } from 'node:crypto'

import {
  KmsClient, KmsKeyring, RawAesKeyring, RawRsaKeyring, MultiKeyring, KmsRsaKeyring,
  CachingMaterialsManager, encrypt, decrypt, encryptStream, decryptStream
} from 'kms-wasm'
import { startServer, createKey, REGION, CREDENTIALS } from './server.mjs'
import { collect, chunked } from './streams.mjs'

let server, client, keyA, keyB

before(async () => {
  server = await startServer()
  client = new KmsClient({ endpoint: server.endpoint, region: REGION, credentials: CREDENTIALS })
  keyA = createKey(server.endpoint)
  keyB = createKey(server.endpoint)
})
after(async () => { await server?.stop() })

const text = (s) => new TextEncoder().encode(s)

test('the exported classes keep their names through the minified glue', () => {
  const classes = { KmsClient, KmsKeyring, RawAesKeyring, RawRsaKeyring, MultiKeyring, KmsRsaKeyring, CachingMaterialsManager }
  for (const [name, cls] of Object.entries(classes)) assert.equal(cls.name, name)
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: new Uint8Array(32) })
  assert.equal(keyring.constructor.name, 'RawAesKeyring')
  keyring.free()
})

test('KMS keyring round trip with a generator and a second key', async () => {
  const keyring = new KmsKeyring({ client, generatorKeyId: keyA, keyIds: [keyB] })
  const ec = { tenant: 'acme', 'Ünïcode': '✓' }
  const { result, messageHeader } = await encrypt(keyring, text('hello kms'), { encryptionContext: ec })
  assert.equal(messageHeader.suiteId, 0x0578)
  assert.equal(messageHeader.version, 2)
  assert.deepEqual(messageHeader.encryptedDataKeys.map((k) => [k.providerId, k.providerInfo]),
    [['aws-kms', keyA], ['aws-kms', keyB]])
  assert.equal(messageHeader.encryptionContext.tenant, 'acme')

  const { plaintext, messageHeader: h2 } = await decrypt(keyring, result, { encryptionContext: { tenant: 'acme' } })
  assert.deepEqual(plaintext, text('hello kms'))
  assert.deepEqual(h2.messageId, messageHeader.messageId)
  // Only key B configured: decrypts with its EDK.
  const onlyB = new KmsKeyring({ client, keyIds: [keyB] })
  assert.deepEqual((await decrypt(onlyB, result)).plaintext, text('hello kms'))
  // Discovery decrypts with any key the credentials may use.
  const discovery = new KmsKeyring({ client, discovery: true,
    discoveryFilter: { partition: 'aws', accountIDs: ['000000000000'] } })
  assert.deepEqual((await decrypt(discovery, result)).plaintext, text('hello kms'))
  const wrongAccount = new KmsKeyring({ client, discovery: true,
    discoveryFilter: { partition: 'aws', accountIDs: ['111111111111'] } })
  await assert.rejects(decrypt(wrongAccount, result), (e) => e.code === 'NoDecryptableDataKey')
  // A reproduced context that differs fails.
  await assert.rejects(decrypt(keyring, result, { encryptionContext: { tenant: 'other' } }),
    (e) => e.code === 'EncryptionContextMismatch')
})

test('an encryption context must be well-formed UTF-16, so distinct objects never become one context', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: randomBytes(32) })
  // A lone surrogate would otherwise become U+FFFD, the same text as '\uFFFD' itself.
  for (const encryptionContext of [{ '\uD800': 'a' }, { k: '\uDC00' }, { '\uD800': 'x', '\uDC00': 'y' }]) {
    // Bad options throw before any promise exists; `async` turns that into a rejection.
    await assert.rejects(async () => encrypt(keyring, text('x'), { encryptionContext }),
      (e) => e.code === 'ValidationException' && /well-formed UTF-16/.test(e.message))
  }
  const { result } = await encrypt(keyring, text('x'), { encryptionContext: { '\uFFFD': 'a', '😀': '\uD83D\uDE00' } })
  await assert.rejects(async () => decrypt(keyring, result, { encryptionContext: { '\uD800': 'a' } }),
    (e) => e.code === 'ValidationException')
  assert.deepEqual((await decrypt(keyring, result, { encryptionContext: { '\uFFFD': 'a' } })).plaintext, text('x'))
  // Other names that select or bind keys likewise: a cache partition, a key name.
  assert.throws(() => new CachingMaterialsManager({ keyring, maxAge: 1000, partition: '\uD800' }),
    (e) => e.code === 'ValidationException' && /well-formed UTF-16/.test(e.message))
  assert.throws(() => new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k\uDC00', wrappingKey: randomBytes(32) }),
    (e) => e.code === 'ValidationException')
})

test('tampering is DecryptionFailed and truncation is MalformedMessage', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: randomBytes(32) })
  const { result } = await encrypt(keyring, randomBytes(10_000), { frameLength: 1024 })
  const bad = Uint8Array.from(result)
  bad[bad.length - 200] ^= 1
  await assert.rejects(decrypt(keyring, bad), (e) => e.code === 'DecryptionFailed')
  await assert.rejects(decrypt(keyring, result.subarray(0, result.length - 1)), (e) => e.code === 'MalformedMessage')
  const other = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: randomBytes(32) })
  await assert.rejects(decrypt(other, result), (e) => e.code === 'NoDecryptableDataKey')
})

test('KMS errors surface through encrypt with their AWS code', async () => {
  awsDisable(keyA)
  try {
    const keyring = new KmsKeyring({ client, generatorKeyId: keyA })
    await assert.rejects(encrypt(keyring, text('x')), (e) => e.code === 'DisabledException' && e.status === 400)
  } finally { awsEnable(keyA) }
})

import { awsKms } from './server.mjs'
function awsDisable (k) { awsKms(server.endpoint, 'disable-key', '--key-id', k) }
function awsEnable (k) { awsKms(server.endpoint, 'enable-key', '--key-id', k) }

test('raw RSA and multi keyrings; every suite id encrypts under a matching policy', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = publicKey.export({ type: 'spki', format: 'pem' })
  const der = privateKey.export({ type: 'pkcs8', format: 'der' })
  const encOnly = new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k1', publicKey: pem, padding: 'OAEP_SHA256_MGF1' })
  const decOnly = new RawRsaKeyring({ keyNamespace: 'rsa', keyName: 'k1', privateKey: der, padding: 'OAEP_SHA256_MGF1' })
  const aes = new RawAesKeyring({ keyNamespace: 'aes', keyName: 'k2', wrappingKey: randomBytes(16) })
  const multi = new MultiKeyring({ generator: aes, children: [encOnly] })
  for (const suiteId of [0x0478, 0x0578]) {
    const { result } = await encrypt(multi, text('multi'), { suiteId })
    assert.deepEqual((await decrypt(decOnly, result)).plaintext, text('multi'))
    assert.deepEqual((await decrypt(aes, result)).plaintext, text('multi'))
  }
  const legacy = { commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' }
  for (const suiteId of [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378]) {
    const { result, messageHeader } = await encrypt(aes, text('legacy'), { suiteId, ...legacy })
    assert.equal(messageHeader.suiteId, suiteId)
    assert.deepEqual((await decrypt(aes, result, legacy)).plaintext, text('legacy'))
  }
})

test('the commitment policy defaults to require-require', async () => {
  const aes = new RawAesKeyring({ keyNamespace: 'aes', keyName: 'k', wrappingKey: randomBytes(32) })
  await assert.rejects(encrypt(aes, text('x'), { suiteId: 0x0378 }), (e) => e.code === 'CommitmentPolicyViolation')
  const { result } = await encrypt(aes, text('x'), { suiteId: 0x0378, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' })
  await assert.rejects(decrypt(aes, result), (e) => e.code === 'CommitmentPolicyViolation')
  const ok = await decrypt(aes, result, { commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })
  assert.deepEqual(ok.plaintext, text('x'))
  assert.throws(() => encrypt(aes, text('x'), { commitmentPolicy: 'NOPE' }), (e) => e.code === 'ValidationException')
})

test('KMS RSA keyring encrypts with only the public key', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const arn = 'arn:aws:kms:us-east-1:000000000000:key/22222222-2222-2222-2222-222222222222'
  const keyring = new KmsRsaKeyring({ keyId: arn, publicKey: spki, encryptionAlgorithm: 'RSAES_OAEP_SHA_256' })
  const ec = { doc: '7' }
  const { messageHeader } = await encrypt(keyring, randomBytes(5000), { suiteId: 0x0478, encryptionContext: ec })
  const [edk] = messageHeader.encryptedDataKeys
  assert.equal(edk.providerId, 'aws-kms-rsa')
  assert.equal(edk.providerInfo, arn)
  // What KMS Decrypt would return: SHA-384 of the serialised context, then the data key.
  const inner = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    edk.encryptedDataKey)
  assert.equal(inner.length, 48 + 32)
  // Signed suites are refused, as the spec says.
  await assert.rejects(encrypt(keyring, text('x')), (e) => e.code === 'ValidationException')
})

test('the caching materials manager saves KMS calls and reports stats', async () => {
  const keyring = new KmsKeyring({ client, generatorKeyId: keyA })
  const cmm = new CachingMaterialsManager({ keyring, capacity: 10, maxAge: 60_000, maxMessagesEncrypted: 3 })
  for (let i = 0; i < 5; i++) await encrypt(cmm, text(`m${i}`), { suiteId: 0x0478 })
  const s = cmm.stats()
  assert.equal(s.kmsCalls, 2, 'a new data key after 3 messages')
  assert.equal(s.hits, 3)
  assert.equal(s.misses, 2)
  const { result } = await encrypt(cmm, text('again'), { suiteId: 0x0478 })
  await decrypt(cmm, result)
  await decrypt(cmm, result)
  assert.equal(cmm.stats().hits, 5)
  assert.throws(() => new CachingMaterialsManager({ keyring, maxAge: 0 }), (e) => e.code === 'ValidationException')
})

test('streams round trip 8 MiB and interoperate with the one-shot API', async () => {
  const keyring = new KmsKeyring({ client, generatorKeyId: keyA })
  const data = randomBytes(8 << 20)
  let header
  const ct = await collect(chunked(data, 100_003).pipeThrough(
    encryptStream(keyring, { encryptionContext: { s: '1' }, frameLength: 65_536, onMessageHeader: (h) => { header = h } })))
  assert.equal(header.frameLength, 65_536)
  assert.equal(header.encryptionContext.s, '1')
  const viaOneShot = await decrypt(keyring, ct)
  assert.equal(createHash('sha256').update(viaOneShot.plaintext).digest('hex'),
    createHash('sha256').update(data).digest('hex'))
  const { result } = await encrypt(keyring, data)
  const pt = await collect(chunked(result, 77_777).pipeThrough(decryptStream(keyring)))
  assert.ok(Buffer.from(pt).equals(data))
})

test('a signed stream withholds its final frame until the signature verifies', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: randomBytes(32) })
  const data = randomBytes(10_000)
  const { result } = await encrypt(keyring, data, { frameLength: 4096 })
  // Cut the footer's last byte: frames 1 and 2 verify, frame 3 (final) must never appear.
  const cut = result.subarray(0, result.length - 1)
  const got = []
  const reader = chunked(cut, 1000).pipeThrough(decryptStream(keyring)).getReader()
  await assert.rejects(async () => {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      got.push(value)
    }
  }, (e) => e.code === 'MalformedMessage')
  // An erroring stream may drop chunks still queued, so at most the two non-final frames.
  assert.ok(got.reduce((n, c) => n + c.length, 0) <= 8192, 'the final frame is never released')
  // A bad signature: the final frame is withheld and the stream errors.
  const bad = Uint8Array.from(result)
  bad[bad.length - 10] ^= 1
  const got2 = []
  await assert.rejects(async () => {
    for await (const c of chunked(bad, 4096).pipeThrough(decryptStream(keyring))) got2.push(c)
  }, (e) => e.code === 'DecryptionFailed')
  assert.ok(got2.reduce((n, c) => n + c.length, 0) <= 8192, 'the final frame is never released')
})

test('objects can be freed; a freed keyring is refused', async () => {
  const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: randomBytes(32) })
  assert.equal(typeof keyring[Symbol.dispose], Symbol.dispose ? 'function' : 'undefined')
  keyring.free()
  assert.throws(() => encrypt(keyring, text('x')), (e) => e.code === 'ValidationException')
})

test('encryptStream with plaintextLength reuses cached data keys; maxBodySize bounds frames', async () => {
  const keyring = new KmsKeyring({ client, generatorKeyId: keyA })
  const cmm = new CachingMaterialsManager({ keyring, maxAge: 60_000 })
  const data = randomBytes(50_000)
  for (let i = 0; i < 3; i++) {
    const ct = await collect(chunked(data, 8192).pipeThrough(
      encryptStream(cmm, { suiteId: 0x0478, plaintextLength: data.length })))
    assert.ok(Buffer.from((await decrypt(keyring, ct)).plaintext).equals(data))
  }
  assert.equal(cmm.stats().kmsCalls, 1)
  // Without a length the stream cannot be cached: every message asks the keyring.
  await collect(chunked(data, 8192).pipeThrough(encryptStream(cmm, { suiteId: 0x0478 })))
  assert.equal(cmm.stats().kmsCalls, 2)
  assert.equal(cmm.stats().bypasses, 1)
  // A stream longer than the declared length fails.
  await assert.rejects(collect(chunked(data, 8192).pipeThrough(
    encryptStream(cmm, { suiteId: 0x0478, plaintextLength: 1000 }))))

  const { result } = await encrypt(keyring, data, { frameLength: 65_536 })
  await assert.rejects(collect(chunked(result, 4096).pipeThrough(decryptStream(keyring, { maxBodySize: 4096 }))),
    (e) => e.code === 'MalformedMessage')
  await assert.rejects(decrypt(keyring, result, { maxBodySize: 4096 }), (e) => e.code === 'MalformedMessage')
})
