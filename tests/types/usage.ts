// Type-checked (never run) by scripts/test-wasm against the installed package's typings, in
// the Node and browser flavours of the exports map: the README's usage must compile.
import {
  KmsClient, KmsKeyring, RawAesKeyring, MultiKeyring, CachingMaterialsManager, PublicKey,
  encrypt, decrypt, encryptStream, decryptStream, verify, publicKeyEncrypt, ecModuleLoaded,
  type KmsError, type MessageHeader
} from 'kms-wasm'
import {
  ItemEncryptor, KmsClient as FullClient, KmsKeyring as FullKeyring, type DynamoDbItem
} from 'kms-wasm/full'

export async function usage (keyArn: string, file: Blob): Promise<void> {
  const client = new KmsClient({ endpoint: 'http://127.0.0.1:7080', region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const keyring = new KmsKeyring({ client, generatorKeyId: keyArn, keyIds: [] })
  const aes = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'k', wrappingKey: new Uint8Array(32) })
  const multi = new MultiKeyring({ generator: keyring, children: [aes] })
  const cmm = new CachingMaterialsManager({ keyring: multi, maxAge: 60_000 })
  const { result, messageHeader } = await encrypt(cmm, new TextEncoder().encode('x'),
    { encryptionContext: { a: 'b' }, suiteId: 0x0478 })
  const header: MessageHeader = messageHeader
  const { plaintext } = await decrypt(keyring, result)
  const stats: number = cmm.stats().kmsCalls + header.frameLength + plaintext.length
  const sealed: ReadableStream<Uint8Array> = file.stream().pipeThrough(encryptStream(keyring))
  sealed.pipeThrough(decryptStream(keyring, { onMessageHeader: (h) => h.suiteId }))
  const key: PublicKey = await client.getPublicKey(keyArn)
  const ok: boolean = await key.verify(plaintext, plaintext, 'ECDSA_SHA_256', 'RAW') &&
    await verify(key.spki, plaintext, plaintext, 'ECDSA_SHA_384', 'DIGEST') && ecModuleLoaded()
  const ct: Uint8Array = await publicKeyEncrypt(key.spki, plaintext, 'RSAES_OAEP_SHA_256')
  const ct2: Uint8Array = await key.encrypt(plaintext, 'RSAES_OAEP_SHA_1')
  const dk = await client.generateDataKey(keyArn)
  try { await client.generateRandom(stats) } catch (e) { console.log((e as KmsError).code, ok, ct, ct2, dk.keyId) }
  aes.free()
}

// kms-wasm/full: the client plus ItemEncryptor and the KmsClient key set-up calls.
export async function fullUsage (): Promise<void> {
  const client = new FullClient({ endpoint: 'http://127.0.0.1:7080', region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const keyId: string = (await client.createKey({ Description: 'items' })).KeyMetadata.KeyId
  const items = new ItemEncryptor(
    { tableName: 't', partitionKeyName: 'pk', attributeActions: { pk: 'SIGN_ONLY', ssn: 'ENCRYPT_AND_SIGN' } },
    new FullKeyring({ client, generatorKeyId: keyId, keyIds: [] }))
  const stored: DynamoDbItem = await items.encryptItem({ pk: { S: '1' }, ssn: { S: '123' } })
  console.log(await items.decryptItem(stored))
}
