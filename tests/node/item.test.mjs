// ItemEncryptor from the installed package: every type, the stored form, tampering, and a
// batch through the caching materials manager against a live kms-server (KMS calls counted).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'

import {
  ItemEncryptor, RawAesKeyring, KmsClient, KmsKeyring, CachingMaterialsManager
} from 'kms-wasm/full'
import { startServer, createKey, REGION, CREDENTIALS } from './server.mjs'

const CONFIG = {
  tableName: 'Customers',
  partitionKeyName: 'pk',
  sortKeyName: 'sk',
  attributeActions: {
    pk: 'SIGN_ONLY',
    sk: 'SIGN_ONLY',
    tenant: 'SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT',
    plain: 'SIGN_ONLY'
  },
  defaultAction: 'ENCRYPT_AND_SIGN',
  allowedUnsignedAttributePrefix: 'x_'
}

/** An item with every DynamoDB type, binaries as base64 strings. */
function everyType (n = 1) {
  return {
    pk: { S: `customer#${n}` },
    sk: { S: 'profile' },
    tenant: { S: 'acme' },
    plain: { N: '42' },
    s: { S: 'héllo ✓' },
    n: { N: '-12.5' },
    b: { B: Buffer.from([0, 1, 2, 255]).toString('base64') },
    bool: { BOOL: true },
    nul: { NULL: true },
    m: { M: { inner: { S: 'x' }, deep: { L: [{ N: '1' }, { BOOL: false }] } } },
    l: { L: [{ S: 'a' }, { M: {} }, { NULL: true }] },
    ss: { SS: ['b', 'a'] },
    ns: { NS: ['3', '1.5'] },
    bs: { BS: [Buffer.from('z').toString('base64'), Buffer.from('y').toString('base64')] },
    x_note: { S: 'not signed' }
  }
}

/** DynamoDB's canonical form: sets sorted (as the encryptor returns them). */
function canonical (item) {
  const out = structuredClone(item)
  out.ss.SS.sort()
  out.ns.NS = ['1.5', '3']
  out.bs.BS.sort((a, b) => Buffer.compare(Buffer.from(a, 'base64'), Buffer.from(b, 'base64')))
  return out
}

function rawKeyring () {
  return new RawAesKeyring({ keyNamespace: 'demo', keyName: 'k1', wrappingKey: new Uint8Array(32).fill(7) })
}

let server, client, keyArn

before(async () => {
  server = await startServer()
  client = new KmsClient({ endpoint: server.endpoint, region: REGION, credentials: CREDENTIALS })
  keyArn = createKey(server.endpoint)
})
after(async () => { await server?.stop() })

test('every type round trips and the stored form is as documented', async () => {
  const enc = new ItemEncryptor(CONFIG, rawKeyring())
  const item = everyType()
  const stored = await enc.encryptItem(item)
  // Keys, context and SIGN_ONLY attributes stay readable; the unsigned one is untouched.
  for (const name of ['pk', 'sk', 'tenant', 'plain', 'x_note']) {
    assert.deepEqual(stored[name], item[name], name)
  }
  // Every ENCRYPT_AND_SIGN attribute became B (base64 text), whatever its type was.
  for (const name of ['s', 'n', 'b', 'bool', 'nul', 'm', 'l', 'ss', 'ns', 'bs']) {
    assert.deepEqual(Object.keys(stored[name]), ['B'], name)
    const bytes = Buffer.from(stored[name].B, 'base64')
    assert.equal(bytes.toString('base64'), stored[name].B, `${name} is standard base64`)
    assert.ok(bytes.length > 2, name)
  }
  assert.ok(!Buffer.from(stored.s.B, 'base64').toString('latin1').includes('llo'))
  for (const name of ['aws_dbe_head', 'aws_dbe_foot']) {
    assert.deepEqual(Object.keys(stored[name]), ['B'], name)
  }
  // The header starts with format version 0x02 (the configuration has a context
  // attribute) and the signed suite's flavor 0x01.
  const head = Buffer.from(stored.aws_dbe_head.B, 'base64')
  assert.deepEqual([...head.subarray(0, 2)], [0x02, 0x01])
  // The footer holds the HMAC-SHA384 recipient tag (48 bytes) and the ECDSA signature.
  assert.ok(Buffer.from(stored.aws_dbe_foot.B, 'base64').length > 48 + 64)
  assert.equal(Object.keys(stored).length, Object.keys(item).length + 2)

  const back = await enc.decryptItem(stored)
  assert.deepEqual(back, canonical(item))
  // Each encryption uses a fresh data key.
  const again = await enc.encryptItem(item)
  assert.notEqual(again.s.B, stored.s.B)
})

