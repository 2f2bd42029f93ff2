// The demo page: set up a KMS key, encrypt a sample customer item attribute by attribute
// with kms-wasm's ItemEncryptor, show the stored form, tamper with it, and count the KMS
// calls of a batch with and without the caching materials manager.
import init, {
  KmsClient, KmsKeyring, CachingMaterialsManager, ItemEncryptor
} from '/pkg/web/kms_wasm_full.js'
import { explain } from './errors.js'

const ACTIONS = ['ENCRYPT_AND_SIGN', 'SIGN_ONLY', 'SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT', 'DO_NOTHING']
const UNSIGNED_PREFIX = 'x_'
const SAMPLE = [
  ['pk', 'S', 'customer#1001', 'SIGN_ONLY'],
  ['sk', 'S', 'profile', 'SIGN_ONLY'],
  ['name', 'S', 'Ada Lovelace', 'SIGN_ONLY'],
  ['email', 'S', 'ada@example.com', 'ENCRYPT_AND_SIGN'],
  ['ssn', 'S', '123-45-6789', 'ENCRYPT_AND_SIGN'],
  ['card', 'S', '4111 1111 1111 1111', 'ENCRYPT_AND_SIGN'],
  ['x_last_login', 'S', '2026-12-05T07:00:00Z', 'DO_NOTHING']
]

const $ = (id) => document.getElementById(id)
const state = { client: null, keyring: null, keyArn: null, enabled: true, stored: null, session: null }

// ---------- status and errors ----------

function status (text) {
  $('status').textContent = text
}

function showError (error) {
  const box = $('error')
  box.textContent = explain(error, $('endpoint').value)
  box.hidden = false
  status('Stopped: see the message below.')
}

function clearError () {
  $('error').hidden = true
  $('error').textContent = ''
}

/** Runs `task` with the buttons disabled; shows its error in plain words. */
async function busy (label, task) {
  clearError()
  status(label)
  document.body.setAttribute('aria-busy', 'true')
  const buttons = [...document.querySelectorAll('button')]
  const was = buttons.map((b) => b.disabled)
  buttons.forEach((b) => { b.disabled = true })
  try {
    await task()
  } catch (error) {
    showError(error)
  } finally {
    buttons.forEach((b, i) => { b.disabled = was[i] })
    enableActions()
    document.body.removeAttribute('aria-busy')
  }
}

function enableActions () {
  const ready = state.keyring !== null
  $('encrypt').disabled = !ready
  $('batch').disabled = !ready
  $('toggle-key').disabled = !ready
  $('decrypt').disabled = !ready || state.stored === null
  $('tamper').disabled = !ready || state.stored === null
}

// ---------- the item table ----------

function renderAttributes () {
  const body = $('attributes').querySelector('tbody')
  for (const [name, type, value, action] of SAMPLE) {
    const row = document.createElement('tr')
    row.dataset.name = name
    const id = (what) => `attr-${name}-${what}`
    row.innerHTML = `
      <th scope="row"><code>${name}</code></th>
      <td><label class="visually-hidden" for="${id('type')}">Type of ${name}</label>
        <select id="${id('type')}" data-k="type"><option>S</option><option>N</option></select></td>
      <td><label class="visually-hidden" for="${id('value')}">Value of ${name}</label>
        <input id="${id('value')}" data-k="value"></td>
      <td><label class="visually-hidden" for="${id('action')}">Action for ${name}</label>
        <select id="${id('action')}" data-k="action">${ACTIONS.map((a) => `<option>${a}</option>`).join('')}</select></td>`
    row.querySelector('[data-k=type]').value = type
    row.querySelector('[data-k=value]').value = value
    row.querySelector('[data-k=action]').value = action
    body.append(row)
  }
}

function rows () {
  return [...$('attributes').querySelectorAll('tbody tr')].map((row) => ({
    name: row.dataset.name,
    type: row.querySelector('[data-k=type]').value,
    value: row.querySelector('[data-k=value]').value,
    action: row.querySelector('[data-k=action]').value
  }))
}

function currentItem () {
  return Object.fromEntries(rows().map(({ name, type, value }) => [name, { [type]: value }]))
}

function currentConfig () {
  return {
    tableName: $('table-name').value,
    partitionKeyName: 'pk',
    sortKeyName: 'sk',
    attributeActions: Object.fromEntries(rows().map(({ name, action }) => [name, action])),
    allowedUnsignedAttributePrefix: UNSIGNED_PREFIX,
    keyringContext: $('keyring-context').value,
    algorithmSuite: $('suite').value
  }
}

