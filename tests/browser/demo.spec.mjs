// The demo page in headless Chromium (Debian's /usr/bin/chromium via playwright-core),
// served by kms-server itself (`--www`, `--pkg`): set up a key by alias, encrypt the sample
// item and check its stored form, decrypt, tamper four ways and see each refusal, see plain
// errors for a disabled key, bad credentials and a server that is down, run the 1,000-item
// batch and check the counters, and save screenshots (wide and narrow).
//
//   node tests/browser/demo.spec.mjs   (KMS_SERVER_BIN as for tests/node; KMS_WASM_PKG_DIR:
//                                       the package root holding web/, default pkg/;
//                                       DEMO_SCREENSHOT: default target/demo-screenshot.png)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, readFile, access, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../..')
const pkgDir = resolve(process.env.KMS_WASM_PKG_DIR ?? join(repo, 'pkg'))
const shot = resolve(process.env.DEMO_SCREENSHOT ?? join(repo, 'target/demo-screenshot.png'))
const READY_TIMEOUT_MS = 30_000

async function startDemoServer (dir) {
  const bin = process.env.KMS_SERVER_BIN
  if (!bin) throw new Error('KMS_SERVER_BIN is not set')
  const ready = join(dir, 'ready')
  const proc = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'),
    '--ready-file', ready, '--www', join(repo, 'www'), '--pkg', pkgDir, '--demo-session'],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } })
  let log = ''
  proc.stderr.on('data', (d) => { log += d })
  // Poll for the ready file with an overall deadline (as tests/node/server.mjs does).
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    try { await access(ready); break } catch {}
    if (proc.exitCode !== null) throw new Error(`kms-server exited early:\n${log}`)
    if (Date.now() > deadline) throw new Error(`kms-server not ready:\n${log}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const origin = `http://${(await readFile(ready, 'utf8')).trim()}`
  return {
    origin,
    async stop () {
      proc.kill('SIGTERM')
      if (proc.exitCode === null) await once(proc, 'exit')
    }
  }
}

const ok = (line) => console.log(`ok - ${line}`)

async function expectStatus (tab, pattern, timeout = 60_000) {
  await tab.waitForFunction(
    ([source, flags]) => new RegExp(source, flags).test(document.getElementById('status').textContent),
    [pattern.source, pattern.flags], { timeout })
  return tab.textContent('#status')
}

async function expectError (tab, pattern) {
  await tab.waitForSelector('#error:not([hidden])')
  const text = await tab.textContent('#error')
  assert.match(text, pattern)
  return text
}

