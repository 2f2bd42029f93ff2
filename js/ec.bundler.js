// Loads kms-wasm's EC module on first need, once (bundler build: a dynamic import the
// bundler splits into its own chunk; the glue initialises itself). See js/ec.js.
let loading = null;

export function loadEcModule() {
  if (loading === null) {
    loading = import('../../../kms_wasm_ec.js');
    loading.catch(() => { loading = null; });
  }
  return loading;
}