test('the unsigned HMAC-only suite round trips too', async () => {
  const enc = new ItemEncryptor({
    ...CONFIG, algorithmSuite: 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384'
  }, rawKeyring())
  const stored = await enc.encryptItem(everyType())
  assert.equal(Buffer.from(stored.aws_dbe_head.B, 'base64')[1], 0x00)
  assert.deepEqual(await enc.decryptItem(stored), canonical(everyType()))
})

async function refused (enc, item, what) {
  await assert.rejects(enc.decryptItem(item), (e) => {
    assert.equal(e.name, 'KmsError', what)
    // A changed context attribute changes the data key's context: no key decrypts then.
    const codes = ['InvalidCiphertextException', 'NoDecryptableDataKeyException']
    assert.ok(codes.includes(e.code), `${what}: ${e.code} ${e.message}`)
    assert.ok(!e.message.includes('héllo'), what)
    return true
  }, what)
}

test('tampering is refused: a flipped byte, a renamed, added, removed or swapped attribute', async () => {
  const enc = new ItemEncryptor(CONFIG, rawKeyring())
  const stored = await enc.encryptItem(everyType())

  const flip = (b64, at) => {
    const bytes = Buffer.from(b64, 'base64')
    bytes[at % bytes.length] ^= 0x01
    return bytes.toString('base64')
  }
  await refused(enc, { ...stored, s: { B: flip(stored.s.B, 20) } }, 'flipped ciphertext byte')
  await refused(enc, { ...stored, aws_dbe_foot: { B: flip(stored.aws_dbe_foot.B, 10) } }, 'flipped footer byte')
  await refused(enc, { ...stored, aws_dbe_head: { B: flip(stored.aws_dbe_head.B, 40) } }, 'flipped header byte')
  await refused(enc, { ...stored, plain: { N: '43' } }, 'changed SIGN_ONLY value')
  await refused(enc, { ...stored, tenant: { S: 'other' } }, 'changed context attribute')

  const renamed = { ...stored, email: stored.s }
  delete renamed.s
  await refused(enc, renamed, 'renamed attribute')
  const removed = { ...stored }
  delete removed.m
  await refused(enc, removed, 'removed attribute')
  await refused(enc, { ...stored, extra: { S: 'added' } }, 'added attribute')
  await refused(enc, { ...stored, s: stored.n, n: stored.s }, 'swapped attributes')

  // The allowed-unsigned attribute may change freely.
  const back = await enc.decryptItem({ ...stored, x_note: { S: 'edited' } })
  assert.deepEqual(back.x_note, { S: 'edited' })
})

test('an attributeActions inherited from Object.prototype chooses nothing', async () => {
  const { attributeActions, ...config } = CONFIG
  Object.defineProperty(Object.prototype, 'attributeActions', {
    value: { ...attributeActions, s: 'SIGN_ONLY' }, configurable: true, enumerable: false, writable: true
  })
  try {
    // Without own attribute actions the configuration is refused (pk and sk need SIGN_ONLY),
    // rather than taking the inherited ones that would store `s` in the clear.
    assert.throws(() => new ItemEncryptor(config, rawKeyring()), (e) => e.code === 'ValidationException')
    const enc = new ItemEncryptor({ ...config, attributeActionsOnEncrypt: attributeActions }, rawKeyring())
    const stored = await enc.encryptItem(everyType())
    assert.deepEqual(Object.keys(stored.s), ['B'])
  } finally {
    delete Object.prototype.attributeActions
  }
})

test('bad configurations and items are ValidationException', async () => {
  assert.throws(() => new ItemEncryptor({ ...CONFIG, attributeActions: { pk: 'ENCRYPT_AND_SIGN' } }, rawKeyring()),
    (e) => e.name === 'KmsError' && e.code === 'ValidationException' && /pk/.test(e.message))
  assert.throws(() => new ItemEncryptor({ ...CONFIG, bogus: 1 }, rawKeyring()),
    (e) => e.code === 'ValidationException')
  assert.throws(() => new ItemEncryptor(CONFIG, {}), (e) => e.code === 'ValidationException')
  const enc = new ItemEncryptor(CONFIG, rawKeyring())
  await assert.rejects(enc.encryptItem({ sk: { S: 'x' } }), (e) => e.code === 'ValidationException')
  await assert.rejects(enc.encryptItem({ ...everyType(), s: { Q: 'x' } }), (e) => e.code === 'ValidationException')
  assert.throws(() => enc.encryptItem('nope'), (e) => e.code === 'ValidationException')
  await assert.rejects(enc.decryptItem(everyType()), (e) => e.code === 'ValidationException' || e.code === 'InvalidCiphertextException')
})

test('a KMS keyring item round trips; a wrong key is refused', async () => {
  const enc = new ItemEncryptor(CONFIG, new KmsKeyring({ client, generatorKeyId: keyArn }))
  const stored = await enc.encryptItem(everyType())
  assert.deepEqual(await enc.decryptItem(stored), canonical(everyType()))
  const other = new ItemEncryptor(CONFIG, rawKeyring())
  await assert.rejects(other.decryptItem(stored), (e) => e.name === 'KmsError' && typeof e.code === 'string')
})

