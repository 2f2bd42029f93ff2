// publicKeyEncrypt, verify and the raw RSA keyring with keys and signatures made by
// node:crypto. RAW verification and RSA-OAEP run in WebCrypto, DIGEST verification in
// kms-envelope's verifier (RustCrypto crates): every algorithm is checked both ways,
// tampering must fail.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, privateDecrypt, constants, sign, createHash, randomBytes, ECDH } from 'node:crypto'

import { publicKeyEncrypt, verify, PublicKey, RawRsaKeyring, encrypt, decrypt } from 'kms-wasm'

const spkiOf = (k) => k.export({ type: 'spki', format: 'der' })
const flip = (b, i) => { const c = Buffer.from(b); c[i] ^= 1; return c }

test('publicKeyEncrypt output decrypts with the private key; KMS size limits apply', async () => {
  for (const [bits, sha1Max, sha256Max] of [[2048, 214, 190], [3072, 342, 318], [4096, 470, 446]]) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits })
    const spki = spkiOf(publicKey)
    const key = PublicKey.fromSpki(spki)
    for (const [alg, hash, max] of [['RSAES_OAEP_SHA_1', 'sha1', sha1Max], ['RSAES_OAEP_SHA_256', 'sha256', sha256Max]]) {
      const pt = randomBytes(max)
      for (const ct of [await publicKeyEncrypt(spki, pt, alg), await key.encrypt(pt, alg)]) {
        assert.ok(ct instanceof Uint8Array)
        assert.equal(ct.length, bits / 8)
        const back = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ct)
        assert.ok(back.equals(pt))
      }
      await assert.rejects(publicKeyEncrypt(spki, randomBytes(max + 1), alg),
        (e) => e.code === 'ValidationException' && e.message.includes(`cannot encrypt data larger than ${max} bytes`))
      await assert.rejects(publicKeyEncrypt(spki, new Uint8Array(0), alg), (e) => e.code === 'ValidationException')
    }
    await assert.rejects(publicKeyEncrypt(spki, randomBytes(8), 'RSAES_PKCS1_V1_5'), (e) => e.code === 'ValidationException')
  }
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  await assert.rejects(publicKeyEncrypt(spkiOf(publicKey), randomBytes(8), 'RSAES_OAEP_SHA_256'))
  await assert.rejects(publicKeyEncrypt(Buffer.from('junk'), randomBytes(8), 'RSAES_OAEP_SHA_256'), (e) => e.code === 'InvalidKey')
})

