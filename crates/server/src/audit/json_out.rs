//! A small JSON writer for audit records: members are written straight into the record's
//! buffer in order, without building a tree or going through a serialiser. Every record of
//! every call is written with it, so it is kept cheap: string values without characters that
//! need escaping (ids, ARNs, names) are copied as they are.

use std::fmt::Write as _;

/// Writes one JSON object's members, in order, into `out`.
pub struct Object<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> Object<'o> {
    /// Opens an object (`{`).
    pub fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Writes a member's name; its value must follow. Names are this crate's own (CloudTrail's
    /// member names and AWS's request member names), which need no escaping.
    fn name(&mut self, name: &str) {
        debug_assert!(!any_needs_escape(name.as_bytes()), "member name {name:?} needs escaping");
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A string member.
    pub fn str(&mut self, name: &str, value: &str) {
        self.name(name);
        string(self.out, value);
    }

    /// A string member, left out when `value` is `None`.
    pub fn opt_str(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(name, value);
        }
    }

    /// A string member, or `null`.
    pub fn str_or_null(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(value) => self.str(name, value),
            None => self.raw(name, "null"),
        }
    }

    /// A boolean member.
    pub fn bool(&mut self, name: &str, value: bool) {
        self.raw(name, if value { "true" } else { "false" });
    }

    /// An integer member.
    pub fn u64(&mut self, name: &str, value: u64) {
        self.name(name);
        // Writing into a Vec cannot fail.
        let _ = write!(Utf8(self.out), "{value}");
    }

    /// A member whose value is already JSON text (copied as it is: the caller vouches for it).
    pub fn raw(&mut self, name: &str, json: &str) {
        self.name(name);
        self.out.extend_from_slice(json.as_bytes());
    }

    /// A member whose value is written by `value` into the buffer.
    pub fn with(&mut self, name: &str, value: impl FnOnce(&mut Vec<u8>)) {
        self.name(name);
        value(self.out);
    }

    /// An object member, its members written by `members`.
    pub fn object(&mut self, name: &str, members: impl FnOnce(&mut Object<'_>)) {
        self.name(name);
        let mut inner = Object::open(self.out);
        members(&mut inner);
        inner.close();
    }

    /// Closes the object (`}`).
    pub fn close(self) {
        self.out.push(b'}');
    }
}

/// Adapts the buffer to `fmt::Write` for numbers.
struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes `items` as a JSON array, each element written by `item`.
pub fn array<T>(out: &mut Vec<u8>, items: &[T], item: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, value) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item(out, value);
    }
    out.push(b']');
}

/// Writes `value` as a JSON string: quoted, with `"`, `\` and control characters escaped.
pub fn string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    if !any_needs_escape(bytes) {
        out.extend_from_slice(bytes);
    } else {
        let mut plain_from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !needs_escape(b) {
                continue;
            }
            out.extend_from_slice(&bytes[plain_from..i]);
            plain_from = i + 1;
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                control => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(control >> 4)]);
                    out.push(HEX[usize::from(control & 0xf)]);
                }
            }
        }
        out.extend_from_slice(&bytes[plain_from..]);
    }
    out.push(b'"');
}

/// Whether any byte of `bytes` must be escaped. Written as a fold over blocks without an
/// early exit inside a block, which the compiler turns into vector instructions.
fn any_needs_escape(bytes: &[u8]) -> bool {
    bytes.chunks(32).any(|block| block.iter().fold(false, |seen, &b| seen | needs_escape(b)))
}

/// Whether a byte of a UTF-8 string must be escaped inside a JSON string. (Bytes of
/// multi-byte characters are all >= 0x80, so they never are.)
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Writes `ms` (milliseconds since the epoch) as CloudTrail's `eventTime`, quoted:
/// `"2026-12-05T06:00:00Z"`, to the second.
pub fn event_time(out: &mut Vec<u8>, ms: i64) {
    out.push(b'"');
    rfc3339(out, ms);
    out.push(b'"');
}

/// Writes `ms` (milliseconds since the epoch) in RFC 3339 to the second, UTC:
/// `2026-12-05T06:00:00Z`.
pub fn rfc3339(out: &mut Vec<u8>, ms: i64) {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (year, month, day) = t.to_calendar_date();
    let (hour, minute, second) = t.to_hms();
    // Years of the range `from_unix_timestamp` accepts for realistic clocks have four digits;
    // others are written as they are.
    match u16::try_from(year) {
        Ok(year) if year <= 9999 => {
            digits(out, year / 100);
            digits(out, year % 100);
        }
        _ => {
            let _ = write!(Utf8(out), "{year}");
        }
    }
    out.push(b'-');
    digits(out, u16::from(u8::from(month)));
    out.push(b'-');
    digits(out, u16::from(day));
    out.push(b'T');
    digits(out, u16::from(hour));
    out.push(b':');
    digits(out, u16::from(minute));
    out.push(b':');
    digits(out, u16::from(second));
    out.push(b'Z');
}

/// Two decimal digits of `n` (< 100).
fn digits(out: &mut Vec<u8>, n: u16) {
    // `n % 100 / 10` and `n % 10` are single digits.
    out.push(b'0' + (n % 100 / 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn text(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn objects_nest_and_separate_members() {
        let json = text(|out| {
            let mut o = Object::open(out);
            o.str("a", "x");
            o.opt_str("skipped", None);
            o.str_or_null("n", None);
            o.bool("t", true);
            o.u64("u", 18_446_744_073_709_551_615);
            o.object("inner", |i| {
                i.str("q", "say \"hi\"\\\n\t\r\u{1}é");
            });
            o.object("empty", |_| {});
            o.raw("r", "[1,2]");
            o.close();
        });
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "a": "x", "n": null, "t": true, "u": 18_446_744_073_709_551_615_u64,
                "inner": {"q": "say \"hi\"\\\n\t\r\u{1}é"}, "empty": {}, "r": [1, 2],
            })
        );
    }

    #[test]
    fn event_times_match_rfc3339_to_the_second() {
        assert_eq!(text(|o| event_time(o, 1_764_915_000_999)), "\"2025-12-05T06:10:00Z\"");
        assert_eq!(text(|o| event_time(o, 0)), "\"1970-01-01T00:00:00Z\"");
        assert_eq!(text(|o| event_time(o, -1)), "\"1969-12-31T23:59:59Z\"");
        assert_eq!(text(|o| event_time(o, 253_402_300_799_000)), "\"9999-12-31T23:59:59Z\"");
    }

    proptest! {
        #[test]
        fn any_string_round_trips(s in any::<String>()) {
            let json = text(|out| string(out, &s));
            prop_assert!(!json.contains('\n'), "one line");
            let back: String = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn any_time_formats_as_time_does(secs in -62_135_596_800_i64..253_402_300_800) {
            let json = text(|out| event_time(out, secs * 1000));
            let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let expected = t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            prop_assert_eq!(json, format!("\"{expected}\""));
        }
    }
}
