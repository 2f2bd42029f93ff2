// Bulk AES-GCM: the Rust path and the WebCrypto path (option bulkCrypto) write the same
// format and read each other's messages, one-shot and streamed; @aws-crypto/client-node reads
// WebCrypto-path messages and the WebCrypto path reads its messages; tampering is refused on
// the WebCrypto path; a 1 GiB stream runs through encryptStream -> decryptStream in bounded
// memory. No server needed (raw AES keyrings).
// KMS_WASM_REPO: the repository (for tests/interop/esdk/node_modules).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { randomBytes, createHash } from 'node:crypto'

import { RawAesKeyring, encrypt, decrypt, encryptStream, decryptStream } from 'kms-wasm'
import { collect, chunked } from './streams.mjs'

const repo = process.env.KMS_WASM_REPO
if (!repo) throw new Error('KMS_WASM_REPO is not set')
const esdk = createRequire(join(repo, 'tests/interop/esdk/package.json'))('@aws-crypto/client-node')

const wrappingKey = randomBytes(32)
const keyring = new RawAesKeyring({ keyNamespace: 'bulk', keyName: 'key', wrappingKey })
const MODES = ['rust', 'webcrypto', 'auto']

const same = (a, b) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)

test('each path decrypts what the other encrypts, one-shot, for signed and unsigned suites', async () => {
  for (const suiteId of [0x0578, 0x0478]) {
    for (const n of [0, 1, 4095, 4096, 4097, 300_001]) {
      const data = randomBytes(n)
      for (const enc of MODES) {
        const { result } = await encrypt(keyring, data, { suiteId, bulkCrypto: enc })
        for (const dec of MODES) {
          const { plaintext } = await decrypt(keyring, result, { bulkCrypto: dec })
          assert.ok(same(plaintext, data), `suite ${suiteId} n ${n} ${enc} -> ${dec}`)
        }
      }
    }
  }
})

test('non-committing suites and odd frame lengths on the WebCrypto path', async () => {
  const policy = 'FORBID_ENCRYPT_ALLOW_DECRYPT'
  const data = randomBytes(70_000)
  for (const suiteId of [0x0014, 0x0046, 0x0078, 0x0114, 0x0346, 0x0378]) {
    for (const frameLength of [1024, 5000, 65_536]) {
      const { result } = await encrypt(keyring, data, { suiteId, frameLength, commitmentPolicy: policy, bulkCrypto: 'webcrypto' })
      const { plaintext } = await decrypt(keyring, result, { commitmentPolicy: policy, bulkCrypto: 'rust' })
      assert.ok(same(plaintext, data), `suite ${suiteId} frame ${frameLength}`)
    }
  }
})

test('streams on either path interoperate, in odd chunk sizes', async () => {
  const data = randomBytes(1_000_003)
  for (const enc of MODES) {
    const ct = await collect(chunked(data, 65_537).pipeThrough(encryptStream(keyring, { bulkCrypto: enc })))
    for (const dec of MODES) {
      const pt = await collect(chunked(ct, 100_001).pipeThrough(decryptStream(keyring, { bulkCrypto: dec })))
      assert.ok(same(pt, data), `${enc} -> ${dec}`)
    }
    // Chunks smaller than a frame: the auto path stays on Rust for them, then switches.
    const small = await collect(chunked(ct, 1000).pipeThrough(decryptStream(keyring)))
    assert.ok(same(small, data))
  }
})

