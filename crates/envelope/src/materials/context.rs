//! [`EncryptionContext`]: string pairs sorted by key in one vector. A context holds a
//! handful of pairs, so a sorted `Vec` with binary search does what a `BTreeMap` would at a
//! fraction of its code size in the wasm client (the map's node code is generic over each
//! key and value type; these few functions are not).

use std::fmt;
use std::slice;

/// An encryption context: string pairs bound to a message as authenticated data.
///
/// Keys are unique and kept sorted by their UTF-8 bytes (the order of `String`'s `Ord`),
/// which is the order the message format serialises them in. The API follows
/// `BTreeMap<String, String>`: [`iter`](Self::iter) yields `(&String, &String)` in key order,
/// and collecting pairs with the same key keeps the last value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EncryptionContext {
    /// Sorted by key, keys unique.
    pairs: Vec<(String, String)>,
}

impl EncryptionContext {
    /// An empty context.
    pub const fn new() -> Self {
        Self { pairs: Vec::new() }
    }

    /// Where `key` is (`Ok`) or would be inserted (`Err`).
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.pairs.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Sets `key` to `value`, returning the value it replaced, if any.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.pairs[i].1, value)),
            Err(i) => {
                self.pairs.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.pairs[i].1)
    }

    /// Whether the context has `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Removes `key`, returning its value, if any.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|i| self.pairs.remove(i).1)
    }

    /// Removes every pair.
    pub fn clear(&mut self) {
        self.pairs.clear();
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.pairs.iter())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.pairs.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.pairs.iter().map(|(_, v)| v)
    }
}

impl fmt::Debug for EncryptionContext {
    /// As a map: `{"key": "value", ...}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(String, String)> for EncryptionContext {
    /// Sorts the pairs once (a later pair replaces an earlier one with the same key), so that
    /// a long list in any order costs `O(n log n)`, not a vector insertion per pair.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut pairs: Vec<(String, String)> = iter.into_iter().collect();
        // Stable: pairs with equal keys stay in their input order, the last one wins below.
        kms_api::sort::sort_with(&mut pairs, |a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => unique.push(pair),
            }
        }
        Self { pairs: unique }
    }
}

impl<const N: usize> From<[(String, String); N]> for EncryptionContext {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl Extend<(String, String)> for EncryptionContext {
    /// As collecting the current pairs followed by the new ones: one sort, and a new pair
    /// replaces a current one with the same key.
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        let mut pairs = std::mem::take(&mut self.pairs);
        pairs.extend(iter);
        *self = pairs.into_iter().collect();
    }
}

impl<'a> IntoIterator for &'a EncryptionContext {
    type Item = (&'a String, &'a String);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for EncryptionContext {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    /// The pairs in key order.
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.into_iter()
    }
}