test('verify: every KMS signing algorithm, RAW and DIGEST, every RSA size; tampering fails', async () => {
  const msg = Buffer.from('the message KMS signed')
  for (const bits of [2048, 3072, 4096]) {
    const rsa = generateKeyPairSync('rsa', { modulusLength: bits })
    const spki = spkiOf(rsa.publicKey)
    for (const h of ['256', '384', '512']) {
      const hash = `sha${h}`
      const digest = createHash(hash).update(msg).digest()
      const pss = sign(hash, msg, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(h) / 8 })
      const pkcs = sign(hash, msg, rsa.privateKey)
      for (const [alg, sig] of [[`RSASSA_PSS_SHA_${h}`, pss], [`RSASSA_PKCS1_V1_5_SHA_${h}`, pkcs]]) {
        const label = `RSA_${bits} ${alg}`
        assert.equal(await verify(spki, msg, sig, alg, 'RAW'), true, label)
        assert.equal(await verify(spki, msg, sig, alg), true, label)
        assert.equal(await verify(spki, digest, sig, alg, 'DIGEST'), true, label)
        assert.equal(await verify(spki, Buffer.from('tampered'), sig, alg), false, label)
        assert.equal(await verify(spki, flip(digest, 0), sig, alg, 'DIGEST'), false, label)
        for (const i of [0, sig.length >> 1, sig.length - 1]) {
          assert.equal(await verify(spki, msg, flip(sig, i), alg, 'RAW'), false, `${label} byte ${i}`)
          assert.equal(await verify(spki, digest, flip(sig, i), alg, 'DIGEST'), false, `${label} byte ${i}`)
        }
        assert.equal(await verify(spki, digest, sig.subarray(1), alg, 'DIGEST'), false, label)
      }
      // PSS and PKCS #1 v1.5 signatures are not interchangeable.
      assert.equal(await verify(spki, msg, pkcs, `RSASSA_PSS_SHA_${h}`), false)
      assert.equal(await verify(spki, digest, pss, `RSASSA_PKCS1_V1_5_SHA_${h}`, 'DIGEST'), false)
    }
  }
  for (const [curve, alg, hash] of [['P-256', 'ECDSA_SHA_256', 'sha256'], ['P-384', 'ECDSA_SHA_384', 'sha384'],
    ['P-521', 'ECDSA_SHA_512', 'sha512']]) {
    for (let round = 0; round < 3; round++) {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve })
      const spki = spkiOf(publicKey)
      const m = Buffer.from(`${msg} ${round}`)
      const digest = createHash(hash).update(m).digest()
      const sig = sign(hash, m, privateKey) // DER, as KMS returns
      assert.equal(await verify(spki, m, sig, alg, 'RAW'), true, alg)
      assert.equal(await verify(spki, digest, sig, alg, 'DIGEST'), true, alg)
      const bad = flip(sig, sig.length - 3)
      assert.equal(await verify(spki, m, bad, alg), false, alg)
      assert.equal(await verify(spki, digest, bad, alg, 'DIGEST'), false, alg)
      assert.equal(await verify(spki, flip(digest, 5), sig, alg, 'DIGEST'), false, alg)
      assert.equal(await verify(spki, flip(m, 0), sig, alg, 'RAW'), false, alg)
      assert.equal(await verify(spki, m, Buffer.from('not der'), alg), false, alg)
      assert.equal(await verify(spki, digest, Buffer.from('not der'), alg, 'DIGEST'), false, alg)
      // The wrong algorithm for the curve, and a digest of the wrong length, are errors.
      const other = alg === 'ECDSA_SHA_256' ? 'ECDSA_SHA_384' : 'ECDSA_SHA_256'
      await assert.rejects(verify(spki, m, sig, other), (e) => e.code === 'ValidationException')
      await assert.rejects(verify(spki, Buffer.alloc(20), sig, alg, 'DIGEST'), (e) => e.code === 'ValidationException')
    }
  }
  await assert.rejects(verify(Buffer.from('junk'), msg, msg, 'ECDSA_SHA_256'), (e) => e.code === 'InvalidKey')
})

// A DER element with a short length (enough for the SPKI of a compressed point).
const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from([tag, body.length]), body])
}

test('verify: compressed EC points (SPKI built by hand), RAW and DIGEST', async () => {
  const ecOid = Buffer.from('2a8648ce3d0201', 'hex')
  for (const [curve, ecdhName, oid, alg, hash] of [
    ['P-256', 'prime256v1', '2a8648ce3d030107', 'ECDSA_SHA_256', 'sha256'],
    ['P-384', 'secp384r1', '2b81040022', 'ECDSA_SHA_384', 'sha384'],
    ['P-521', 'secp521r1', '2b81040023', 'ECDSA_SHA_512', 'sha512']]) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve })
    const uncompressed = spkiOf(publicKey).subarray(-(2 * ({ 'P-256': 32, 'P-384': 48, 'P-521': 66 })[curve] + 1))
    const point = ECDH.convertKey(uncompressed, ecdhName, undefined, undefined, 'compressed')
    const spki = tlv(0x30, tlv(0x30, tlv(0x06, ecOid), tlv(0x06, Buffer.from(oid, 'hex'))),
      tlv(0x03, Buffer.from([0]), point))
    const key = PublicKey.fromSpki(spki)
    assert.deepEqual(key.signingAlgorithms, [alg])
    const m = Buffer.from(`compressed ${curve}`)
    const digest = createHash(hash).update(m).digest()
    const sig = sign(hash, m, privateKey)
    assert.equal(await key.verify(m, sig, alg, 'RAW'), true, curve)
    assert.equal(await key.verify(digest, sig, alg, 'DIGEST'), true, curve)
    assert.equal(await key.verify(flip(m, 0), sig, alg, 'RAW'), false, curve)
    assert.equal(await key.verify(flip(digest, 0), sig, alg, 'DIGEST'), false, curve)
    // The identity point and the compact form (0x05 || x) are not keys.
    for (const bad of [Buffer.from([0]), Buffer.concat([Buffer.from([5]), point.subarray(1)])]) {
      const badSpki = tlv(0x30, tlv(0x30, tlv(0x06, ecOid), tlv(0x06, Buffer.from(oid, 'hex'))),
        tlv(0x03, Buffer.from([0]), bad))
      assert.throws(() => PublicKey.fromSpki(badSpki), (e) => e.code === 'InvalidKey', curve)
    }
  }
})

