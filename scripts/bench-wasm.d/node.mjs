// kms-wasm (nodejs build) against @aws-crypto/client-node in Node: raw AES-256 keyring,
// suite 0x0578 (both defaults), frame length 4096, empty encryption context.
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'

import { run } from './measure.js'

const repo = process.argv[2]
const sizes = process.argv[3].split(',').map(Number)
const budget = Number(process.argv[4])
const suites = process.argv[5].split(',').map(Number)
// kms-wasm's bulk AES-GCM: "auto" (the default), or forced "rust" / "webcrypto" rows too.
const bulks = (process.argv[6] || 'auto').split(',')
const kms = createRequire(join(repo, 'pkg/node/package.json'))('./kms_wasm.js')
const sdkNode = createRequire(join(repo, 'tests/interop/esdk/package.json'))('@aws-crypto/client-node')

const key = randomBytes(32)
const ours = new kms.RawAesKeyring({ keyNamespace: 'bench', keyName: 'key', wrappingKey: key })
const theirs = new sdkNode.RawAesKeyringNode({
  keyName: 'key', keyNamespace: 'bench', unencryptedMasterKey: new Uint8Array(key),
  wrappingSuite: sdkNode.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING, utf8Sorting: true
})
const sdk = sdkNode.buildClient(sdkNode.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)

const impls = {}
for (const suiteId of suites) {
  const hex = '0x' + suiteId.toString(16).padStart(4, '0')
  for (const bulkCrypto of bulks) {
    const name = bulkCrypto === 'auto' ? `kms-wasm ${hex}` : `kms-wasm ${hex} ${bulkCrypto}`
    impls[name] = {
      encrypt: async (d) => (await kms.encrypt(ours, d, { suiteId, bulkCrypto })).result,
      decrypt: async (c) => (await kms.decrypt(ours, c, { bulkCrypto })).plaintext
    }
  }
  impls[`client-node ${hex}`] = {
    encrypt: async (d) => (await sdk.encrypt(theirs, d, { suiteId })).result,
    decrypt: async (c) => (await sdk.decrypt(theirs, c)).plaintext
  }
}
const rows = await run('node', impls, sizes, budget, (n) => randomBytes(n))
for (const r of rows) console.log(r.join('\t'))
