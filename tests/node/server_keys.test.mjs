// kms-wasm against kms-server's own asymmetric keys: signatures made by KMS Sign verify in
// kms-wasm with the key from GetPublicKey, and what kms-wasm encrypts to a KMS RSA key's
// public key (publicKeyEncrypt, KmsRsaKeyring) KMS Decrypt opens.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

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

test('KMS signatures verify with the key from getPublicKey, and tampering is caught', async () => {
  const cases = [
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
    ['RSA_3072', 'RSASSA_PKCS1_V1_5_SHA_384'],
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['ECC_NIST_P384', 'ECDSA_SHA_384'],
    ['ECC_NIST_P521', 'ECDSA_SHA_512']
  ]
  const message = Buffer.from('signed inside kms-server, checked in kms-wasm')
  for (const [spec, algorithm] of cases) {
    const keyId = createKey(spec, 'SIGN_VERIFY')
    const key = await client.getPublicKey(keyId)
    assert.ok(key instanceof PublicKey)
    assert.equal(key.keySpec, spec)
    assert.ok(key.signingAlgorithms.includes(algorithm), `${spec} lists ${algorithm}`)
    const signature = kmsSign(keyId, message, algorithm)
    assert.equal(key.verify(message, signature, algorithm), true, `${spec} ${algorithm}`)
    assert.equal(verify(key.spki, message, signature, algorithm, 'RAW'), true)
    const other = Buffer.from(message)
    other[0] ^= 1
    assert.equal(key.verify(other, signature, algorithm), false, `${spec}: a changed message fails`)
  }
})

test('publicKeyEncrypt output decrypts with KMS Decrypt for both OAEP algorithms', async () => {
  const keyId = createKey('RSA_2048', 'ENCRYPT_DECRYPT')
  const key = await client.getPublicKey(keyId)
  for (const [algorithm, max] of [['RSAES_OAEP_SHA_1', 214], ['RSAES_OAEP_SHA_256', 190]]) {
    const plaintext = randomBytes(max)
    const ciphertext = publicKeyEncrypt(key.spki, plaintext, algorithm)
    const back = await client.decrypt(ciphertext, { keyId, encryptionAlgorithm: algorithm })
    assert.deepEqual(Buffer.from(back.plaintext), plaintext)
    const viaKey = key.encrypt(plaintext, algorithm)
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