function customer (i) {
  // About 1 KB with 5 encrypted attributes.
  return {
    pk: { S: `customer#${i}` },
    sk: { S: 'profile' },
    tenant: { S: 'acme' },
    plain: { N: String(i) },
    name: { S: `Customer ${i}` },
    email: { S: `c${i}@example.com` },
    ssn: { S: '123-45-6789' },
    card: { S: '4111 1111 1111 1111' },
    notes: { S: randomBytes(400).toString('hex') }
  }
}

test('1,000 items through the caching CMM cost a few KMS calls; without it, one per item', async () => {
  const items = Array.from({ length: 1000 }, (_, i) => customer(i))
  const kms = new KmsKeyring({ client, generatorKeyId: keyArn })
  const cmm = new CachingMaterialsManager({ keyring: kms, maxAge: 60_000, maxMessagesEncrypted: 10_000 })
  // The HMAC-only suite keeps the test short (no ECDSA per item); keys are what is counted.
  const cached = new ItemEncryptor({
    ...CONFIG,
    keyringContext: 'TABLE',
    algorithmSuite: 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384'
  }, cmm)

  const enc = await cached.encryptItems(items)
  assert.equal(enc.items.length, 1000)
  assert.equal(enc.keyringCalls, 1, `encrypt: ${JSON.stringify({ ...enc, items: undefined })}`)
  assert.equal(enc.cacheMisses, 1)
  assert.equal(enc.cacheHits, 999)
  const dec = await cached.decryptItems(enc.items)
  assert.equal(dec.keyringCalls, 1, `decrypt: ${JSON.stringify({ ...dec, items: undefined })}`)
  assert.equal(dec.cacheHits, 999)
  assert.deepEqual(dec.items[123], items[123])
  assert.ok(cmm.stats().kmsCalls <= 4)

  // Without caching: one GenerateDataKey per item (50 items keep the test short).
  const plain = new ItemEncryptor(CONFIG, kms)
  const few = await plain.encryptItems(items.slice(0, 50))
  assert.equal(few.keyringCalls, 50)
  assert.equal(few.cacheHits, null)
  const back = await plain.decryptItems(few.items)
  assert.equal(back.keyringCalls, 50)

  // With the default ITEM keyring context and no context attribute, the context holds
  // each item's keys: no sharing.
  const { tenant, ...v1Actions } = CONFIG.attributeActions
  const perItem = new ItemEncryptor({ ...CONFIG, attributeActions: v1Actions },
    new CachingMaterialsManager({ keyring: kms, maxAge: 60_000 }))
  const r = await perItem.encryptItems(items.slice(0, 20))
  assert.equal(r.keyringCalls, 20)

  // A failing item names its position.
  const bad = [...enc.items.slice(0, 3)]
  bad[2] = { ...bad[2], ssn: bad[1].ssn }
  await assert.rejects(cached.decryptItems(bad), (e) => e.code === 'InvalidCiphertextException' && e.index === 2)
})

test('KMS errors keep their AWS code: a disabled key', async () => {
  const key = createKey(server.endpoint)
  await client.disableKey(key)
  const enc = new ItemEncryptor(CONFIG, new KmsKeyring({ client, generatorKeyId: key }))
  await assert.rejects(enc.encryptItem(customer(1)), (e) => e.code === 'DisabledException' && e.status === 400)
  await client.enableKey(key)
  await enc.encryptItem(customer(1))
})

test('KmsClient key set-up calls: createKey, createAlias, describeKey, listAliases', async () => {
  const { KeyMetadata } = await client.createKey({ Description: 'demo' })
  assert.equal(KeyMetadata.KeyState, 'Enabled')
  const alias = `alias/demo-${randomBytes(4).toString('hex')}`
  assert.equal(await client.createAlias(alias, KeyMetadata.KeyId), null)
  const described = await client.describeKey(alias)
  assert.equal(described.KeyMetadata.Arn, KeyMetadata.Arn)
  const { Aliases } = await client.listAliases({ KeyId: KeyMetadata.KeyId })
  assert.deepEqual(Aliases.map((a) => a.AliasName), [alias])
  await assert.rejects(client.createAlias(alias, KeyMetadata.KeyId), (e) => e.code === 'AlreadyExistsException')
  await assert.rejects(client.describeKey('alias/none-such'), (e) => e.code === 'NotFoundException')
  assert.throws(() => client.createKey('x'), (e) => e.code === 'ValidationException')
  // Options are optional: a default symmetric key; all aliases.
  const bare = (await client.createKey()).KeyMetadata
  assert.equal(bare.KeySpec, 'SYMMETRIC_DEFAULT')
  assert.ok((await client.listAliases()).Aliases.some((a) => a.AliasName === alias))
})
