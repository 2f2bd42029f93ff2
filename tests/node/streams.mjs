// Stream helpers shared by the node:test files (not a test file itself).

/** Reads a stream of Uint8Array chunks to its end and returns them as one Uint8Array. */
export async function collect (readable) {
  const parts = []
  let n = 0
  for await (const c of readable) { parts.push(c); n += c.length }
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** A ReadableStream handing out `bytes` in chunks of `size` bytes. */
export function chunked (bytes, size) {
  let at = 0
  return new ReadableStream({
    pull (controller) {
      if (at >= bytes.length) { controller.close(); return }
      controller.enqueue(bytes.slice(at, at + size))
      at += size
    }
  })
}
