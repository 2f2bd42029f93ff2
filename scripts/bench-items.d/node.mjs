// Runs the item benchmark in Node (pkg/node) and in headless Chromium (pkg/web served by
// kms-server with --www bench-items.d/www), against one kms-server. Prints one table row per
// runtime, suite and caching mode.
import { spawn, execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, readFile, access } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { run } from './www/bench.js'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '../..')
const bin = process.env.KMS_SERVER_BIN ?? join(repo, 'target/release/kms-server')
const N = Number(process.env.BENCH_ITEMS ?? 1000)
const N_UNCACHED = Number(process.env.BENCH_ITEMS_UNCACHED ?? 1000)
const suites = (process.env.BENCH_ITEM_SUITES ?? 'ecdsa+hmac,hmac').split(',')
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' }
const region = 'us-east-1'

const dir = await mkdtemp(join(tmpdir(), 'kms-bench-items-'))
const ready = join(dir, 'ready')
const proc = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--ready-file', ready,
  '--www', join(here, 'www'), '--pkg', join(repo, 'pkg')], { stdio: 'ignore', env: { ...process.env, RUST_LOG: 'warn' } })
const deadline = Date.now() + 30_000
for (;;) {
  try { await access(ready); break } catch {}
  if (proc.exitCode !== null || Date.now() > deadline) throw new Error('kms-server did not start')
  await new Promise((resolve) => setTimeout(resolve, 20))
}
const endpoint = `http://${(await readFile(ready, 'utf8')).trim()}`
let context
try {
  const kmsNode = createRequire(import.meta.url)(join(repo, 'pkg/node/kms_wasm_full.js'))
  const client = new kmsNode.KmsClient({ endpoint, region, credentials })
  const keyArn = (await client.createKey({})).KeyMetadata.Arn
  const cases = suites.flatMap((suite) => [true, false].map((cached) =>
    ({ endpoint, region, credentials, keyArn, suite, cached, n: cached ? N : N_UNCACHED })))

  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']
  })
  const tab = context.pages()[0] ?? await context.newPage()
  await tab.goto(`${endpoint}/`)
  await tab.waitForFunction(() => window.ready === true)

  console.log(`item: ${JSON.stringify((await import('./www/bench.js')).item(0)).length} bytes of DynamoDB JSON, 5 encrypted attributes; kms-server ${bin}`)
  console.log('runtime   suite       cache  items  encrypt items/s  decrypt items/s  KMS calls/1000 (enc+dec)')
  const row = (runtime, r) => console.log(
    `${runtime.padEnd(9)} ${r.suite.padEnd(11)} ${(r.cached ? 'on' : 'off').padEnd(6)} ${String(r.n).padStart(5)} ` +
    `${r.encryptPerSec.toFixed(0).padStart(16)} ${r.decryptPerSec.toFixed(0).padStart(16)}  ` +
    `${r.kmsCallsPer1000Encrypt} + ${r.kmsCallsPer1000Decrypt}`)
  for (const c of cases) row('node', await run(kmsNode, c))
  for (const c of cases) row('chromium', await tab.evaluate((opts) => window.bench(opts), c))
} finally {
  await context?.close()
  proc.kill('SIGTERM')
  if (proc.exitCode === null) await once(proc, 'exit')
  await rm(dir, { recursive: true, force: true })
}
