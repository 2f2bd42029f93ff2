// KmsClient against a live kms-server, and retry behaviour against a scripted HTTP server.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { generateKeyPairSync, sign } from 'node:crypto'

import { KmsClient, KmsKeyring, PublicKey, encrypt } from 'kms-wasm'
import { startServer, createKey, REGION, CREDENTIALS } from './server.mjs'

let server, client, keyArn

before(async () => {
  server = await startServer()
  client = new KmsClient({ endpoint: server.endpoint, region: REGION, credentials: CREDENTIALS })
  keyArn = createKey(server.endpoint)
})
after(async () => { await server?.stop() })

test('generateDataKey returns a key that Decrypt gives back', async () => {
  const ec = { purpose: 'test' }
  const dk = await client.generateDataKey(keyArn, { encryptionContext: ec })
  assert.equal(dk.keyId, keyArn)
  assert.equal(dk.plaintext.length, 32)
  const out = await client.decrypt(dk.ciphertextBlob, { encryptionContext: ec })
  assert.deepEqual(out.plaintext, dk.plaintext)
  assert.equal(out.keyId, keyArn)
  const dk16 = await client.generateDataKey(keyArn, { numberOfBytes: 16 })
  assert.equal(dk16.plaintext.length, 16)
})

test('encrypt and decrypt round trip; a wrong context is InvalidCiphertextException', async () => {
  const pt = new TextEncoder().encode('secret')
  const ct = await client.encrypt(keyArn, pt, { encryptionContext: { a: '1' } })
  assert.equal(ct.encryptionAlgorithm, 'SYMMETRIC_DEFAULT')
  const back = await client.decrypt(ct.ciphertextBlob, { encryptionContext: { a: '1' } })
  assert.deepEqual(back.plaintext, pt)
  await assert.rejects(client.decrypt(ct.ciphertextBlob, { encryptionContext: { a: '2' } }),
    (e) => e.name === 'KmsError' && e.code === 'InvalidCiphertextException' && e.status === 400)
})

test('generateRandom returns the requested length', async () => {
  const r = await client.generateRandom(24)
  assert.ok(r instanceof Uint8Array)
  assert.equal(r.length, 24)
})

test('errors carry the AWS code, message and status', async () => {
  const missing = keyArn.replace(/key\/.*/, 'key/00000000-0000-0000-0000-000000000000')
  await assert.rejects(client.generateDataKey(missing, {}), (e) => {
    assert.ok(e instanceof Error)
    assert.equal(e.code, 'NotFoundException')
    assert.equal(e.status, 400)
    assert.match(e.message, /not found|does not exist/i)
    return true
  })
  const stranger = new KmsClient({ endpoint: server.endpoint, region: REGION,
    credentials: { accessKeyId: 'nobody', secretAccessKey: 'x' } })
  await assert.rejects(stranger.generateRandom(8), (e) => e.code === 'UnrecognizedClientException' && e.status === 400)
  assert.throws(() => new KmsClient({ endpoint: 'ftp://x', region: REGION, credentials: CREDENTIALS }),
    (e) => e.code === 'ValidationException')
})

/** A server that answers each request with the next scripted [status, body]. */
async function scripted (responses) {
  const seen = []
  const srv = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => { body += d })
    req.on('end', () => {
      seen.push({ target: req.headers['x-amz-target'], auth: req.headers.authorization, body })
      const [status, json] = responses[Math.min(seen.length - 1, responses.length - 1)]
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
      res.end(JSON.stringify(json))
    })
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const endpoint = `http://127.0.0.1:${srv.address().port}`
  return { endpoint, seen, close: () => srv.close() }
}