/** DynamoDB JSON, one attribute per line, the header and footer last. */
function show (id, item) {
  const names = Object.keys(item).sort((a, b) => {
    const rank = (n) => (n.startsWith('aws_dbe_') ? 1 : 0)
    return rank(a) - rank(b) || a.localeCompare(b)
  })
  const lines = names.map((n) => `  ${JSON.stringify(n)}: ${JSON.stringify(item[n])}`)
  $(id).textContent = `{\n${lines.join(',\n')}\n}`
}

// ---------- key set-up ----------

async function useKey (event) {
  event.preventDefault()
  await busy('Connecting to kms-server…', async () => {
    await renewSessionIfDue()
    const form = new FormData($('setup'))
    const credentials = { accessKeyId: form.get('accessKeyId'), secretAccessKey: form.get('secretAccessKey') }
    if (form.get('sessionToken')) credentials.sessionToken = form.get('sessionToken')
    const client = new KmsClient({
      endpoint: form.get('endpoint'),
      region: form.get('region'),
      credentials,
      maxAttempts: 1
    })
    const alias = form.get('alias')
    let metadata
    try {
      metadata = (await client.describeKey(alias)).KeyMetadata
      status(`Using the existing key ${alias}.`)
    } catch (error) {
      if (error.code !== 'NotFoundException') throw error
      metadata = (await client.createKey({ Description: 'kms-wasm demo: customer items' })).KeyMetadata
      await client.createAlias(alias, metadata.KeyId)
      status(`Created a new key and named it ${alias}.`)
    }
    state.client = client
    state.keyArn = metadata.Arn
    state.keyring = new KmsKeyring({ client, generatorKeyId: metadata.Arn })
    showKey(metadata)
  })
}

function showKey (metadata) {
  state.enabled = metadata.KeyState === 'Enabled'
  $('key-arn').textContent = metadata.Arn
  $('key-state').textContent = metadata.KeyState
  $('toggle-key').textContent = state.enabled ? 'Disable key' : 'Enable key'
}

async function toggleKey () {
  await busy(state.enabled ? 'Disabling the key…' : 'Enabling the key…', async () => {
    if (state.enabled) await state.client.disableKey(state.keyArn)
    else await state.client.enableKey(state.keyArn)
    showKey((await state.client.describeKey(state.keyArn)).KeyMetadata)
    status(`The key is now ${state.enabled ? 'enabled' : 'disabled'}.`)
  })
}

// ---------- encrypt, decrypt, tamper ----------

function encryptor () {
  return new ItemEncryptor(currentConfig(), state.keyring)
}

async function encrypt () {
  await busy('Encrypting the item…', async () => {
    const item = currentItem()
    state.stored = await encryptor().encryptItem(item)
    show('stored', state.stored)
    $('decrypted').textContent = 'Not decrypted yet.'
    const hidden = rows().filter((r) => r.action === 'ENCRYPT_AND_SIGN').map((r) => r.name)
    status(`Encrypted: ${hidden.length} attributes (${hidden.join(', ')}) are now ciphertext; the item is signed.`)
  })
}

async function decryptShown (item, what) {
  const back = await encryptor().decryptItem(item)
  show('decrypted', back)
  status(`Decrypted ${what}: every signed attribute verified.`)
}

async function decrypt () {
  await busy('Decrypting the stored item…', () => decryptShown(state.stored, 'the stored item'))
}

function flipBit (base64, at) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
  bytes[Math.min(at, bytes.length - 1)] ^= 0x01
  return btoa(String.fromCharCode(...bytes))
}

function tampered (kind) {
  const item = structuredClone(state.stored)
  switch (kind) {
    case 'flip': {
      const target = item.ssn?.B ? 'ssn' : Object.keys(item).find((k) => item[k].B && !k.startsWith('aws_dbe_'))
      if (!target) throw Object.assign(new Error('no encrypted attribute to flip'), { code: 'ValidationException' })
      item[target] = { B: flipBit(item[target].B, 12) }
      return [item, `one bit of ${target} flipped`]
    }
    case 'rename':
      item.contact = item.email
      delete item.email
      return [item, 'email renamed to contact']
    case 'signed':
      item.name = { S: 'Mallory' }
      return [item, 'name changed to Mallory']
    default:
      item.aws_dbe_foot = { B: flipBit(item.aws_dbe_foot.B, 20) }
      return [item, 'one bit of the footer flipped']
  }
}

async function tamper () {
  await busy('Tampering with the stored item, then decrypting it…', async () => {
    const [item, what] = tampered($('tamper-kind').value)
    show('stored', item)
    $('decrypted').textContent = 'Nothing: decryption was refused.'
    try {
      await decryptShown(item, `despite the tampering (${what})`)
      throw new Error(`the tampered item (${what}) was accepted`)
    } catch (error) {
      if (error.name !== 'KmsError') throw error
      showError(error)
      status(`Refused as it should be: ${what}. Encrypt again to restore the item.`)
    }
  })
}

