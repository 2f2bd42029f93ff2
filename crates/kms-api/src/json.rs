//! A small JSON reader and writer (RFC 8259) for clients that cannot afford serde_json's
//! code size (the wasm package): a pull [`Reader`] over text that borrows strings where it
//! can, and an [`ObjectWriter`] that builds one flat request object in zeroizing memory.
//!
//! Numbers are checked against the JSON grammar and handed out as text; [`Reader::integer`]
//! reads the only numbers KMS sends to clients, integers. Nothing here formats floats.

use std::borrow::Cow;
use std::fmt;

use crate::base64;
use zeroize::Zeroizing;

/// How deeply arrays and objects may nest (serde_json's default recursion limit).
pub const NESTING_MAX_DEPTH: usize = 128;

/// Why a JSON text was refused: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The byte offset where reading stopped.
    pub offset: usize,
    /// What was expected or wrong there.
    pub reason: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for JsonError {}

/// The kind of the next value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// A pull reader over one JSON text.
///
/// Objects are read with [`Reader::begin_object`] and then [`Reader::next_key`] until it
/// returns `None`, reading each member's value in between; arrays likewise with
/// [`Reader::begin_array`] and [`Reader::next_element`]. [`Reader::end`] checks that
/// nothing but whitespace follows the value.
#[derive(Debug)]
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// The open arrays and objects, innermost last.
    open: Vec<Open>,
}

