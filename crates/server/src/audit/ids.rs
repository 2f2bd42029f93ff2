//! Request and event ids: UUID-shaped (version 4 layout), unique, and cheap to make.
//!
//! A process draws 80 random bits once; each id adds a 48-bit counter, so ids of one process
//! never repeat, and ids of two processes collide only if their random parts do (2^-74 with
//! version and variant bits set). These ids name records; they are not secrets, so they need
//! not be unpredictable, and making one costs no system call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static BASE: OnceLock<[u8; 16]> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A new id, e.g. `0f8fad5b-d9cb-469f-a165-70867728950e`.
pub fn new_id() -> String {
    let base = BASE.get_or_init(|| *uuid::Uuid::new_v4().as_bytes());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = *base;
    // The last six bytes are the counter (the version and variant bits lie before them).
    for (i, byte) in bytes[10..].iter_mut().enumerate() {
        *byte ^= (n >> (8 * (5 - i))) as u8;
    }
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_do_not_repeat() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 10_000);
        let id = ids.iter().next().unwrap();
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }
}