/// The pairs of an [`EncryptionContext`] in key order, as `(&key, &value)`.
#[derive(Clone, Debug)]
pub struct Iter<'a>(slice::Iter<'a, (String, String)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a String);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn s(x: &str) -> String {
        x.to_owned()
    }

    #[test]
    fn insert_replaces_and_remove_takes_out() {
        let mut ec = EncryptionContext::new();
        assert!(ec.is_empty());
        assert_eq!(ec.insert(s("b"), s("1")), None);
        assert_eq!(ec.insert(s("a"), s("2")), None);
        assert_eq!(ec.insert(s("b"), s("3")), Some(s("1")));
        assert_eq!(ec.len(), 2);
        assert_eq!(ec.get("b"), Some(&s("3")));
        assert!(ec.contains_key("a") && !ec.contains_key("c"));
        assert_eq!(ec.keys().collect::<Vec<_>>(), [&s("a"), &s("b")]);
        assert_eq!(ec.values().collect::<Vec<_>>(), [&s("2"), &s("3")]);
        assert_eq!(ec.remove("a"), Some(s("2")));
        assert_eq!(ec.remove("a"), None);
        assert_eq!(ec.iter().collect::<Vec<_>>(), [(&s("b"), &s("3"))]);
        ec.clear();
        assert_eq!(ec, EncryptionContext::new());
    }

    #[test]
    fn orders_keys_by_utf8_bytes() {
        // U+E000 is 0xEE.. in UTF-8 and U+10000 is 0xF0..: byte order, not UTF-16 order.
        let ec: EncryptionContext =
            [(s("\u{10000}"), s("y")), (s("z"), s("w")), (s("\u{e000}"), s("x")), (s(""), s("e"))]
                .into();
        let keys: Vec<&str> = ec.keys().map(String::as_str).collect();
        assert_eq!(keys, ["", "z", "\u{e000}", "\u{10000}"]);
    }

    #[test]
    fn debug_is_a_map() {
        let ec: EncryptionContext = [(s("k"), s("v"))].into();
        assert_eq!(format!("{ec:?}"), r#"{"k": "v"}"#);
    }

    /// A key from a small alphabet (so that pairs collide) mixing ASCII, 2-, 3- and 4-byte
    /// UTF-8 characters.
    fn key() -> impl Strategy<Value = String> {
        "[ab\u{e9}\u{7ff}\u{800}\u{e000}\u{ffff}\u{10000}\u{10ffff}]{0,3}"
    }

    /// An edit of a context and of the `BTreeMap` that models it.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, String),
        Remove(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (key(), any::<String>()).prop_map(|(k, v)| Op::Insert(k, v)),
            key().prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn behaves_as_a_btree_map(ops in prop::collection::vec(op(), 0..40), probe in key()) {
            let mut ec = EncryptionContext::new();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        prop_assert_eq!(ec.insert(k.clone(), v.clone()), model.insert(k, v));
                    }
                    Op::Remove(k) => prop_assert_eq!(ec.remove(&k), model.remove(&k)),
                }
                prop_assert!(ec.iter().eq(model.iter()));
            }
            prop_assert_eq!(ec.len(), model.len());
            prop_assert_eq!(ec.get(&probe), model.get(&probe));
            prop_assert_eq!(ec.contains_key(&probe), model.contains_key(&probe));
            prop_assert!(ec.iter().rev().eq(model.iter().rev()));
            prop_assert_eq!(format!("{ec:?}"), format!("{model:?}"));
            prop_assert!(ec.into_iter().eq(model));
        }

        #[test]
        fn collects_as_a_btree_map(pairs in prop::collection::vec((key(), any::<String>()), 0..40)) {
            let ec: EncryptionContext = pairs.iter().cloned().collect();
            let model: BTreeMap<String, String> = pairs.iter().cloned().collect();
            prop_assert!(ec.iter().eq(model.iter()));
            let mut extended = EncryptionContext::new();
            extended.extend(pairs.iter().cloned());
            prop_assert_eq!(&extended, &ec);
            // Extending a context that has pairs: the new value of a shared key wins.
            let (first, second) = pairs.split_at(pairs.len() / 2);
            let mut halves: EncryptionContext = first.iter().cloned().collect();
            halves.extend(second.iter().cloned());
            let mut model_halves: BTreeMap<String, String> = first.iter().cloned().collect();
            model_halves.extend(second.iter().cloned());
            prop_assert!(halves.iter().eq(model_halves.iter()));
        }

        #[test]
        fn equality_ignores_insertion_order(pairs in prop::collection::btree_map(key(), any::<String>(), 0..20)) {
            let forward: EncryptionContext = pairs.clone().into_iter().collect();
            let mut backward = EncryptionContext::new();
            for (k, v) in pairs.into_iter().rev() {
                backward.insert(k, v);
            }
            prop_assert_eq!(&forward, &backward);
            let first = forward.iter().next().map(|(k, v)| (k.clone(), format!("{v}+")));
            if let Some((k, changed)) = first {
                backward.insert(k, changed);
                prop_assert_ne!(&forward, &backward);
            }
        }
    }
}
