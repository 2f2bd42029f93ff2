// kms-wasm against kms-server's own asymmetric keys: signatures made by KMS Sign verify in
// kms-wasm with the key from GetPublicKey, and what kms-wasm encrypts to a KMS RSA key's
// public key (publicKeyEncrypt, KmsRsaKeyring) KMS Decrypt opens.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'

import { KmsClient, KmsRsaKeyring, PublicKey, encrypt, decrypt, publicKeyEncrypt, verify } from 'kms-wasm'
import { startServer, awsKms, REGION, CREDENTIALS } from './server.mjs'

let server
let client
const scratch = mkdtempSync(join(tmpdir(), 'kms-wasm-sign-'))

before(async () => {
  server = await startServer()
  client = new KmsClient({ endpoint: server.endpoint, region: REGION, credentials: CREDENTIALS })
})
after(() => server?.stop())

const createKey = (spec, usage) =>
  awsKms(server.endpoint, 'create-key', '--key-spec', spec, '--key-usage', usage).KeyMetadata.Arn

/** `aws kms sign`, returning the DER signature. */
function kmsSign (keyId, message, algorithm, messageType = 'RAW') {
  const file = join(scratch, `m-${randomBytes(4).toString('hex')}`)
  writeFileSync(file, message)
  const out = awsKms(server.endpoint, 'sign', '--key-id', keyId, '--message', `fileb://${file}`,
    '--message-type', messageType, '--signing-algorithm', algorithm)
  return Buffer.from(out.Signature, 'base64')
}

test('KMS signatures verify with the key from getPublicKey, RAW and DIGEST, and tampering is caught', async () => {
  const rsa = ['256', '384', '512'].flatMap((h) => [`RSASSA_PSS_SHA_${h}`, `RSASSA_PKCS1_V1_5_SHA_${h}`])
  const cases = [
    ['RSA_2048', rsa],
    ['RSA_3072', ['RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PSS_SHA_512']],
    ['RSA_4096', ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_512']],
    ['ECC_NIST_P256', ['ECDSA_SHA_256']],
    ['ECC_NIST_P384', ['ECDSA_SHA_384']],
    ['ECC_NIST_P521', ['ECDSA_SHA_512']]
  ]
  const message = Buffer.from('signed inside kms-server, checked in kms-wasm')
  const hashOf = (algorithm) => `sha${algorithm.slice(-3)}`
  for (const [spec, algorithms] of cases) {
    const keyId = createKey(spec, 'SIGN_VERIFY')
    const key = await client.getPublicKey(keyId)
    assert.ok(key instanceof PublicKey)
    assert.equal(key.keySpec, spec)
    for (const algorithm of algorithms) {
      const label = `${spec} ${algorithm}`
      assert.ok(key.signingAlgorithms.includes(algorithm), `${spec} lists ${algorithm}`)
      const signature = kmsSign(keyId, message, algorithm)
      assert.equal(await key.verify(message, signature, algorithm), true, label)
      assert.equal(await verify(key.spki, message, signature, algorithm, 'RAW'), true, label)
      const digest = createHash(hashOf(algorithm)).update(message).digest()
      assert.equal(await key.verify(digest, signature, algorithm, 'DIGEST'), true, `${label} DIGEST`)
      // KMS signs a digest too (MessageType DIGEST); kms-wasm checks it both ways.
      const digestSignature = kmsSign(keyId, digest, algorithm, 'DIGEST')
      assert.equal(await verify(key.spki, digest, digestSignature, algorithm, 'DIGEST'), true, `${label} DIGEST`)
      assert.equal(await key.verify(message, digestSignature, algorithm, 'RAW'), true, `${label} RAW`)
      const other = Buffer.from(message)
      other[0] ^= 1
      assert.equal(await key.verify(other, signature, algorithm), false, `${label}: a changed message fails`)
      const badDigest = Buffer.from(digest)
      badDigest[1] ^= 1
      assert.equal(await key.verify(badDigest, signature, algorithm, 'DIGEST'), false, `${label}: a changed digest fails`)
      const badSignature = Buffer.from(signature)
      badSignature[badSignature.length >> 1] ^= 1
      assert.equal(await key.verify(message, badSignature, algorithm), false, `${label}: a changed signature fails`)
      assert.equal(await key.verify(digest, badSignature, algorithm, 'DIGEST'), false, `${label}: a changed signature fails`)
    }
  }
})

test('publicKeyEncrypt output decrypts with KMS Decrypt for both OAEP algorithms', async () => {
  const keyId = createKey('RSA_2048', 'ENCRYPT_DECRYPT')
  const key = await client.getPublicKey(keyId)
  for (const [algorithm, max] of [['RSAES_OAEP_SHA_1', 214], ['RSAES_OAEP_SHA_256', 190], ['RSAES_OAEP_SHA_256', 1]]) {
    const plaintext = randomBytes(max)
    const ciphertext = await publicKeyEncrypt(key.spki, plaintext, algorithm)
    const back = await client.decrypt(ciphertext, { keyId, encryptionAlgorithm: algorithm })
    assert.deepEqual(Buffer.from(back.plaintext), plaintext)
    const viaKey = await key.encrypt(plaintext, algorithm)
    const again = await client.decrypt(viaKey, { keyId, encryptionAlgorithm: algorithm })
    assert.deepEqual(Buffer.from(again.plaintext), plaintext)
  }
})

test('a KMS RSA keyring encrypts with the public key alone; the holder of KMS access decrypts', async () => {
  const keyId = createKey('RSA_3072', 'ENCRYPT_DECRYPT')
  const { spki } = await client.getPublicKey(keyId)
  const sender = new KmsRsaKeyring({ keyId, publicKey: spki, encryptionAlgorithm: 'RSAES_OAEP_SHA_256' })
  const plaintext = randomBytes(100_000)
  const { result } = await encrypt(sender, plaintext, { suiteId: 0x0478, encryptionContext: { doc: 'q3' } })
  const receiver = new KmsRsaKeyring({ keyId, encryptionAlgorithm: 'RSAES_OAEP_SHA_256', client })
  const out = await decrypt(receiver, result)
  assert.deepEqual(Buffer.from(out.plaintext), plaintext)
  assert.equal(out.messageHeader.encryptionContext.doc, 'q3')
})