/// An open array or object.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// An object (else an array).
    object: bool,
    /// No element has been read yet.
    first: bool,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self { text, pos: 0, open: Vec::new() }
    }

    /// A reader over UTF-8 bytes.
    ///
    /// # Errors
    /// If the bytes are not UTF-8.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, JsonError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Self::new(text)),
            Err(e) => Err(JsonError { offset: e.valid_up_to(), reason: "not UTF-8" }),
        }
    }

    /// An error at the current position.
    pub fn error_here(&self, reason: &'static str) -> JsonError {
        JsonError { offset: self.pos, reason }
    }

    fn error<T>(&self, reason: &'static str) -> Result<T, JsonError> {
        Err(self.error_here(reason))
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after whitespace, not consumed.
    fn peek_byte(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes().get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    fn expect_byte(&mut self, wanted: u8, reason: &'static str) -> Result<(), JsonError> {
        if self.peek_byte() == Some(wanted) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(reason)
        }
    }

    /// The kind of the next value.
    ///
    /// # Errors
    /// At the end of the text or at a byte that starts no value.
    pub fn peek(&mut self) -> Result<Kind, JsonError> {
        match self.peek_byte() {
            Some(b'n') => Ok(Kind::Null),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b'"') => Ok(Kind::String),
            Some(b'[') => Ok(Kind::Array),
            Some(b'{') => Ok(Kind::Object),
            Some(_) => self.error("expected a value"),
            None => self.error("unexpected end of text"),
        }
    }

    fn literal(&mut self, word: &'static str) -> bool {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// Consumes a `null` if one is next; says whether it did.
    ///
    /// # Errors
    /// At a malformed literal starting with `n`.
    pub fn null(&mut self) -> Result<bool, JsonError> {
        if self.peek_byte() != Some(b'n') {
            return Ok(false);
        }
        if self.literal("null") {
            Ok(true)
        } else {
            self.error("expected null")
        }
    }

    /// Reads `true` or `false`.
    ///
    /// # Errors
    /// If the next value is not a boolean.
    pub fn bool(&mut self) -> Result<bool, JsonError> {
        self.peek_byte();
        if self.literal("true") {
            Ok(true)
        } else if self.literal("false") {
            Ok(false)
        } else {
            self.error("expected true or false")
        }
    }

    /// Reads a number, returned as its text (checked against the JSON grammar).
    ///
    /// # Errors
    /// If the next value is not a number.
    pub fn number(&mut self) -> Result<&'a str, JsonError> {
        self.peek_byte();
        let start = self.pos;
        let bytes = self.bytes();
        let digits = |pos: &mut usize| {
            let from = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos > from
        };
        let mut pos = start;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match bytes.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut pos);
            }
            _ => return self.error("expected a number"),
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            if !digits(&mut pos) {
                self.pos = pos;
                return self.error("expected a digit after the decimal point");
            }
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            if !digits(&mut pos) {
                self.pos = pos;
                return self.error("expected a digit in the exponent");
            }
        }
        self.pos = pos;
        self.slice(start, pos)
    }

    /// Reads a number that must be an integer in `i64` range (no fraction or exponent).
    ///
    /// # Errors
    /// If the next value is not such a number.
    pub fn integer(&mut self) -> Result<i64, JsonError> {
        let start = self.pos;
        let text = self.number()?;
        text.parse().or_else(|_| {
            self.pos = start;
            self.error("expected an integer")
        })
    }

    /// Reads a string; borrowed from the text unless it has escapes.
    ///
    /// # Errors
    /// If the next value is not a well-formed string.
    pub fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.expect_byte(b'"', "expected a string")?;
        let bytes = self.bytes();
        let start = self.pos;
        // Wiped if parsing fails part way (the string may be a secret's base64).
        let mut owned: Option<Zeroizing<String>> = None;
        let mut run = start;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return self.error("unterminated string");
            };
            match b {
                b'"' => {
                    let tail = self.slice(run, self.pos)?;
                    self.pos += 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(std::mem::take(&mut *s))
                        }
                    });
                }
                b'\\' => {
                    // Sized once for the whole raw string (the text is never longer than its
                    // escaped form): no reallocation leaves copies behind, which matters when
                    // the string is secret (the caller wipes it).
                    let s = owned.get_or_insert_with(|| {
                        Zeroizing::new(String::with_capacity(
                            raw_string_end(bytes, self.pos) - start,
                        ))
                    });
                    s.push_str(self.slice(run, self.pos)?);
                    self.pos += 1;
                    let c = self.escape()?;
                    owned.get_or_insert_with(Zeroizing::default).push(c);
                    run = self.pos;
                }
                0..=0x1f => return self.error("control character in a string"),
                // `text` is a str, so multi-byte characters are whole; step over bytes.
                _ => self.pos += 1,
            }
        }
    }

    /// The text from byte `from` to byte `to`.
    ///
    /// The reader only stops at ASCII bytes, so both ends are character boundaries and the
    /// error cannot happen; `get` is used, not indexing, to keep indexing's panic path (and
    /// the formatting code it needs) out of the wasm client.
    fn slice(&self, from: usize, to: usize) -> Result<&'a str, JsonError> {
        match self.text.get(from..to) {
            Some(s) => Ok(s),
            None => self.error("not at a character boundary"),
        }
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let Some(&b) = self.bytes().get(self.pos) else {
            return self.error("unterminated string");
        };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = match first {
                    0xD800..=0xDBFF => {
                        if !self.literal("\\u") {
                            return self.error("lone surrogate in a string");
                        }
                        let second = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return self.error("lone surrogate in a string");
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return self.error("lone surrogate in a string"),
                    _ => first,
                };
                match char::from_u32(code) {
                    Some(c) => c,
                    None => return self.error("invalid escape"),
                }
            }
            _ => {
                self.pos -= 1;
                return self.error("invalid escape");
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.bytes().get(self.pos).and_then(|&b| char::from(b).to_digit(16));
            let Some(digit) = digit else {
                return self.error("expected four hex digits");
            };
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }

    fn open(&mut self, byte: u8, reason: &'static str) -> Result<(), JsonError> {
        self.expect_byte(byte, reason)?;
        let object = byte == b'{';
        if self.open.len() >= NESTING_MAX_DEPTH {
            self.pos -= 1;
            return self.error("nested too deeply");
        }
        self.open.push(Open { object, first: true });
        Ok(())
    }

    /// Whether the open container has another element: consumes the comma before it, or
    /// the closing byte (and then closes the container).
    fn another(&mut self, close: u8) -> Result<bool, JsonError> {
        let Some(open) = self.open.last_mut() else {
            return self.error("no open array or object");
        };
        if open.object != (close == b'}') {
            return self.error("read the open array or object with its own calls");
        }
        let was_first = std::mem::replace(&mut open.first, false);
        match self.peek_byte() {
            Some(b) if b == close => {
                self.pos += 1;
                self.open.pop();
                Ok(false)
            }
            Some(b',') if !was_first => {
                self.pos += 1;
                Ok(true)
            }
            _ if was_first => Ok(true),
            None => self.error("unexpected end of text"),
            _ => self.error("expected a comma or the end of the array or object"),
        }
    }

    /// Consumes `{`.
    ///
    /// # Errors
    /// If the next value is not an object, or nests too deeply.
    pub fn begin_object(&mut self) -> Result<(), JsonError> {
        self.open(b'{', "expected an object")
    }

    /// The next member's name (its value is next), or `None` after the closing `}`.
    ///
    /// # Errors
    /// If the object is malformed.
    pub fn next_key(&mut self) -> Result<Option<Cow<'a, str>>, JsonError> {
        if !self.another(b'}')? {
            return Ok(None);
        }
        let key = self.string()?;
        self.expect_byte(b':', "expected a colon after the member name")?;
        Ok(Some(key))
    }

    /// Consumes `[`.
    ///
    /// # Errors
    /// If the next value is not an array, or nests too deeply.
    pub fn begin_array(&mut self) -> Result<(), JsonError> {
        self.open(b'[', "expected an array")
    }

    /// Whether another element follows (read it next); `false` after the closing `]`.
    ///
    /// # Errors
    /// If the array is malformed.
    pub fn next_element(&mut self) -> Result<bool, JsonError> {
        self.another(b']')
    }

    /// Reads and discards one value of any kind.
    ///
    /// # Errors
    /// If the value is malformed.
    pub fn skip(&mut self) -> Result<(), JsonError> {
        let depth = self.open.len();
        loop {
            match self.peek()? {
                Kind::Null => {
                    self.null()?;
                }
                Kind::Bool => {
                    self.bool()?;
                }
                Kind::Number => {
                    self.number()?;
                }
                Kind::String => {
                    self.string()?;
                }
                Kind::Array => self.begin_array()?,
                Kind::Object => self.begin_object()?,
            }
            // Close every container that ends here, then read the next element's start.
            loop {
                if self.open.len() == depth {
                    return Ok(());
                }
                let in_object = self.in_object()?;
                let more =
                    if in_object { self.next_key()?.is_some() } else { self.next_element()? };
                if more {
                    break;
                }
            }
        }
    }

    /// Whether the innermost open container is an object.
    fn in_object(&self) -> Result<bool, JsonError> {
        match self.open.last() {
            Some(open) => Ok(open.object),
            None => self.error("no open array or object"),
        }
    }

    /// Checks that only whitespace follows.
    ///
    /// # Errors
    /// If anything else follows, or a container is still open.
    pub fn end(mut self) -> Result<(), JsonError> {
        if !self.open.is_empty() {
            return self.error("unclosed array or object");
        }
        match self.peek_byte() {
            None => Ok(()),
            Some(_) => self.error("trailing characters after the value"),
        }
    }
}

