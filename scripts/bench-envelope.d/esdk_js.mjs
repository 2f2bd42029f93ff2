// The JavaScript peer of scripts/bench-envelope: @aws-crypto/client-node (npm) encrypt and
// decrypt throughput, and its caching materials manager, measured the way the Rust bench
// measures. Pass --modules DIR, the folder whose node_modules holds the SDK (scripts/setup
// installs it under tests/interop/esdk).
// Prints TSV rows (see crates/envelope/benches/envelope.rs): `tput` and `cache`.

import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

const IMPL = 'js-esdk'
// The same wrapping key, namespace, name and context as the Rust bench.
const WRAPPING_KEY = new Uint8Array(32).fill(0x5a)
const KEY_NAMESPACE = 'bench'
const KEY_NAME = 'bench-aes-256'
const CONTEXT = { purpose: 'bench' }
const FRAME_LENGTH = 4096
const SAMPLE_MIN_MS = 20
const CACHE_MESSAGE_LEN = 100

const { values: args } = parseArgs({
  options: {
    modules: { type: 'string' },
    sizes: { type: 'string', default: '1024,65536,1048576,67108864' },
    suites: { type: 'string', default: '0478,0578' },
    'budget-ms': { type: 'string', default: '600' },
    'min-samples': { type: 'string', default: '3' },
    'cache-messages': { type: 'string', default: '0' },
  },
})
if (!args.modules) throw new Error('--modules DIR (holding node_modules/@aws-crypto/client-node) is required')

const require = createRequire(resolve(args.modules, 'package.json'))
const {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  NodeCachingMaterialsManager,
  getLocalCryptographicMaterialsCache,
} = require('@aws-crypto/client-node')

const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)

// Counts the keyring's calls, standing in for a KMS keyring.
let keyringCalls = 0
class CountingKeyring extends RawAesKeyringNode {
  async onEncrypt(material) {
    keyringCalls += 1
    return super.onEncrypt(material)
  }

  async onDecrypt(material, encryptedDataKeys) {
    keyringCalls += 1
    return super.onDecrypt(material, encryptedDataKeys)
  }
}

function keyring(Class = RawAesKeyringNode) {
  return new Class({
    keyName: KEY_NAME,
    keyNamespace: KEY_NAMESPACE,
    unencryptedMasterKey: WRAPPING_KEY,
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    // Sort the encryption context by UTF-8 bytes, as the message format requires.
    utf8Sorting: true,
  })
}

// Deterministic non-constant plaintext (its content does not change the speed).
function pattern(n) {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + Math.floor(i / 251)) & 0xff
  return out
}

// `run(n)` performs n operations and resolves to the milliseconds they took. Calibrates n
// (the warm-up), then samples until the budget is spent. Returns best and median MB/s.
async function measure(size, budgetMs, minSamples, run) {
  let n = 1
  for (;;) {
    const took = await run(n)
    if (took >= SAMPLE_MIN_MS) break
    n = Math.max(n + 1, Math.min(n * 100, Math.ceil(((n * SAMPLE_MIN_MS) / Math.max(took, 1e-4)) * 1.2)))
  }
  const rates = []
  const start = performance.now()
  while (rates.length < minSamples || performance.now() - start < budgetMs) {
    const took = await run(n)
    rates.push((size * n) / (took / 1000) / 1e6)
  }
  rates.sort((a, b) => a - b)
  return { best: rates[rates.length - 1], median: rates[Math.floor((rates.length - 1) / 2)], samples: rates.length }
}

async function timed(n, op) {
  const start = performance.now()
  for (let i = 0; i < n; i++) await op()
  return performance.now() - start
}

const hex = (id) => `0x${id.toString(16).padStart(4, '0')}`

async function benchThroughput(ring, suiteId, size, budgetMs, minSamples) {
  const plaintext = pattern(size)
  const options = { encryptionContext: CONTEXT, suiteId, frameLength: FRAME_LENGTH }
  const encryptOnce = async () => (await encrypt(ring, plaintext, options)).result
  const message = await encryptOnce()
  const check = await decrypt(ring, message)
  if (!check.plaintext.equals(plaintext)) throw new Error('round trip failed')
  const decryptOnce = () => decrypt(ring, message)
  for (const [op, fn] of [['encrypt', encryptOnce], ['decrypt', decryptOnce]]) {
    const t = await measure(size, budgetMs, minSamples, (n) => timed(n, fn))
    console.log(`tput\t${IMPL}\t${hex(suiteId)}\t${size}\t${op}\t${t.best.toFixed(3)}\t${t.median.toFixed(3)}\t${t.samples}`)
  }
}

// `count` small messages through the caching materials manager: encrypt all, then decrypt
// all. Reports keyring calls and messages per second.
async function benchCaching(suiteId, count) {
  keyringCalls = 0
  const cmm = new NodeCachingMaterialsManager({
    backingMaterials: keyring(CountingKeyring),
    cache: getLocalCryptographicMaterialsCache(100),
    maxAge: 300_000,
  })
  const plaintext = pattern(CACHE_MESSAGE_LEN)
  const options = { encryptionContext: CONTEXT, suiteId, frameLength: FRAME_LENGTH }
  let start = performance.now()
  const messages = []
  for (let i = 0; i < count; i++) messages.push((await encrypt(cmm, plaintext, options)).result)
  const encRate = count / ((performance.now() - start) / 1000)
  start = performance.now()
  for (const message of messages) await decrypt(cmm, message)
  const decRate = count / ((performance.now() - start) / 1000)
  // The JS manager keeps no count of its underlying calls: "-" for that column.
  console.log(`cache\t${IMPL}\t${hex(suiteId)}\t${count}\t-\t${keyringCalls}\t${encRate.toFixed(0)}\t${decRate.toFixed(0)}`)
}

const ring = keyring()
const suites = args.suites.split(',').map((s) => parseInt(s, 16))
const budgetMs = Number(args['budget-ms'])
const minSamples = Number(args['min-samples'])
for (const size of args.sizes.split(',').map(Number)) {
  for (const suiteId of suites) await benchThroughput(ring, suiteId, size, budgetMs, minSamples)
}
const cacheMessages = Number(args['cache-messages'])
if (cacheMessages > 0) {
  for (const suiteId of suites) await benchCaching(suiteId, cacheMessages)
}
