// Types for tools that ignore the "exports" map: the browser (web) build, whose default
// export `init()` must be awaited once before anything else is used. Node and bundler
// builds need no init; their types are in node/ and bundler/.
export * from "./web/kms_wasm.js";
export { default } from "./web/kms_wasm.js";
