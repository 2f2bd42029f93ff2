// publicKeyEncrypt and verify with keys and signatures made by node:crypto.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, privateDecrypt, constants, sign, createHash, randomBytes } from 'node:crypto'

import { publicKeyEncrypt, verify, PublicKey } from 'kms-wasm'

const spkiOf = (k) => k.export({ type: 'spki', format: 'der' })

test('publicKeyEncrypt output decrypts with the private key; KMS size limits apply', () => {
  for (const [bits, sha1Max, sha256Max] of [[2048, 214, 190], [3072, 342, 318]]) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits })
    const spki = spkiOf(publicKey)
    for (const [alg, hash, max] of [['RSAES_OAEP_SHA_1', 'sha1', sha1Max], ['RSAES_OAEP_SHA_256', 'sha256', sha256Max]]) {
      const pt = randomBytes(max)
      const ct = publicKeyEncrypt(spki, pt, alg)
      assert.equal(ct.length, bits / 8)
      const back = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ct)
      assert.ok(back.equals(pt))
      assert.throws(() => publicKeyEncrypt(spki, randomBytes(max + 1), alg),
        (e) => e.code === 'ValidationException' && e.message.includes(`cannot encrypt data larger than ${max} bytes`))
    }
  }
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  assert.throws(() => publicKeyEncrypt(spkiOf(publicKey), randomBytes(8), 'RSAES_OAEP_SHA_256'))
})

test('verify: every KMS signing algorithm, RAW and DIGEST', () => {
  const msg = Buffer.from('the message KMS signed')
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  for (const h of ['256', '384', '512']) {
    const hash = `sha${h}`
    const digest = createHash(hash).update(msg).digest()
    const pss = sign(hash, msg, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(h) / 8 })
    const pkcs = sign(hash, msg, rsa.privateKey)
    const spki = spkiOf(rsa.publicKey)
    assert.equal(verify(spki, msg, pss, `RSASSA_PSS_SHA_${h}`, 'RAW'), true)
    assert.equal(verify(spki, digest, pss, `RSASSA_PSS_SHA_${h}`, 'DIGEST'), true)
    assert.equal(verify(spki, msg, pkcs, `RSASSA_PKCS1_V1_5_SHA_${h}`), true)
    assert.equal(verify(spki, digest, pkcs, `RSASSA_PKCS1_V1_5_SHA_${h}`, 'DIGEST'), true)
    assert.equal(verify(spki, Buffer.from('tampered'), pkcs, `RSASSA_PKCS1_V1_5_SHA_${h}`), false)
    assert.equal(verify(spki, msg, pkcs, `RSASSA_PSS_SHA_${h}`), false)
  }
  for (const [curve, alg, hash] of [['P-256', 'ECDSA_SHA_256', 'sha256'], ['P-384', 'ECDSA_SHA_384', 'sha384'],
    ['P-521', 'ECDSA_SHA_512', 'sha512']]) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve })
    const spki = spkiOf(publicKey)
    const sig = sign(hash, msg, privateKey) // DER, as KMS returns
    assert.equal(verify(spki, msg, sig, alg, 'RAW'), true, alg)
    assert.equal(verify(spki, createHash(hash).update(msg).digest(), sig, alg, 'DIGEST'), true, alg)
    const bad = Buffer.from(sig)
    bad[bad.length - 3] ^= 1
    assert.equal(verify(spki, msg, bad, alg), false, alg)
    assert.equal(verify(spki, msg, Buffer.from('not der'), alg), false, alg)
    // The wrong algorithm for the curve, and a digest of the wrong length, are errors.
    const other = alg === 'ECDSA_SHA_256' ? 'ECDSA_SHA_384' : 'ECDSA_SHA_256'
    assert.throws(() => verify(spki, msg, sig, other), (e) => e.code === 'ValidationException')
    assert.throws(() => verify(spki, Buffer.alloc(20), sig, alg, 'DIGEST'), (e) => e.code === 'ValidationException')
  }
})

test('PublicKey.fromSpki parses once and verifies many', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const key = PublicKey.fromSpki(spkiOf(publicKey))
  assert.equal(key.keySpec, 'ECC_NIST_P384')
  assert.deepEqual(key.signingAlgorithms, ['ECDSA_SHA_384'])
  assert.equal(key.keyId, undefined)
  for (let i = 0; i < 5; i++) {
    const m = Buffer.from(`m${i}`)
    assert.equal(key.verify(m, sign('sha384', m, privateKey), 'ECDSA_SHA_384'), true)
  }
  assert.throws(() => PublicKey.fromSpki(Buffer.from('junk')), (e) => e.code === 'InvalidKey')
})