test('throttling and 5xx are retried; other errors are not', async () => {
  const ok = [200, { Plaintext: Buffer.from('abcd').toString('base64') }]
  const s = await scripted([[503, { __type: 'KMSInternalException', message: 'x' }],
    [400, { __type: 'ThrottlingException', message: 'slow down' }], ok])
  try {
    const c = new KmsClient({ endpoint: s.endpoint, region: REGION, credentials: CREDENTIALS, retryBaseDelayMs: 1 })
    assert.deepEqual(await c.generateRandom(4), new TextEncoder().encode('abcd'))
    assert.equal(s.seen.length, 3)
    assert.equal(s.seen[0].target, 'TrentService.GenerateRandom')
    assert.match(s.seen[0].auth, /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/kms\/aws4_request/)
  } finally { s.close() }

  const denied = await scripted([[400, { __type: 'com.amazonaws.kms#AccessDeniedException', message: 'no' }], ok])
  try {
    const c = new KmsClient({ endpoint: denied.endpoint, region: REGION, credentials: CREDENTIALS, retryBaseDelayMs: 1 })
    await assert.rejects(c.generateRandom(4), (e) => e.code === 'AccessDeniedException' && e.message === 'no')
    assert.equal(denied.seen.length, 1)
  } finally { denied.close() }

  const down = await scripted([[500, { __type: 'KMSInternalException' }]])
  try {
    const c = new KmsClient({ endpoint: down.endpoint, region: REGION, credentials: CREDENTIALS,
      retryBaseDelayMs: 1, maxAttempts: 2 })
    await assert.rejects(c.generateRandom(4), (e) => e.code === 'KMSInternalException' && e.status === 500)
    assert.equal(down.seen.length, 2)
  } finally { down.close() }
})

test('getPublicKey returns a cached PublicKey with the allowed algorithms', async () => {
  // A scripted GetPublicKey answer with a node:crypto key (server_keys.test.mjs uses kms-server's own keys).
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const arn = 'arn:aws:kms:us-east-1:000000000000:key/11111111-1111-1111-1111-111111111111'
  const s = await scripted([[200, { KeyId: arn, PublicKey: spki.toString('base64'), KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] }]])
  try {
    const c = new KmsClient({ endpoint: s.endpoint, region: REGION, credentials: CREDENTIALS })
    const key = await c.getPublicKey(arn)
    assert.ok(key instanceof PublicKey)
    assert.equal(JSON.parse(s.seen[0].body).KeyId, arn)
    assert.equal(key.keyId, arn)
    assert.equal(key.keySpec, 'ECC_NIST_P256')
    assert.equal(key.keyUsage, 'SIGN_VERIFY')
    assert.deepEqual(key.signingAlgorithms, ['ECDSA_SHA_256'])
    assert.deepEqual(Buffer.from(key.spki), spki)
    const msg = Buffer.from('signed by kms')
    const sig = sign('sha256', msg, privateKey)
    assert.equal(await key.verify(msg, sig, 'ECDSA_SHA_256'), true)
    assert.equal(await key.verify(Buffer.from('other'), sig, 'ECDSA_SHA_256'), false)
    assert.equal(s.seen.length, 1, 'verification needs no further call')
    await assert.rejects(key.encrypt(msg, 'RSAES_OAEP_SHA_256'), (e) => e.code === 'InvalidKeyUsageException')
  } finally { s.close() }
})

test('a KMS keyring reports the HTTP status of the answer', async () => {
  const arn = 'arn:aws:kms:us-east-1:000000000000:key/11111111-1111-1111-1111-111111111111'
  for (const [answer, code, status] of [
    [[503, { __type: 'KMSInternalException', message: 'busy' }], 'KMSInternalException', 503],
    [[400, { __type: 'ns#SomeNewException', message: 'new' }], 'SomeNewException', 400],
    [[502, 'not json'], 'KMSInternalException', 502],
    [[200, { KeyId: arn }], 'SerializationException', 0],
  ]) {
    const s = await scripted([answer])
    try {
      const c = new KmsClient({ endpoint: s.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 })
      const keyring = new KmsKeyring({ client: c, generatorKeyId: arn })
      await assert.rejects(encrypt(keyring, new Uint8Array([1]), { suiteId: 0x0478 }),
        (e) => e.name === 'KmsError' && e.code === code && e.status === status, `${code} ${status}`)
      assert.equal(s.seen[0].target, 'TrentService.GenerateDataKey')
    } finally { s.close() }
  }
})