// ---------- batch ----------

function batchItems (n) {
  const base = currentItem()
  const pk = Object.keys(base.pk)[0]
  return Array.from({ length: n }, (_, i) => ({
    ...base,
    pk: { [pk]: pk === 'N' ? String(i) : `${base.pk.S}-${i}` }
  }))
}

function fill (rowId, enc, dec, encMs, decMs, n) {
  const row = $(rowId)
  const put = (k, v) => { row.querySelector(`[data-k=${k}]`).textContent = v }
  const num = (v) => (v === null || v === undefined ? '–' : v.toLocaleString('en'))
  put('calls', num(enc.keyringCalls + dec.keyringCalls))
  put('hits', num(enc.cacheHits === null ? null : enc.cacheHits + dec.cacheHits))
  put('misses', num(enc.cacheMisses === null ? null : enc.cacheMisses + dec.cacheMisses))
  const rate = (ms) => `${Math.round(ms)} ms (${Math.round(n / (ms / 1000)).toLocaleString('en')}/s)`
  put('enc', rate(encMs))
  put('dec', rate(decMs))
}

async function runOne (rowId, encryptor, items) {
  const t0 = performance.now()
  const enc = await encryptor.encryptItems(items)
  const t1 = performance.now()
  const dec = await encryptor.decryptItems(enc.items)
  const t2 = performance.now()
  fill(rowId, enc, dec, t1 - t0, t2 - t1, items.length)
  return enc.keyringCalls + dec.keyringCalls
}

async function batch () {
  const n = Number($('batch-size').value)
  if (!Number.isInteger(n) || n < 1 || n > 10000) {
    showError({ code: 'ValidationException', message: 'the batch size must be a whole number from 1 to 10,000' })
    return
  }
  await busy(`Encrypting and decrypting ${n.toLocaleString('en')} items with the caching materials manager…`, async () => {
    const items = batchItems(n)
    const config = currentConfig()
    const cmm = new CachingMaterialsManager({ keyring: state.keyring, maxAge: 5 * 60_000, maxMessagesEncrypted: 1_000_000 })
    const cached = await runOne('row-cached', new ItemEncryptor(config, cmm), items)
    status(`Now the same ${n.toLocaleString('en')} items without the cache…`)
    const plain = await runOne('row-plain', new ItemEncryptor(config, state.keyring), items)
    status(`Batch done: ${cached.toLocaleString('en')} KMS calls with the caching materials manager, ${plain.toLocaleString('en')} without.`)
  })
}

// ---------- temporary credentials ----------

/**
 * Fills the credential fields with a fresh STS session from kms-server's `/demo/session`
 * (served with `kms-server serve --demo-session`, as scripts/run does): the page then holds
 * one-hour credentials of a role allowed only the demo's KMS actions. Without that endpoint
 * the fields keep what the person typed.
 */
async function loadSession () {
  let response
  try {
    response = await fetch(new URL('demo/session', location.origin), { cache: 'no-store' })
  } catch {
    return false
  }
  if (!response.ok) return false
  const session = await response.json()
  state.session = session
  $('access-key').value = session.accessKeyId
  $('secret-key').value = session.secretAccessKey
  $('session-token').value = session.sessionToken
  const until = new Date(session.expiration).toLocaleTimeString()
  $('credentials-note').textContent = `Temporary credentials from STS: ${session.arn}, valid until ${until}. The page never holds the account's own keys.`
  return true
}

/** A session about to expire (or expired) is replaced before it is used. */
async function renewSessionIfDue () {
  const session = state.session
  if (!session || $('access-key').value !== session.accessKeyId) return
  if (Date.parse(session.expiration) - Date.now() < 60_000) await loadSession()
}

// ---------- start ----------

async function start () {
  renderAttributes()
  $('endpoint').value = location.protocol.startsWith('http') ? location.origin : 'http://127.0.0.1:7080'
  $('setup').addEventListener('submit', useKey)
  $('toggle-key').addEventListener('click', toggleKey)
  $('encrypt').addEventListener('click', encrypt)
  $('decrypt').addEventListener('click', decrypt)
  $('tamper').addEventListener('click', tamper)
  $('batch').addEventListener('click', batch)
  try {
    await init()
    const temporary = location.protocol.startsWith('http') && await loadSession()
    status(temporary
      ? 'Ready, with temporary credentials. Create or select a key to begin.'
      : 'Ready. Create or select a key to begin.')
  } catch (error) {
    showError({ code: 'LoadFailed', message: `the WebAssembly module did not load (${error.message}); build it with scripts/build-wasm` })
  }
}

start()
