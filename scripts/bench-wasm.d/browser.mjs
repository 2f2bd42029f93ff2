// kms-wasm (web build) against @aws-crypto/client-browser in headless Chromium (same suite,
// keyring type and frame length as node.mjs). The SDK is bundled with esbuild first.
import { createServer } from 'node:http'
import { once } from 'node:events'
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, extname } from 'node:path'
import { execFileSync } from 'node:child_process'
import { chromium } from 'playwright-core'

const repo = process.argv[2]
const sizes = process.argv[3].split(',').map(Number)
const budget = Number(process.argv[4])
const suites = process.argv[5].split(',').map(Number)
const bulks = (process.argv[6] || 'auto').split(',')
const work = await mkdtemp(join(tmpdir(), 'kms-wasm-bench-'))
// The browser SDK uses Node's `Buffer`; esbuild injects the npm `buffer` polyfill.
execFileSync(join(repo, 'node_modules/.bin/esbuild'), [join(repo, 'scripts/bench-wasm.d/browser-entry.js'),
  `--inject:${join(repo, 'scripts/bench-wasm.d/buffer-shim.js')}`, '--bundle', '--format=esm', '--minify', `--outfile=${join(work, 'sdk.js')}`, '--log-level=warning'])
const sdkGz = execFileSync('sh', ['-c', `gzip -9 -c ${join(work, 'sdk.js')} | wc -c`]).toString().trim()
console.error(`@aws-crypto/client-browser bundle (esbuild --minify): gzip -9 ${sdkGz} B`)

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import init, * as kms from '/web/kms_wasm.js'
import * as sdkBrowser from '/sdk.js'
import { run } from '/measure.js'
window.bench = async (sizes, budget, suites, bulks) => {
  await init()
  const key = crypto.getRandomValues(new Uint8Array(32))
  const ours = new kms.RawAesKeyring({ keyNamespace: 'bench', keyName: 'key', wrappingKey: key })
  const suite = sdkBrowser.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING
  const masterKey = await sdkBrowser.RawAesKeyringWebCrypto.importCryptoKey(key, suite)
  const theirs = new sdkBrowser.RawAesKeyringWebCrypto({ keyName: 'key', keyNamespace: 'bench', masterKey, wrappingSuite: suite })
  const sdk = sdkBrowser.buildClient(sdkBrowser.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
  const fill = (n) => { const a = new Uint8Array(n); for (let i = 0; i < n; i += 65536) crypto.getRandomValues(a.subarray(i, i + 65536)); return a }
  const impls = {}
  for (const suiteId of suites) {
    const hex = '0x' + suiteId.toString(16).padStart(4, '0')
    for (const bulkCrypto of bulks) {
      const name = bulkCrypto === 'auto' ? 'kms-wasm ' + hex : 'kms-wasm ' + hex + ' ' + bulkCrypto
      impls[name] = { encrypt: async (d) => (await kms.encrypt(ours, d, { suiteId, bulkCrypto })).result, decrypt: async (c) => (await kms.decrypt(ours, c, { bulkCrypto })).plaintext }
    }
    impls['client-browser ' + hex] = { encrypt: async (d) => (await sdk.encrypt(theirs, d, { suiteId })).result, decrypt: async (c) => (await sdk.decrypt(theirs, c)).plaintext }
  }
  return run('chromium', impls, sizes, budget, fill)
}
window.ready = true
</script>`

const files = {
  '/sdk.js': join(work, 'sdk.js'),
  '/measure.js': join(repo, 'scripts/bench-wasm.d/measure.js')
}
const types = { '.js': 'text/javascript', '.wasm': 'application/wasm' }
const srv = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname
  if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
  // The web build: both modules' glue and .wasm, and the snippet that loads the EC module.
  const file = files[path] ?? (path.startsWith('/web/') && !path.includes('..')
    ? join(repo, 'pkg', path) : null)
  const body = file && await readFile(file).catch(() => null)
  if (!body) return res.writeHead(404).end()
  res.writeHead(200, { 'content-type': types[extname(path)] }).end(body)
})
srv.listen(0, '127.0.0.1')
await once(srv, 'listening')
const context = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
try {
  const tab = context.pages()[0] ?? await context.newPage()
  const errors = []
  tab.on('pageerror', (e) => errors.push(String(e)))
  tab.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  await tab.goto(`http://127.0.0.1:${srv.address().port}/`)
  await tab.waitForFunction(() => window.ready === true).catch((e) => {
    throw new Error(`page did not load: ${errors.join('; ') || e}`)
  })
  const rows = await tab.evaluate(([s, b, u, k]) => window.bench(s, b, u, k), [sizes, budget, suites, bulks])
  for (const r of rows) console.log(r.join('\t'))
} finally {
  await context.close()
  srv.close()
  await rm(work, { recursive: true, force: true })
}