/// Where the string whose body starts at `from` ends: its closing quote, or the end of
/// `bytes` if it has none. Escapes are stepped over whole.
fn raw_string_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return i,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Appends `s` to `out` as a JSON string, escaped as serde_json escapes: `\"`, `\\`, the
/// short escapes for control characters that have one, `\u00XX` for the others.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `run` and `i` are at ASCII bytes (or the ends), so `get` always succeeds; it is
        // used, not indexing, to keep indexing's panic path out of the wasm client.
        out.push_str(s.get(run..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// Writes one JSON object, member by member, into zeroizing memory: request bodies may
/// carry plaintext, so every buffer the body outgrows is wiped before it is freed.
#[derive(Debug)]
pub struct ObjectWriter {
    out: Zeroizing<Vec<u8>>,
    empty: bool,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    /// An object with no members yet.
    pub fn new() -> Self {
        let mut out = Zeroizing::new(Vec::with_capacity(256));
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Appends `bytes`, moving to a larger buffer (and wiping the old one) when full.
    fn push(&mut self, bytes: &[u8]) {
        let needed = self.out.len() + bytes.len();
        if needed > self.out.capacity() {
            let mut bigger =
                Zeroizing::new(Vec::with_capacity(needed.max(self.out.capacity() * 2)));
            bigger.extend_from_slice(&self.out);
            // The old buffer is zeroized as it drops.
            self.out = bigger;
        }
        self.out.extend_from_slice(bytes);
    }

    fn push_string(&mut self, s: &str) {
        // Room for the worst case (every byte escaped as `\u00XX`), so the string never
        // reallocates and leaves an unwiped copy behind.
        let mut quoted = Zeroizing::new(String::with_capacity(s.len() * 6 + 2));
        write_string(&mut quoted, s);
        self.push(quoted.as_bytes());
    }

    fn key(&mut self, name: &str) {
        if !std::mem::replace(&mut self.empty, false) {
            self.push(b",");
        }
        self.push_string(name);
        self.push(b":");
    }

    /// A string member.
    pub fn string(&mut self, name: &str, value: &str) {
        self.key(name);
        self.push_string(value);
    }

    /// An integer member.
    pub fn integer(&mut self, name: &str, value: i64) {
        self.key(name);
        self.push(value.to_string().as_bytes());
    }

    /// A boolean member.
    pub fn bool(&mut self, name: &str, value: bool) {
        self.key(name);
        self.push(if value { b"true" } else { b"false" });
    }

    /// A binary member, as standard base64 with padding. The encoded copy is wiped.
    pub fn base64(&mut self, name: &str, bytes: &[u8]) {
        self.key(name);
        let encoded = Zeroizing::new(base64::encode(bytes));
        self.push_string(&encoded);
    }

    /// A member holding an object of strings (an encryption context), from its pairs in
    /// the order given (a `&BTreeMap<String, String>` or kms-envelope's context, say).
    pub fn string_map<'a>(
        &mut self,
        name: &str,
        pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) {
        self.key(name);
        self.push(b"{");
        for (i, (k, v)) in pairs.into_iter().enumerate() {
            if i > 0 {
                self.push(b",");
            }
            self.push_string(k);
            self.push(b":");
            self.push_string(v);
        }
        self.push(b"}");
    }

    /// A member holding an array of strings.
    pub fn strings(&mut self, name: &str, values: &[String]) {
        self.key(name);
        self.push(b"[");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(b",");
            }
            self.push_string(v);
        }
        self.push(b"]");
    }

    /// The finished object.
    pub fn finish(mut self) -> Zeroizing<Vec<u8>> {
        self.push(b"}");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// Reads one value into a serde_json `Value` with the pull reader (numbers through
    /// serde_json, which is what they are compared with).
    fn read_value(r: &mut Reader<'_>) -> Result<Value, JsonError> {
        Ok(match r.peek()? {
            Kind::Null => {
                r.null()?;
                Value::Null
            }
            Kind::Bool => Value::Bool(r.bool()?),
            Kind::Number => serde_json::from_str(r.number()?).expect("grammar-checked number"),
            Kind::String => Value::String(r.string()?.into_owned()),
            Kind::Array => {
                r.begin_array()?;
                let mut out = Vec::new();
                while r.next_element()? {
                    out.push(read_value(r)?);
                }
                Value::Array(out)
            }
            Kind::Object => {
                r.begin_object()?;
                let mut out = serde_json::Map::new();
                while let Some(k) = r.next_key()? {
                    let v = read_value(r)?;
                    out.insert(k.into_owned(), v);
                }
                Value::Object(out)
            }
        })
    }

    fn parse(text: &str) -> Result<Value, JsonError> {
        let mut r = Reader::new(text);
        let v = read_value(&mut r)?;
        r.end()?;
        Ok(v)
    }

    fn skips(text: &str) -> bool {
        let mut r = Reader::new(text);
        r.skip().is_ok() && r.end().is_ok()
    }

    #[test]
    fn reads_every_kind() {
        let text = r#" {"a": [1, -2.5e3, true, false, null, "x\u00e9\n\"\ud83d\ude00"], "b": {}} "#;
        assert_eq!(parse(text).unwrap(), serde_json::from_str::<Value>(text).unwrap());
        assert!(skips(text));
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let mut r = Reader::new(r#""plain""#);
        assert!(matches!(r.string().unwrap(), Cow::Borrowed("plain")));
    }

    #[test]
    fn strings_with_escapes_are_copied_in_one_allocation_of_the_raw_length() {
        // Raw bodies of 19 and 13 bytes; the decoded texts are shorter.
        let mut r = Reader::new(r#"["AQID\/w\u003d\u003d", "a\\b\"c\ndefg"]"#);
        r.begin_array().unwrap();
        assert!(r.next_element().unwrap());
        let Cow::Owned(first) = r.string().unwrap() else { panic!("escapes copy") };
        assert_eq!((first.as_str(), first.capacity()), ("AQID/w==", 19));
        assert!(r.next_element().unwrap());
        let Cow::Owned(second) = r.string().unwrap() else { panic!("escapes copy") };
        assert_eq!((second.as_str(), second.capacity()), ("a\\b\"c\ndefg", 13));
        assert!(!r.next_element().unwrap());
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "[1 2]",
            "01",
            "1.",
            "1e",
            "-",
            "+1",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00x\"",
            "\"a\nb\"",
            "tru",
            "nul",
            "[1]]",
            "{} x",
            "{1:2}",
            "\"abc",
            "[\"a\",]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
            assert!(!skips(bad), "{bad:?} skipped");
            assert!(serde_json::from_str::<Value>(bad).is_err(), "serde_json took {bad:?}");
        }
    }

    #[test]
    fn integers_only_in_range_and_without_fraction() {
        assert_eq!(Reader::new("-42").integer().unwrap(), -42);
        assert_eq!(Reader::new("9223372036854775807").integer().unwrap(), i64::MAX);
        assert!(Reader::new("9223372036854775808").integer().is_err());
        assert!(Reader::new("1.0").integer().is_err());
        assert!(Reader::new("1e3").integer().is_err());
    }

    #[test]
    fn nesting_is_limited() {
        let ok = "[".repeat(NESTING_MAX_DEPTH) + &"]".repeat(NESTING_MAX_DEPTH);
        assert!(skips(&ok));
        let deep = "[".repeat(NESTING_MAX_DEPTH + 1) + &"]".repeat(NESTING_MAX_DEPTH + 1);
        assert_eq!(Reader::new(&deep).skip().unwrap_err().reason, "nested too deeply");
    }

    #[test]
    fn calls_must_match_the_open_container() {
        let mut r = Reader::new("[1]");
        r.begin_array().unwrap();
        assert!(r.next_key().is_err());
    }

    #[test]
    fn writer_escapes_as_serde_json_does() {
        let all: String = (0u8..0x80).map(char::from).chain("é😀".chars()).collect();
        let mut w = ObjectWriter::new();
        w.string("k\"", &all);
        let expected = format!("{{{}:{}}}", serde_json::json!("k\""), serde_json::json!(all));
        assert_eq!(&*w.finish(), expected.as_bytes());
    }

    #[test]
    fn writer_writes_every_member_kind() {
        let mut w = ObjectWriter::new();
        w.string("S", "v");
        w.integer("N", -7);
        w.bool("T", true);
        w.base64("B", &[0, 1, 2, 250]);
        let context = std::collections::BTreeMap::from([
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ]);
        w.string_map("M", &context);
        w.strings("L", &["x".to_owned(), "y".to_owned()]);
        w.string_map("E", []);
        w.strings("Z", &[]);
        assert_eq!(
            std::str::from_utf8(&w.finish()).unwrap(),
            r#"{"S":"v","N":-7,"T":true,"B":"AAEC+g==","M":{"a":"1","b":"2"},"L":["x","y"],"E":{},"Z":[]}"#
        );
        assert_eq!(&*ObjectWriter::new().finish(), b"{}");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn reads_what_serde_json_writes(v in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            // Against serde_json's own reading: without its float_roundtrip feature it does
            // not read back every f64 it writes.
            prop_assert_eq!(parse(&text).unwrap(), serde_json::from_str::<Value>(&text).unwrap());
            prop_assert!(skips(&text));
        }

        #[test]
        fn accepts_exactly_what_serde_json_accepts(text in r#"[\[\]{}",:0-9aeE.+\- \\u/tfrnl]{0,24}"#) {
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
            prop_assert_eq!(skips(&text), theirs, "{:?}", text);
            prop_assert_eq!(parse(&text).is_ok(), theirs, "{:?}", text);
        }

        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(mut r) = Reader::from_bytes(&bytes) {
                let _ = r.skip();
            }
        }

        #[test]
        fn written_objects_read_back(
            members in prop::collection::btree_map(any::<String>(), any::<String>(), 0..6),
            n in any::<i64>(),
            bytes in prop::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut w = ObjectWriter::new();
            for (k, v) in &members {
                w.string(k, v);
            }
            w.integer("\u{0}n", n);
            w.base64("\u{0}b", &bytes);
            w.string_map("\u{0}m", &members);
            let out = w.finish();
            let v: Value = serde_json::from_slice(&out).unwrap();
            for (k, s) in &members {
                prop_assert_eq!(&v[k.as_str()], &Value::String(s.clone()));
                prop_assert_eq!(&v["\u{0}m"][k.as_str()], &Value::String(s.clone()));
            }
            prop_assert_eq!(v["\u{0}n"].as_i64(), Some(n));
            prop_assert_eq!(v["\u{0}b"].as_str().unwrap(), base64::encode(&bytes));
        }
    }
}
