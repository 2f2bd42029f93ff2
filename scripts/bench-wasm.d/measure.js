// The measuring loop shared by the Node and Chromium runs of scripts/bench-wasm.
// Each cell: warm-up calls, then samples until the time budget is spent (at least 3); a
// sample repeats the call enough times to last 20 ms (browsers coarsen performance.now()).
// Best and median throughput in MB/s (10^6 bytes of plaintext per second).

const now = () => performance.now()

export async function measure (fn, bytes, budgetMs) {
  await fn()
  let reps = 1
  for (;;) {
    const t0 = now()
    for (let i = 0; i < reps; i++) await fn()
    if (now() - t0 >= 20 || reps >= 1 << 16) break
    reps *= 2
  }
  const times = []
  const start = now()
  while (times.length < 3 || (now() - start < budgetMs && times.length < 200)) {
    const t0 = now()
    for (let i = 0; i < reps; i++) await fn()
    times.push((now() - t0) / reps)
  }
  times.sort((a, b) => a - b)
  const mbps = (ms) => bytes / 1e6 / (ms / 1e3)
  return { best: mbps(times[0]), median: mbps(times[Math.floor(times.length / 2)]), samples: times.length }
}

/** rows of [runtime, impl, op, size, best, median] for each implementation and size. */
export async function run (runtime, impls, sizes, budgetMs, fill) {
  const rows = []
  for (const size of sizes) {
    const data = fill(size)
    for (const [name, { encrypt, decrypt }] of Object.entries(impls)) {
      const ct = await encrypt(data)
      const back = await decrypt(ct)
      if (back.length !== data.length || back[size - 1] !== data[size - 1]) throw new Error(`${name} round trip`)
      const e = await measure(() => encrypt(data), size, budgetMs)
      const d = await measure(() => decrypt(ct), size, budgetMs)
      rows.push([runtime, name, 'encrypt', size, e.best, e.median])
      rows.push([runtime, name, 'decrypt', size, d.best, d.median])
    }
  }
  return rows
}