test('PublicKey.fromSpki parses once and verifies many', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const key = PublicKey.fromSpki(spkiOf(publicKey))
  assert.equal(key.keySpec, 'ECC_NIST_P384')
  assert.deepEqual(key.signingAlgorithms, ['ECDSA_SHA_384'])
  assert.equal(key.keyId, undefined)
  for (let i = 0; i < 5; i++) {
    const m = Buffer.from(`m${i}`)
    assert.equal(await key.verify(m, sign('sha384', m, privateKey), 'ECDSA_SHA_384'), true)
  }
  assert.throws(() => PublicKey.fromSpki(Buffer.from('junk')), (e) => e.code === 'InvalidKey')
})

test('raw RSA keyring (WebCrypto OAEP): every OAEP padding both ways, node:crypto opens its data keys, PKCS1 refused', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pem = publicKey.export({ type: 'spki', format: 'pem' })
  const pkcs8Pem = privateKey.export({ type: 'pkcs8', format: 'pem' })
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' })
  const data = randomBytes(3000)
  for (const [padding, hash] of [['OAEP_SHA1_MGF1', 'sha1'], ['OAEP_SHA256_MGF1', 'sha256'],
    ['OAEP_SHA384_MGF1', 'sha384'], ['OAEP_SHA512_MGF1', 'sha512']]) {
    const sender = new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', publicKey: pem, padding })
    const receiver = new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', privateKey: pkcs8, padding })
    const both = new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', publicKey: spkiOf(publicKey), privateKey: pkcs8Pem, padding })
    const { result, messageHeader } = await encrypt(sender, data, { suiteId: 0x0478 })
    assert.ok(Buffer.from((await decrypt(receiver, result)).plaintext).equals(data), padding)
    const again = await encrypt(both, data, { suiteId: 0x0478 })
    assert.ok(Buffer.from((await decrypt(both, again.result)).plaintext).equals(data), padding)
    // The encrypted data key is plain RSA-OAEP of the 32-byte data key: node:crypto opens it.
    const edk = messageHeader.encryptedDataKeys[0]
    const dataKey = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, edk.encryptedDataKey)
    assert.equal(dataKey.length, 32, padding)
    // A key wrapped by node:crypto unwraps here only with the right padding.
    const wrongPadding = padding === 'OAEP_SHA1_MGF1' ? 'OAEP_SHA256_MGF1' : 'OAEP_SHA1_MGF1'
    const wrong = new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', privateKey: pkcs8, padding: wrongPadding })
    await assert.rejects(decrypt(wrong, result), (e) => e.code === 'NoDecryptableDataKey')
  }
  // An encrypt-only keyring cannot decrypt; a decrypt-only one cannot encrypt.
  const encOnly = new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', publicKey: pem })
  const decOnly = new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', privateKey: pkcs8 })
  const { result } = await encrypt(encOnly, data, { suiteId: 0x0478 })
  await assert.rejects(decrypt(encOnly, result))
  await assert.rejects(encrypt(decOnly, data, { suiteId: 0x0478 }))
  assert.ok(Buffer.from((await decrypt(decOnly, result)).plaintext).equals(data))
  assert.throws(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', publicKey: pem, padding: 'PKCS1' }),
    (e) => e.code === 'UnsupportedOperationException' && /PKCS #1 v1\.5/.test(e.message))
  assert.throws(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', publicKey: Buffer.from('junk') }),
    (e) => e.code === 'InvalidKey')
  assert.throws(() => new RawRsaKeyring({ keyNamespace: 'ns', keyName: 'rsa', privateKey: 'not a pem' }),
    (e) => e.code === 'InvalidKey')
})
