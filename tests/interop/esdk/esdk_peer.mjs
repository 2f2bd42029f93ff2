// The official AWS Encryption SDK for JavaScript (@aws-crypto/client-node) as a test-vector
// peer of `esdk-vectors`: the same manifests, the same one-line-per-test output.
//
//   node esdk_peer.mjs encrypt --manifest ENCRYPT_MANIFEST --out DIR
//   node esdk_peer.mjs decrypt --manifest DECRYPT_MANIFEST_OR_DIR
//
// encrypt runs an `awses-encrypt` manifest with raw AES / raw RSA keyrings (a multi-keyring
// when a test lists several master keys: the first generates) and writes plaintexts/,
// ciphertexts/, keys.json and an `awses-decrypt` version 4 manifest.json into DIR. decrypt
// runs an `awses-decrypt` manifest and checks each plaintext, and that the message's
// encryption context holds the test's pairs.
//
// Decrypting RSA PKCS #1 v1.5 keys needs `node --security-revert=CVE-2023-46809` on Node 20
// (Node refuses that padding otherwise); without it such tests are skipped when
// ESDK_PEER_NO_PKCS1=1.
//
// The raw AES keyring must be built with `utf8Sorting: true`: by default it sorts the
// encryption context it authenticates with String.localeCompare, not by UTF-8 bytes as the
// spec (and the message header, and every other SDK) does, so contexts with upper-case,
// non-ASCII or astral keys fail to unwrap. ESDK_PEER_AES_UTF8_SORTING=0 turns it off, to
// show exactly that.

import { createPublicKey, constants, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import process from 'node:process'

import {
  buildClient,
  CommitmentPolicy,
  MultiKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  RawRsaKeyringNode,
} from '@aws-crypto/client-node'

const CLIENT = { name: '@aws-crypto/client-node', version: '5.0.2' }
const AES_UTF8_SORTING = process.env.ESDK_PEER_AES_UTF8_SORTING !== '0'
const NO_PKCS1 = process.env.ESDK_PEER_NO_PKCS1 === '1'

class Skip extends Error {}

function readJson (path) {
  return JSON.parse(readFileSync(path, 'utf8'))
}

function resolveUri (base, uri) {
  if (!uri.startsWith('file://')) throw new Error(`unsupported URI ${uri}`)
  const relative = uri.slice('file://'.length)
  if (isAbsolute(relative)) throw new Error(`absolute URI ${uri}`)
  return join(base, relative)
}

function loadKeys (manifest, base) {
  const keys = readJson(resolveUri(base, manifest.keys))
  if (keys.manifest?.type !== 'keys') throw new Error('not a keys manifest')
  const out = {}
  for (const [name, entry] of Object.entries(keys.keys)) {
    let material = entry.material
    if (Array.isArray(material)) material = material.join(entry['line-separator'] ?? '')
    out[name] = { ...entry, material, keyId: entry['key-id'] ?? name }
  }
  return out
}

const WRAPPING_SUITES = {
  128: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  192: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  256: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
}

/** One keyring for a master key description; null when it cannot serve `purpose`. */
function keyringFor (spec, keys, purpose) {
  if (spec.type !== 'raw') throw new Skip(`master key type ${spec.type} needs AWS KMS or is not supported`)
  const key = keys[spec.key]
  if (!key) throw new Error(`key ${spec.key} is not in the keys manifest`)
  const keyName = spec['key-id'] ?? key.keyId
  const keyNamespace = spec['provider-id']
  if (spec['encryption-algorithm'] === 'aes') {
    const bytes = Buffer.from(key.material, 'base64')
    return new RawAesKeyringNode({
      keyName,
      keyNamespace,
      unencryptedMasterKey: new Uint8Array(bytes),
      wrappingSuite: WRAPPING_SUITES[bytes.length * 8],
      utf8Sorting: AES_UTF8_SORTING,
    })
  }
  if (spec['encryption-algorithm'] !== 'rsa') throw new Skip(`raw ${spec['encryption-algorithm']}`)
  const pkcs1 = spec['padding-algorithm'] === 'pkcs1'
  if (pkcs1 && purpose === 'decrypt' && NO_PKCS1) {
    throw new Skip('this Node refuses RSA PKCS #1 v1.5 decryption (no --security-revert=CVE-2023-46809)')
  }
  const padding = pkcs1 ? constants.RSA_PKCS1_PADDING : constants.RSA_PKCS1_OAEP_PADDING
  const oaepHash = pkcs1 ? undefined : spec['padding-hash']
  let rsaKey
  if (purpose === 'encrypt') {
    const publicKey = key.type === 'private'
      ? createPublicKey(key.material).export({ type: 'spki', format: 'pem' })
      : key.material
    rsaKey = { publicKey }
  } else if (key.type === 'private') {
    rsaKey = { privateKey: key.material }
  } else {
    return null // a public key cannot decrypt; another entry of the test must
  }
  return new RawRsaKeyringNode({ keyName, keyNamespace, rsaKey, padding, oaepHash })
}

function keyringForTest (masterKeys, keys, purpose) {
  const keyrings = masterKeys.map((spec) => keyringFor(spec, keys, purpose)).filter((k) => k)
  if (keyrings.length === 0) throw new Error('no master key of this test can decrypt')
  if (keyrings.length === 1) return keyrings[0]
  if (purpose === 'encrypt') {
    const [generator, ...children] = keyrings
    return new MultiKeyringNode({ generator, children })
  }
  return new MultiKeyringNode({ children: keyrings })
}

function isCommitting (suiteId) {
  return suiteId === 0x0478 || suiteId === 0x0578
}

async function runEncrypt (manifestPath, outDir) {
  const manifest = readJson(manifestPath)
  if (manifest.manifest?.type !== 'awses-encrypt') throw new Error('not an awses-encrypt manifest')
  const base = dirname(manifestPath)
  const keys = loadKeys(manifest, base)
  mkdirSync(join(outDir, 'plaintexts'), { recursive: true })
  mkdirSync(join(outDir, 'ciphertexts'), { recursive: true })
  writeFileSync(join(outDir, 'keys.json'), readFileSync(resolveUri(base, manifest.keys)))
  const plaintexts = {}
  for (const [name, size] of Object.entries(manifest.plaintexts)) {
    plaintexts[name] = randomBytes(size)
    writeFileSync(join(outDir, 'plaintexts', name), plaintexts[name])
  }
  const written = {}
  const results = []
  for (const [id, test] of Object.entries(manifest.tests)) {
    const frameLength = test['frame-size']
    try {
      if (frameLength === 0) throw new Skip('non-framed messages: the JS ESDK writes framed messages only')
      if ((test.cmm ?? 'Default') !== 'Default') throw new Skip(`cmm ${test.cmm}`)
      const suiteId = parseInt(test.algorithm, 16)
      const policy = isCommitting(suiteId)
        ? CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
        : CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
      const { encrypt } = buildClient(policy)
      const keyring = keyringForTest(test['master-keys'], keys, 'encrypt')
      const encryptionContext = test['encryption-context'] ?? {}
      const { result } = await encrypt(keyring, plaintexts[test.plaintext], {
        suiteId,
        frameLength,
        encryptionContext,
      })
      writeFileSync(join(outDir, 'ciphertexts', id), result)
      written[id] = {
        ciphertext: `file://ciphertexts/${id}`,
        'master-keys': test['master-keys'],
        cmm: 'Default',
        'encryption-context': encryptionContext,
        result: { output: { plaintext: `file://plaintexts/${test.plaintext}` } },
      }
      results.push([id, 'PASS'])
    } catch (e) {
      results.push([id, e instanceof Skip ? 'SKIP' : 'FAIL', e.message])
    }
  }
  const decryptManifest = {
    manifest: { type: 'awses-decrypt', version: 4 },
    client: CLIENT,
    keys: 'file://keys.json',
    tests: written,
  }
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(decryptManifest, null, 2))
  return results
}