const dir = await mkdtemp(join(tmpdir(), 'kms-demo-'))
const server = await startDemoServer(dir)
let context
try {
  // Static serving: content types, the API still at POST /, no traversal.
  const wasm = await fetch(`${server.origin}/pkg/web/kms_wasm_full_bg.wasm`)
  assert.equal(wasm.headers.get('content-type'), 'application/wasm')
  const js = await fetch(`${server.origin}/app.js`)
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
  assert.equal((await fetch(`${server.origin}/..%2fCargo.toml`)).status, 404)
  const api = await fetch(server.origin, { method: 'POST', headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' })
  assert.equal((await api.json()).__type, 'MissingAuthenticationTokenException')
  ok('kms-server serves www/ and pkg/ beside the API')

  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  const tab = context.pages()[0] ?? await context.newPage()
  const errors = []
  tab.on('pageerror', (e) => errors.push(String(e)))
  await tab.goto(`${server.origin}/`)
  await expectStatus(tab, /^Ready, with temporary credentials/)
  assert.equal(await tab.inputValue('#endpoint'), server.origin)
  // The page holds STS session credentials of the demo role, not the account's keys.
  const accessKey = await tab.inputValue('#access-key')
  assert.match(accessKey, /^ASIA/)
  assert.ok((await tab.inputValue('#session-token')).length > 100)
  assert.match(await tab.textContent('#credentials-note'), /assumed-role\/kms-demo-browser\/demo-/)
  const secret = await tab.inputValue('#secret-key')
  ok('temporary STS credentials from /demo/session')

  // Errors in plain words: a server that is down, then credentials it does not know.
  await tab.fill('#endpoint', 'http://127.0.0.1:9')
  await tab.click('#use-key')
  await expectError(tab, /Cannot reach kms-server/)
  await tab.fill('#endpoint', server.origin)
  await tab.fill('#secret-key', 'wrong')
  await tab.click('#use-key')
  await expectError(tab, /Access denied/)
  await tab.fill('#secret-key', secret)
  ok('plain errors: server down, access denied')

  // Key set-up by alias, with the keyboard: Enter in the alias field submits the form.
  await tab.focus('#alias')
  await tab.keyboard.press('Enter')
  await expectStatus(tab, /^Created a new key and named it alias\/demo-customers/)
  const arn = await tab.textContent('#key-arn')
  assert.match(arn, /^arn:aws:kms:us-east-1:\d{12}:key\//)
  await tab.click('#use-key')
  await expectStatus(tab, /^Using the existing key/)
  assert.equal(await tab.textContent('#key-arn'), arn)
  ok('key created, then selected, by alias')

  // Encrypt: the stored form.
  await tab.click('#encrypt')
  await expectStatus(tab, /^Encrypted: 3 attributes/)
  const stored = JSON.parse(await tab.textContent('#stored'))
  assert.deepEqual(stored.pk, { S: 'customer#1001' })
  assert.deepEqual(stored.name, { S: 'Ada Lovelace' })
  assert.deepEqual(stored.x_last_login, { S: '2026-12-05T07:00:00Z' })
  for (const name of ['email', 'ssn', 'card', 'aws_dbe_head', 'aws_dbe_foot']) {
    assert.deepEqual(Object.keys(stored[name]), ['B'], name)
    assert.match(stored[name].B, /^[A-Za-z0-9+/]+=*$/, name)
  }
  assert.ok(!JSON.stringify(stored).includes('123-45-6789'))
  ok('stored item: ciphertext as base64 B, header and footer attributes')

  await tab.click('#decrypt')
  await expectStatus(tab, /^Decrypted the stored item/)
  const back = JSON.parse(await tab.textContent('#decrypted'))
  assert.deepEqual(back.ssn, { S: '123-45-6789' })
  assert.deepEqual(back.card, { S: '4111 1111 1111 1111' })
  ok('decrypted back')

  for (const kind of ['flip', 'rename', 'signed', 'footer']) {
    await tab.selectOption('#tamper-kind', kind)
    await tab.click('#tamper')
    await expectStatus(tab, /^Refused as it should be/)
    await expectError(tab, /Decryption refused/)
    assert.equal(await tab.textContent('#decrypted'), 'Nothing: decryption was refused.')
    ok(`tamper (${kind}) refused`)
  }

  // A configuration that breaks a rule is explained.
  await tab.selectOption('#attr-pk-action', 'ENCRYPT_AND_SIGN')
  await tab.click('#encrypt')
  await expectError(tab, /not valid: .*pk/)
  await tab.selectOption('#attr-pk-action', 'SIGN_ONLY')
  ok('invalid configuration explained')

  // A disabled key, in plain words; then enabled again.
  await tab.click('#toggle-key')
  await expectStatus(tab, /now disabled/)
  await tab.click('#encrypt')
  await expectError(tab, /key is disabled/)
  await tab.click('#toggle-key')
  await expectStatus(tab, /now enabled/)
  ok('disabled key explained')

  // The batch: 1,000 items with and without the caching CMM (HMAC-only suite: the test
  // counts KMS calls; the signed suite's timings are for the benchmark).
  await tab.selectOption('#suite', 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384')
  await tab.click('#encrypt')
  await expectStatus(tab, /^Encrypted/)
  await tab.click('#batch')
  const done = await expectStatus(tab, /^Batch done/, 300_000)
  const cell = async (row, k) => (await tab.textContent(`#${row} [data-k=${k}]`)).replace(/,/g, '')
  const cachedCalls = Number(await cell('row-cached', 'calls'))
  const plainCalls = Number(await cell('row-plain', 'calls'))
  assert.ok(cachedCalls >= 1 && cachedCalls <= 4, `caching: ${cachedCalls} KMS calls`)
  assert.equal(plainCalls, 2000)
  assert.equal(Number(await cell('row-cached', 'hits')), 1998)
  assert.equal(await cell('row-plain', 'hits'), '–')
  ok(`${done} (cached: encrypt ${await cell('row-cached', 'enc')}, decrypt ${await cell('row-cached', 'dec')}; ` +
    `plain: encrypt ${await cell('row-plain', 'enc')}, decrypt ${await cell('row-plain', 'dec')})`)

  // Show the stored item again for the screenshot.
  await tab.selectOption('#suite', 'ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384')
  await tab.click('#encrypt')
  await expectStatus(tab, /^Encrypted/)
  await tab.click('#decrypt')
  await expectStatus(tab, /^Decrypted/)
  if (errors.length) throw new Error(errors.join('\n'))

  await mkdir(dirname(shot), { recursive: true })
  // The status bar is sticky: scroll to the top so it sits there in the full-page shot.
  await tab.evaluate(() => window.scrollTo(0, 0))
  await tab.screenshot({ path: shot, fullPage: true })
  console.log(`screenshot: ${shot}`)
  await tab.setViewportSize({ width: 380, height: 800 })
  const narrow = shot.replace(/\.png$/, '-narrow.png')
  const overflow = await tab.evaluate(() => {
    window.scrollTo(0, 0)
    return document.documentElement.scrollWidth - window.innerWidth
  })
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a narrow screen`)
  await tab.screenshot({ path: narrow, fullPage: true })
  console.log(`screenshot (narrow): ${narrow}`)
  console.log('demo page e2e: PASS')
} finally {
  await context?.close()
  await server.stop()
  await rm(dir, { recursive: true, force: true })
}
