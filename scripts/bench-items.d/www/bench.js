// Item-encryption benchmark body, shared by Node (bench-items.d/node.mjs) and Chromium
// (bench-items.d/www/index.html): a ~1 KB customer item with 5 ENCRYPT_AND_SIGN attributes,
// encrypted then decrypted in one batch, through a KMS keyring with or without the caching
// materials manager. Returns items/s and KMS calls per 1,000 items.

export const SUITES = {
  'ecdsa+hmac': 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384',
  hmac: 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384'
}

export function item (i) {
  return {
    pk: { S: `customer#${String(i).padStart(8, '0')}` },
    sk: { S: 'profile' },
    name: { S: `Customer Number ${i}` },
    email: { S: `customer${i}@example.com` },
    ssn: { S: '123-45-6789' },
    card: { S: '4111 1111 1111 1111' },
    notes: { S: 'n'.repeat(860) }
  }
}

export async function run (kms, { endpoint, region, credentials, keyArn, n, cached, suite }) {
  const client = new kms.KmsClient({ endpoint, region, credentials })
  const keyring = new kms.KmsKeyring({ client, generatorKeyId: keyArn })
  const config = {
    tableName: 'Customers',
    partitionKeyName: 'pk',
    sortKeyName: 'sk',
    attributeActions: { pk: 'SIGN_ONLY', sk: 'SIGN_ONLY' },
    defaultAction: 'ENCRYPT_AND_SIGN',
    keyringContext: 'TABLE',
    algorithmSuite: SUITES[suite]
  }
  const materials = cached
    ? new kms.CachingMaterialsManager({ keyring, maxAge: 600_000, maxMessagesEncrypted: 1_000_000 })
    : keyring
  const encryptor = new kms.ItemEncryptor(config, materials)
  const items = Array.from({ length: n }, (_, i) => item(i))
  const bytes = JSON.stringify(items[0]).length
  const t0 = performance.now()
  const enc = await encryptor.encryptItems(items)
  const t1 = performance.now()
  const dec = await encryptor.decryptItems(enc.items)
  const t2 = performance.now()
  const sorted = (o) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)))
  if (sorted(dec.items[n - 1]) !== sorted(items[n - 1])) throw new Error('round trip mismatch')
  return {
    suite,
    cached,
    n,
    itemBytes: bytes,
    encryptPerSec: n / ((t1 - t0) / 1000),
    decryptPerSec: n / ((t2 - t1) / 1000),
    kmsCallsPer1000Encrypt: (enc.keyringCalls * 1000) / n,
    kmsCallsPer1000Decrypt: (dec.keyringCalls * 1000) / n
  }
}
