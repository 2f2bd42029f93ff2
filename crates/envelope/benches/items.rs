//! Item encryptor throughput (never run in CI): items per second for a 1 KB item with five
//! `ENCRYPT_AND_SIGN` attributes, through `ItemEncryptor::encrypt_items` / `decrypt_items`
//! (raw AES-256 keyring), with the caching materials manager off and on, and the keyring
//! calls each 1,000 items cost.
//!
//! Rows: `default` (default materials manager), `cache-table` (caching manager, keyring
//! context `TABLE`: one data key serves the table), `cache-item` (caching manager, the
//! default `ITEM` context: every item has its own partition key, so nothing is shared).
//! Each cell runs batches of `--items` items (default 1000) until `--budget-ms` (default
//! 2000) is spent, at least 3 batches, and reports the best and median batch. The keyring
//! calls are those of the first batch (a cold cache).
//!
//! ```text
//! cargo bench -p kms-envelope --bench items -- --items 1000 --budget-ms 2000
//! ```

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kms_envelope::cache::{Clock, LocalCryptographicMaterialsCache};
use kms_envelope::item::value::item_from_json;
use kms_envelope::item::{
    CryptoAction, ItemEncryptor, ItemEncryptorConfig, ItemSuite, KeyringContext,
};
use kms_envelope::keyring::raw_aes::RawAesKeyring;
use serde_json::{json, Value};

/// Batches per cell, at least.
const SAMPLES_MIN: usize = 3;
/// Length of each encrypted string attribute: five of them make 900 bytes.
const SECRET_LEN_BYTES: usize = 180;

struct Options {
    items: usize,
    budget: Duration,
}

fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("bench items: {message}");
            std::process::exit(2);
        }
    };
    let items = items(options.items);
    let serialized: usize = item_from_json(&items[0])
        .map(|i| i.iter().map(|(k, v)| k.len() + v.serialize().len()).sum())
        .unwrap_or(0);
    println!("item: {serialized} bytes of names and values, 5 encrypted attributes");
    println!(
        "{:<12} {:>6} {:>8} {:>12} {:>12} {:>14} {:>7}",
        "cmm", "suite", "op", "best item/s", "med item/s", "calls/1000", "batches"
    );
    for suite in [ItemSuite::EcdsaP384HmacSha384, ItemSuite::HmacSha384] {
        for mode in ["default", "cache-table", "cache-item"] {
            bench(&options, &items, suite, mode);
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options { items: 1_000, budget: Duration::from_millis(2_000) };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--items" => options.items = value()?.parse().map_err(|e| format!("--items: {e}"))?,
            "--budget-ms" => {
                let ms = value()?.parse().map_err(|e| format!("--budget-ms: {e}"))?;
                options.budget = Duration::from_millis(ms);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.items == 0 {
        return Err("--items must be at least 1".into());
    }
    Ok(options)
}

fn config(suite: ItemSuite, keyring_context: KeyringContext) -> ItemEncryptorConfig {
    let mut c = ItemEncryptorConfig::new("customers", "pk");
    c.sort_key_name = Some("sk".into());
    for name in ["pk", "sk", "name"] {
        c.attribute_actions_on_encrypt.insert(name.into(), CryptoAction::SignOnly);
    }
    for name in ["ssn", "card", "email", "address", "notes"] {
        c.attribute_actions_on_encrypt.insert(name.into(), CryptoAction::EncryptAndSign);
    }
    c.allowed_unsigned_attribute_prefix = Some(":".into());
    c.algorithm_suite = suite;
    c.keyring_context = keyring_context;
    c
}

/// `n` customers of about 1 KB each, with distinct partition keys.
fn items(n: usize) -> Vec<Value> {
    let text = |seed: usize| -> String {
        (0..SECRET_LEN_BYTES).map(|i| char::from(b'a' + ((i * 7 + seed) % 26) as u8)).collect()
    };
    (0..n)
        .map(|i| {
            json!({
                "pk": {"S": format!("customer#{i:08}")},
                "sk": {"N": "1"},
                "name": {"S": "Ada Lovelace, Countess of Lovelace"},
                "ssn": {"S": text(i)},
                "card": {"S": text(i + 1)},
                "email": {"S": text(i + 2)},
                "address": {"S": text(i + 3)},
                "notes": {"S": text(i + 4)},
                ":updated": {"N": "1733390000"}
            })
        })
        .collect()
}

fn encryptor(suite: ItemSuite, mode: &str) -> ItemEncryptor {
    let keyring = Arc::new(
        RawAesKeyring::new("bench", "bench-aes-256", &[0x5a; 32])
            .unwrap_or_else(|e| panic!("keyring: {e}")),
    );
    let built = match mode {
        "default" => ItemEncryptor::with_keyring(config(suite, KeyringContext::Item), keyring),
        _ => {
            let context =
                if mode == "cache-table" { KeyringContext::Table } else { KeyringContext::Item };
            ItemEncryptor::with_caching(
                config(suite, context),
                keyring,
                Arc::new(LocalCryptographicMaterialsCache::new(10_000)),
                Arc::new(SystemClock),
                Duration::from_secs(300),
            )
        }
    };
    built.unwrap_or_else(|e| panic!("encryptor: {e}"))
}

fn bench(options: &Options, items: &[Value], suite: ItemSuite, mode: &str) {
    let id = if suite == ItemSuite::HmacSha384 { "6700" } else { "6701" };
    let e = encryptor(suite, mode);
    let mut encrypted = Vec::new();
    let mut rates = Vec::new();
    let mut calls = None;
    let started = Instant::now();
    while rates.len() < SAMPLES_MIN || started.elapsed() < options.budget {
        let t = Instant::now();
        let out = block_on(e.encrypt_items(items)).unwrap_or_else(|e| panic!("encrypt: {e}"));
        rates.push(items.len() as f64 / t.elapsed().as_secs_f64());
        calls.get_or_insert(out.stats.keyring_calls.unwrap_or(0));
        encrypted = out.items;
    }
    report(mode, id, "encrypt", &mut rates, calls, items.len());

    let mut rates = Vec::new();
    let mut calls = None;
    let started = Instant::now();
    while rates.len() < SAMPLES_MIN || started.elapsed() < options.budget {
        let t = Instant::now();
        let out = block_on(e.decrypt_items(&encrypted)).unwrap_or_else(|e| panic!("decrypt: {e}"));
        rates.push(items.len() as f64 / t.elapsed().as_secs_f64());
        calls.get_or_insert(out.stats.keyring_calls.unwrap_or(0));
    }
    report(mode, id, "decrypt", &mut rates, calls, items.len());
}

fn report(mode: &str, id: &str, op: &str, rates: &mut [f64], calls: Option<u64>, n: usize) {
    rates.sort_by(|a, b| b.total_cmp(a));
    let per_1000 = calls.unwrap_or(0) as f64 * 1000.0 / n as f64;
    println!(
        "{mode:<12} {id:>6} {op:>8} {:>12.0} {:>12.0} {per_1000:>14.1} {:>7}",
        rates[0],
        rates[rates.len() / 2],
        rates.len()
    );
}

struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Runs a future that never waits on anything outside itself.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