async function runDecrypt (manifestPath) {
  if (existsSync(manifestPath) && statSync(manifestPath).isDirectory()) {
    manifestPath = join(manifestPath, 'manifest.json')
  }
  const manifest = readJson(manifestPath)
  if (manifest.manifest?.type !== 'awses-decrypt') throw new Error('not an awses-decrypt manifest')
  const base = dirname(manifestPath)
  const keys = loadKeys(manifest, base)
  const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
  const results = []
  for (const [id, test] of Object.entries(manifest.tests)) {
    try {
      if ((test.cmm ?? 'Default') !== 'Default') throw new Skip(`cmm ${test.cmm}`)
      const keyring = keyringForTest(test['master-keys'], keys, 'decrypt')
      const ciphertext = readFileSync(resolveUri(base, test.ciphertext))
      const expected = test.result?.output?.plaintext ?? test.plaintext
      let outcome
      try {
        outcome = await decrypt(keyring, ciphertext)
      } catch (e) {
        if (test.result?.error) {
          results.push([id, 'PASS'])
          continue
        }
        throw new Error(`decryption failed: ${e.message}`)
      }
      if (!expected) throw new Error('decrypted, but the manifest expects an error')
      const want = readFileSync(resolveUri(base, expected))
      if (!want.equals(outcome.plaintext)) {
        throw new Error(`the plaintext differs (${outcome.plaintext.length} bytes, expected ${want.length})`)
      }
      const context = outcome.messageHeader.encryptionContext
      for (const [k, v] of Object.entries(test['encryption-context'] ?? {})) {
        if (context[k] !== v) throw new Error(`encryption context pair ${JSON.stringify(k)} is missing or differs`)
      }
      results.push([id, 'PASS'])
    } catch (e) {
      results.push([id, e instanceof Skip ? 'SKIP' : 'FAIL', e.message])
    }
  }
  return results
}

function report (results) {
  const counts = { PASS: 0, FAIL: 0, SKIP: 0 }
  for (const [id, status, reason] of results) {
    counts[status] += 1
    console.log(reason === undefined ? `${status} ${id}` : `${status} ${id}: ${reason}`)
  }
  console.log(`${counts.PASS} passed, ${counts.FAIL} failed, ${counts.SKIP} skipped`)
  return counts.FAIL === 0 ? 0 : 1
}

function option (args, name) {
  const i = args.indexOf(name)
  if (i < 0 || i + 1 >= args.length) throw new Error(`${name} is required`)
  return args[i + 1]
}

async function main (args) {
  const [command, ...rest] = args
  if (command === 'encrypt') {
    return report(await runEncrypt(option(rest, '--manifest'), option(rest, '--out')))
  }
  if (command === 'decrypt') {
    return report(await runDecrypt(option(rest, '--manifest')))
  }
  throw new Error('usage: esdk_peer.mjs encrypt --manifest M --out DIR | decrypt --manifest M')
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code },
  (e) => {
    console.error(`esdk_peer.mjs: ${e.message}`)
    process.exitCode = 2
  },
)