test('@aws-crypto/client-node reads WebCrypto-path messages, and the WebCrypto path reads its messages', async () => {
  const theirs = new esdk.RawAesKeyringNode({
    keyName: 'key',
    keyNamespace: 'bulk',
    unencryptedMasterKey: new Uint8Array(wrappingKey),
    wrappingSuite: esdk.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING
  })
  const sdk = esdk.buildClient(esdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const data = randomBytes(1 << 20)
  for (const suiteId of [0x0578, 0x0478]) {
    const { result } = await encrypt(keyring, data, { suiteId, bulkCrypto: 'webcrypto', encryptionContext: { a: 'b' } })
    assert.ok((await sdk.decrypt(theirs, result)).plaintext.equals(data), `theirs decrypts ours, ${suiteId}`)
    const ct = (await sdk.encrypt(theirs, data, { suiteId, encryptionContext: { c: 'd' } })).result
    assert.ok(same((await decrypt(keyring, ct, { bulkCrypto: 'webcrypto' })).plaintext, data), `ours decrypts theirs, ${suiteId}`)
    const streamed = await collect(chunked(ct, 70_000).pipeThrough(decryptStream(keyring, { bulkCrypto: 'webcrypto' })))
    assert.ok(same(streamed, data))
  }
})

test('tampered tags and frames are DecryptionFailed on the WebCrypto path', async () => {
  const data = randomBytes(64 * 1024)
  const FRAME = 4 + 12 + 4096 + 16
  const FINAL = 4 + 4 + 12 + 4 + 4096 + 16
  for (const suiteId of [0x0478, 0x0578]) {
    const { result } = await encrypt(keyring, data, { suiteId, bulkCrypto: 'webcrypto' })
    const view = Buffer.from(result.buffer, result.byteOffset, result.length)
    // 15 frames and a full final frame, then (signed) a footer of 2 + 102..104 bytes.
    const sigLen = suiteId === 0x0578 ? [102, 103, 104].find((l) => view.readUInt16BE(view.length - l - 2) === l) : -2
    const bodyStart = view.length - (sigLen + 2) - 15 * FRAME - FINAL
    // The last tag byte of frame 1, and a ciphertext byte of frame 8.
    for (const [frame, at] of [[1, bodyStart + FRAME - 1], [8, bodyStart + 7 * FRAME + 16 + 100]]) {
      const bad = Uint8Array.from(result)
      bad[at] ^= 0x40
      await assert.rejects(decrypt(keyring, bad, { bulkCrypto: 'webcrypto' }),
        (e) => e.name === 'KmsError' && e.code === 'DecryptionFailed', `suite ${suiteId} frame ${frame}`)
      const got = []
      await assert.rejects(async () => {
        for await (const c of chunked(bad, 8192).pipeThrough(decryptStream(keyring, { bulkCrypto: 'webcrypto' }))) got.push(c)
      }, (e) => e.code === 'DecryptionFailed')
      const released = got.reduce((n, c) => n + c.length, 0)
      assert.ok(released <= (frame - 1) * 4096, 'nothing of the bad frame or after it is released')
    }
  }
})

test('a signed stream on the WebCrypto path withholds its final frame until the signature verifies', async () => {
  const data = randomBytes(100_000)
  const { result } = await encrypt(keyring, data, { frameLength: 4096 })
  const bad = Uint8Array.from(result)
  bad[bad.length - 10] ^= 1
  const got = []
  await assert.rejects(async () => {
    for await (const c of chunked(bad, 16_384).pipeThrough(decryptStream(keyring, { bulkCrypto: 'webcrypto' }))) got.push(c)
  }, (e) => e.code === 'DecryptionFailed')
  const released = got.reduce((n, c) => n + c.length, 0)
  assert.ok(released <= data.length - (data.length % 4096), 'the final frame is never released')
})

test('the caller\'s arrays are left alone and may change while a call is pending', async () => {
  const data = randomBytes(3 << 20)
  const copy = Buffer.from(data)
  for (const bulkCrypto of ['rust', 'webcrypto']) {
    const pending = encrypt(keyring, data, { bulkCrypto })
    data.fill(7)
    const { result } = await pending
    data.set(copy)
    const ct = Buffer.from(result)
    const back = decrypt(keyring, ct, { bulkCrypto })
    ct.fill(0)
    assert.ok(same((await back).plaintext, copy), bulkCrypto)
    assert.ok(data.equals(copy), 'a Buffer argument is not wiped')
  }
})

test('bulkCrypto is checked', async () => {
  assert.throws(() => encrypt(keyring, new Uint8Array(1), { bulkCrypto: 'gpu' }), (e) => e.code === 'ValidationException')
  assert.throws(() => decryptStream(keyring, { bulkCrypto: 1 }), (e) => e.code === 'ValidationException')
})

test('a 1 GiB stream runs through encryptStream -> decryptStream in bounded memory', async (t) => {
  const CHUNK = 1 << 20
  const CHUNKS = 1024
  const base = randomBytes(CHUNK)
  const sent = createHash('sha256')
  const received = createHash('sha256')
  let produced = 0
  const source = new ReadableStream({
    pull (controller) {
      if (produced === CHUNKS) { controller.close(); return }
      const chunk = Uint8Array.from(base)
      new DataView(chunk.buffer).setUint32(0, produced)
      sent.update(chunk)
      produced++
      controller.enqueue(chunk)
    }
  }, { highWaterMark: 1 })
  // 64 KiB frames: 16,384 WebCrypto calls each way instead of 262,144 (the default 4 KiB
  // frames are covered above); CI time stays near 20 s. Memory is sampled every 32 MiB of
  // output (counted, not timed).
  const start = process.memoryUsage()
  let peakRss = start.rss
  let peakBuffers = start.arrayBuffers
  let total = 0
  let sinceSample = 0
  const sink = new WritableStream({
    write (chunk) {
      received.update(chunk)
      total += chunk.length
      sinceSample += chunk.length
      if (sinceSample >= 32 << 20) {
        sinceSample = 0
        const m = process.memoryUsage()
        peakRss = Math.max(peakRss, m.rss)
        peakBuffers = Math.max(peakBuffers, m.arrayBuffers)
      }
    }
  })
  await source
    .pipeThrough(encryptStream(keyring, { suiteId: 0x0478, frameLength: 65_536 }))
    .pipeThrough(decryptStream(keyring))
    .pipeTo(sink)
  assert.equal(total, CHUNK * CHUNKS)
  assert.equal(received.digest('hex'), sent.digest('hex'))
  const MiB = 1 << 20
  const grew = (a, b) => `${((a - b) / MiB).toFixed(0)} MiB`
  t.diagnostic(`rss +${grew(peakRss, start.rss)}, arrayBuffers +${grew(peakBuffers, start.arrayBuffers)} (peak over start)`)
  // A few chunks in flight on each side plus the wasm heap: far below the 1 GiB streamed.
  assert.ok(peakRss - start.rss < 256 * MiB, `rss grew by ${((peakRss - start.rss) / MiB).toFixed(0)} MiB`)
  assert.ok(peakBuffers - start.arrayBuffers < 128 * MiB, `arrayBuffers grew by ${((peakBuffers - start.arrayBuffers) / MiB).toFixed(0)} MiB`)
})
