// Loads kms-wasm's EC module (kms_wasm_ec.js + kms_wasm_ec_bg.wasm, next to kms_wasm.js)
// on first need, once. Web build: a dynamic import, then its init with the .wasm URL
// relative to this file (which wasm-bindgen puts in snippets/<crate>/js/).
// scripts/build-wasm replaces this file in the node and bundler builds (js/ec.node.cjs,
// js/ec.bundler.js).
let loading = null;

export function loadEcModule() {
  if (loading === null) {
    loading = import('../../../kms_wasm_ec.js').then(async (ec) => {
      await ec.default({ module_or_path: new URL('../../../kms_wasm_ec_bg.wasm', import.meta.url) });
      return ec;
    });
    // A failed load (e.g. offline) may be retried by the next call.
    loading.catch(() => { loading = null; });
  }
  return loading;
}
