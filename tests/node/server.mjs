// Starts a kms-server on an ephemeral loopback port for one test file, and creates keys
// with the AWS CLI from the repo's .venv. KMS_SERVER_BIN and AWS_CLI override the paths
// (scripts/test-wasm sets both).
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'

export const REGION = 'us-east-1'
export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' }

const READY_TIMEOUT_MS = 30_000

export async function startServer () {
  const bin = process.env.KMS_SERVER_BIN
  if (!bin) throw new Error('KMS_SERVER_BIN is not set')
  const dir = mkdtempSync(join(tmpdir(), 'kms-wasm-test-'))
  const ready = join(dir, 'ready')
  const proc = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'),
    '--ready-file', ready], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } })
  let log = ''
  proc.stderr.on('data', (d) => { log += d })
  // The server writes the ready file once it listens: poll for it (as the Python suite
  // does), with an overall deadline, never a fixed delay.
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (!existsSync(ready)) {
    if (proc.exitCode !== null) throw new Error(`kms-server exited early:\n${log}`)
    if (Date.now() > deadline) throw new Error(`kms-server not ready:\n${log}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const endpoint = `http://${readFileSync(ready, 'utf8').trim()}`
  return {
    endpoint,
    async stop () {
      proc.kill('SIGTERM')
      if (proc.exitCode === null) await once(proc, 'exit')
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** `aws kms <args>` against `endpoint`, parsed JSON output. */
export function awsKms (endpoint, ...args) {
  const cli = process.env.AWS_CLI
  if (!cli) throw new Error('AWS_CLI is not set')
  const out = execFileSync(cli, ['kms', ...args, '--endpoint-url', endpoint, '--output', 'json'], {
    env: {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: REGION,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true'
    }
  })
  return out.length ? JSON.parse(out) : {}
}

export function createKey (endpoint) {
  return awsKms(endpoint, 'create-key').KeyMetadata.Arn
}
