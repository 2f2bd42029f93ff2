//! `kms-wasm`: the JavaScript-facing WebAssembly module.
//!
//! Until the envelope-encryption issue lands this crate exposes only its version,
//! so the wasm build, packaging and tests have something real to exercise.

use wasm_bindgen::prelude::wasm_bindgen;

/// The version of this package, as declared in `Cargo.toml`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_manifest() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
        assert!(!version().is_empty());
    }
}
