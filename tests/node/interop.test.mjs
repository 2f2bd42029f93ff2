// Interop with the official AWS Encryption SDKs: Python (KMS keyring against kms-server, via
// AWS_ENDPOINT_URL_KMS) and JavaScript (@aws-crypto/client-node, raw AES), both directions.
// KMS_WASM_REPO: the repository (for .venv and tests/interop/esdk/node_modules).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { generateKeyPairSync, randomBytes } from 'node:crypto'

import { KmsClient, KmsKeyring, RawAesKeyring, RawRsaKeyring, encrypt, decrypt } from 'kms-wasm'
import { startServer, createKey, REGION, CREDENTIALS } from './server.mjs'

const repo = process.env.KMS_WASM_REPO
if (!repo) throw new Error('KMS_WASM_REPO is not set')
const esdkJs = createRequire(join(repo, 'tests/interop/esdk/package.json'))('@aws-crypto/client-node')

let server, client, keyArn

before(async () => {
  server = await startServer()
  client = new KmsClient({ endpoint: server.endpoint, region: REGION, credentials: CREDENTIALS })
  keyArn = createKey(server.endpoint)
})
after(async () => { await server?.stop() })

function python (mode, input) {
  const env = {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL_KMS: server.endpoint,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true'
  }
  const script = join(repo, 'tests/node/esdk_kms_peer.py')
  return execFileSync(join(repo, '.venv/bin/python'), [script, mode, keyArn], { input, env, maxBuffer: 1 << 26 })
}

test('kms-wasm (KMS keyring) -> Python ESDK', async () => {
  const data = randomBytes(300_000)
  const keyring = new KmsKeyring({ client, generatorKeyId: keyArn })
  for (const suiteId of [0x0578, 0x0478]) {
    const { result } = await encrypt(keyring, data, { suiteId, encryptionContext: { origin: 'wasm', 'Ünï': '✓' } })
    assert.ok(python('decrypt', result).equals(data), `suite ${suiteId}`)
  }
})

test('Python ESDK -> kms-wasm (KMS keyring)', async () => {
  const data = randomBytes(200_000)
  const ct = python('encrypt', data)
  const keyring = new KmsKeyring({ client, keyIds: [keyArn] })
  const { plaintext, messageHeader } = await decrypt(keyring, ct, { encryptionContext: { origin: 'python' } })
  assert.ok(Buffer.from(plaintext).equals(data))
  assert.equal(messageHeader.encryptionContext['Ünï'], '✓')
})

test('raw AES both ways with @aws-crypto/client-node', async () => {
  const { buildClient, CommitmentPolicy, RawAesKeyringNode, RawAesWrappingSuiteIdentifier } = esdkJs
  const sdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const context = { Zeta: '1', alpha: '2', 'Ünïcode': '3', '𝔸stral': '4' }
  for (const bits of [128, 256]) {
    const key = randomBytes(bits / 8)
    const theirs = new RawAesKeyringNode({
      keyName: 'key', keyNamespace: 'interop', unencryptedMasterKey: new Uint8Array(key),
      wrappingSuite: RawAesWrappingSuiteIdentifier[`AES${bits}_GCM_IV12_TAG16_NO_PADDING`],
      // Without it the JS SDK sorts the context by localeCompare, not UTF-8 bytes (spec).
      utf8Sorting: true
    })
    const ours = new RawAesKeyring({ keyNamespace: 'interop', keyName: 'key', wrappingKey: key })
    const data = randomBytes(70_000)

    const { result } = await encrypt(ours, data, { encryptionContext: context, frameLength: 8192 })
    const back = await sdk.decrypt(theirs, result)
    assert.ok(Buffer.from(back.plaintext).equals(data), `ours -> theirs, AES-${bits}`)
    assert.equal(back.messageHeader.encryptionContext['𝔸stral'], '4')

    const theirCt = await sdk.encrypt(theirs, data, { encryptionContext: context })
    const mine = await decrypt(ours, theirCt.result)
    assert.ok(Buffer.from(mine.plaintext).equals(data), `theirs -> ours, AES-${bits}`)
  }
})

test('raw RSA (WebCrypto OAEP) both ways with @aws-crypto/client-node', async () => {
  const { buildClient, CommitmentPolicy, RawRsaKeyringNode } = esdkJs
  const sdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 })
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' })
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' })
  const data = randomBytes(20_000)
  for (const [padding, oaepHash] of [['OAEP_SHA1_MGF1', 'sha1'], ['OAEP_SHA256_MGF1', 'sha256'], ['OAEP_SHA512_MGF1', 'sha512']]) {
    const theirs = new RawRsaKeyringNode({
      keyNamespace: 'interop', keyName: 'rsa', rsaKey: { publicKey: publicPem, privateKey: privatePem }, oaepHash
    })
    const ours = new RawRsaKeyring({ keyNamespace: 'interop', keyName: 'rsa', publicKey: publicPem, privateKey: privatePem, padding })

    const { result } = await encrypt(ours, data, { encryptionContext: { purpose: 'interop' } })
    const back = await sdk.decrypt(theirs, result)
    assert.ok(Buffer.from(back.plaintext).equals(data), `ours -> theirs, ${padding}`)

    const theirCt = await sdk.encrypt(theirs, data, { encryptionContext: { purpose: 'interop' } })
    const mine = await decrypt(ours, theirCt.result)
    assert.ok(Buffer.from(mine.plaintext).equals(data), `theirs -> ours, ${padding}`)
  }
})
