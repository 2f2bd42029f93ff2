//! The DynamoDB attribute model: parsing and writing DynamoDB JSON, and the canonical
//! binary serialisation of a value with its type id (spec
//! `dynamodb-encryption-client/ddb-attribute-serialization.md`).
//!
//! Values are held in canonical form: numbers normalised as DynamoDB normalises them, set
//! members sorted and unique. So two items that DynamoDB would store identically compare
//! equal, and serialisation is a function of the value alone.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use kms_api::base64;
use kms_api::json::{write_string, JsonError, Kind, Reader as JsonReader};
use serde_json::{Map, Value};

use crate::codec::Reader;
use crate::item::ItemError;

/// An item: attribute names to values.
pub type Item = BTreeMap<String, AttributeValue>;

/// DynamoDB's maximum nesting depth of maps and lists.
pub const NESTING_MAX_DEPTH: usize = 32;
/// DynamoDB's limit on significant digits of a number.
const NUMBER_MAX_DIGITS: usize = 38;
/// The decimal exponent range DynamoDB accepts (of the leading digit).
const NUMBER_MIN_MAGNITUDE: i64 = -130;
const NUMBER_MAX_MAGNITUDE: i64 = 125;

/// Type ids (spec `ddb-attribute-serialization.md#type-id`).
pub mod type_id {
    /// `NULL`.
    pub const NULL: u16 = 0x0000;
    /// `S`.
    pub const S: u16 = 0x0001;
    /// `N`.
    pub const N: u16 = 0x0002;
    /// `BOOL`.
    pub const BOOL: u16 = 0x0004;
    /// `SS`.
    pub const SS: u16 = 0x0101;
    /// `NS`.
    pub const NS: u16 = 0x0102;
    /// `BS`.
    pub const BS: u16 = 0x01FF;
    /// `M`.
    pub const M: u16 = 0x0200;
    /// `L`.
    pub const L: u16 = 0x0300;
    /// `B`, and every encrypted value, header and footer.
    pub const B: u16 = 0xFFFF;
}

/// One DynamoDB attribute value, in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    /// `S`: a string.
    S(String),
    /// `N`: a number, normalised (see [`normalize_number`]).
    N(String),
    /// `B`: bytes (base64 in DynamoDB JSON).
    B(Vec<u8>),
    /// `BOOL`.
    Bool(bool),
    /// `NULL` (always `true` in DynamoDB JSON).
    Null,
    /// `M`: a map.
    M(BTreeMap<String, AttributeValue>),
    /// `L`: a list.
    L(Vec<AttributeValue>),
    /// `SS`: a non-empty set of strings, sorted in UTF-16 order.
    Ss(Vec<String>),
    /// `NS`: a non-empty set of normalised numbers, sorted.
    Ns(Vec<String>),
    /// `BS`: a non-empty set of byte strings, sorted.
    Bs(Vec<Vec<u8>>),
}

impl AttributeValue {
    /// The DynamoDB type name (`S`, `N`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::S(_) => "S",
            Self::N(_) => "N",
            Self::B(_) => "B",
            Self::Bool(_) => "BOOL",
            Self::Null => "NULL",
            Self::M(_) => "M",
            Self::L(_) => "L",
            Self::Ss(_) => "SS",
            Self::Ns(_) => "NS",
            Self::Bs(_) => "BS",
        }
    }

    /// The type id of the spec's serialisation.
    pub fn type_id(&self) -> u16 {
        match self {
            Self::S(_) => type_id::S,
            Self::N(_) => type_id::N,
            Self::B(_) => type_id::B,
            Self::Bool(_) => type_id::BOOL,
            Self::Null => type_id::NULL,
            Self::M(_) => type_id::M,
            Self::L(_) => type_id::L,
            Self::Ss(_) => type_id::SS,
            Self::Ns(_) => type_id::NS,
            Self::Bs(_) => type_id::BS,
        }
    }

    /// Parses one DynamoDB JSON attribute value, such as `{"S": "x"}`.
    ///
    /// # Errors
    /// [`ItemError::InvalidItem`] for anything DynamoDB would reject: an unknown type,
    /// more than one type, a bad number, base64 or `NULL` value, an empty or duplicated
    /// set, nesting deeper than 32.
    pub fn from_json(value: &Value) -> Result<Self, ItemError> {
        Self::from_json_text(&value.to_string())
    }

    /// [`AttributeValue::from_json`] on JSON text.
    ///
    /// # Errors
    /// As [`AttributeValue::from_json`], and [`ItemError::InvalidItem`] for bad JSON.
    pub fn from_json_text(text: &str) -> Result<Self, ItemError> {
        let mut r = JsonReader::new(text);
        let value = Self::read_json(&mut r, 0)?;
        r.end()?;
        Ok(value)
    }

    fn read_json(r: &mut JsonReader<'_>, depth: usize) -> Result<Self, ItemError> {
        if depth > NESTING_MAX_DEPTH {
            return Err(invalid("maps and lists nest deeper than 32 levels"));
        }
        if r.peek()? != Kind::Object {
            return Err(invalid("an attribute value must be an object"));
        }
        r.begin_object()?;
        let one_key = || invalid("an attribute value must have exactly one type key");
        let kind = r.next_key()?.ok_or_else(one_key)?;
        let value = match &*kind {
            "S" => Self::S(json_text(r, "S")?),
            "N" => Self::N(normalize_number(&json_text(r, "N")?)?),
            "B" => Self::B(decode_base64(&json_text(r, "B")?)?),
            "BOOL" => match r.peek()? {
                Kind::Bool => Self::Bool(r.bool()?),
                _ => return Err(invalid("a BOOL value must be true or false")),
            },
            "NULL" => match r.peek()? {
                Kind::Bool if r.bool()? => Self::Null,
                _ => return Err(invalid("a NULL value must be true")),
            },
            "M" => {
                if r.peek()? != Kind::Object {
                    return Err(invalid("an M value must be an object"));
                }
                r.begin_object()?;
                let mut out = BTreeMap::new();
                while let Some(k) = r.next_key()? {
                    check_map_key(&k)?;
                    let v = Self::read_json(r, depth + 1)?;
                    out.insert(k.into_owned(), v);
                }
                Self::M(out)
            }
            "L" => {
                json_array(r, "L")?;
                let mut out = Vec::new();
                while r.next_element()? {
                    out.push(Self::read_json(r, depth + 1)?);
                }
                Self::L(out)
            }
            "SS" | "NS" | "BS" => {
                json_array(r, &kind)?;
                let mut members = Vec::new();
                while r.next_element()? {
                    if r.peek()? != Kind::String {
                        return Err(invalid(&format!("{kind} members must be strings")));
                    }
                    members.push(r.string()?.into_owned());
                }
                match &*kind {
                    "SS" => Self::Ss(canonical_set(members, |a, b| cmp_utf16(a, b), "SS")?),
                    "NS" => {
                        let members = members
                            .iter()
                            .map(|m| normalize_number(m))
                            .collect::<Result<_, _>>()?;
                        Self::Ns(canonical_set(members, |a, b| cmp_utf16(a, b), "NS")?)
                    }
                    _ => {
                        let members =
                            members.iter().map(|m| decode_base64(m)).collect::<Result<_, _>>()?;
                        Self::Bs(canonical_set(members, Ord::cmp, "BS")?)
                    }
                }
            }
            other => return Err(invalid(&format!("unknown attribute type {other:?}"))),
        };
        if r.next_key()?.is_some() {
            return Err(one_key());
        }
        Ok(value)
    }

    /// Appends the DynamoDB JSON form to `out` (what [`AttributeValue::to_json`] holds).
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"");
        out.push_str(self.type_name());
        out.push_str("\":");
        let list = |out: &mut String, members: &mut dyn Iterator<Item = String>| {
            out.push('[');
            for (i, m) in members.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, &m);
            }
            out.push(']');
        };
        match self {
            Self::S(s) | Self::N(s) => write_string(out, s),
            Self::B(b) => write_string(out, &base64::encode(b)),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Null => out.push_str("true"),
            Self::M(m) => write_json_map(out, m),
            Self::L(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Self::Ss(s) | Self::Ns(s) => list(out, &mut s.iter().cloned()),
            Self::Bs(s) => list(out, &mut s.iter().map(base64::encode)),
        }
        out.push('}');
    }

    /// The DynamoDB JSON form, such as `{"S": "x"}` (binary as standard base64).
    pub fn to_json(&self) -> Value {
        let (kind, inner) = match self {
            Self::S(s) => ("S", Value::String(s.clone())),
            Self::N(n) => ("N", Value::String(n.clone())),
            Self::B(b) => ("B", Value::String(base64::encode(b))),
            Self::Bool(b) => ("BOOL", Value::Bool(*b)),
            Self::Null => ("NULL", Value::Bool(true)),
            Self::M(m) => {
                ("M", Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()))
            }
            Self::L(l) => ("L", Value::Array(l.iter().map(Self::to_json).collect())),
            Self::Ss(s) => ("SS", s.iter().cloned().map(Value::String).collect()),
            Self::Ns(s) => ("NS", s.iter().cloned().map(Value::String).collect()),
            Self::Bs(s) => ("BS", s.iter().map(|b| Value::String(base64::encode(b))).collect()),
        };
        let mut object = Map::new();
        object.insert(kind.to_owned(), inner);
        Value::Object(object)
    }

    /// The spec's serialisation of the value (without its type id).
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.serialize_into(&mut out);
        out
    }

    fn serialize_into(&self, out: &mut Vec<u8>) {
        match self {
            Self::S(s) | Self::N(s) => out.extend_from_slice(s.as_bytes()),
            Self::B(b) => out.extend_from_slice(b),
            Self::Bool(b) => out.push(u8::from(*b)),
            Self::Null => {}
            Self::Ss(set) | Self::Ns(set) => {
                put_len(out, set.len());
                for member in set {
                    put_len(out, member.len());
                    out.extend_from_slice(member.as_bytes());
                }
            }
            Self::Bs(set) => {
                put_len(out, set.len());
                for member in set {
                    put_len(out, member.len());
                    out.extend_from_slice(member);
                }
            }
            Self::M(map) => {
                put_len(out, map.len());
                let mut keys: Vec<&String> = map.keys().collect();
                sort_with(&mut keys, |a, b| cmp_utf16(a, b));
                for key in keys {
                    out.extend_from_slice(&type_id::S.to_be_bytes());
                    put_len(out, key.len());
                    out.extend_from_slice(key.as_bytes());
                    // Invariant: `key` was taken from `map`.
                    if let Some(value) = map.get(key) {
                        put_typed(out, value);
                    }
                }
            }
            Self::L(list) => {
                put_len(out, list.len());
                for value in list {
                    put_typed(out, value);
                }
            }
        }
    }

    /// Parses the spec's serialisation of a value of type `type_id`; the bytes must be
    /// canonical (what [`AttributeValue::serialize`] writes) and be consumed exactly.
    ///
    /// # Errors
    /// [`ItemError::Malformed`] if they are not.
    pub fn deserialize(type_id: u16, bytes: &[u8]) -> Result<Self, ItemError> {
        Self::deserialize_at(type_id, bytes, 0)
    }

    fn deserialize_at(id: u16, bytes: &[u8], depth: usize) -> Result<Self, ItemError> {
        if depth > NESTING_MAX_DEPTH {
            return Err(malformed("value nests deeper than 32 levels"));
        }
        let mut r = Reader::new(bytes);
        let value = match id {
            type_id::NULL if bytes.is_empty() => Self::Null,
            type_id::NULL => return Err(malformed("a null value must be empty")),
            type_id::S => Self::S(utf8(bytes)?),
            type_id::N => {
                let n = utf8(bytes)?;
                if normalize_number(&n).ok().as_deref() != Some(n.as_str()) {
                    return Err(malformed("number is not normalised"));
                }
                Self::N(n)
            }
            type_id::B => Self::B(bytes.to_vec()),
            type_id::BOOL => match bytes {
                [0] => Self::Bool(false),
                [1] => Self::Bool(true),
                _ => return Err(malformed("boolean")),
            },
            type_id::SS | type_id::NS => {
                let mut set = Vec::new();
                for _ in 0..read_len(&mut r)? {
                    let member = utf8(read_chunk(&mut r)?)?;
                    if id == type_id::NS && normalize_number(&member).ok().as_ref() != Some(&member)
                    {
                        return Err(malformed("number is not normalised"));
                    }
                    set.push(member);
                }
                check_sorted(&set, |a: &String, b: &String| cmp_utf16(a, b))?;
                if id == type_id::SS {
                    Self::Ss(set)
                } else {
                    Self::Ns(set)
                }
            }
            type_id::BS => {
                let mut set = Vec::new();
                for _ in 0..read_len(&mut r)? {
                    set.push(read_chunk(&mut r)?.to_vec());
                }
                check_sorted(&set, Ord::cmp)?;
                Self::Bs(set)
            }
            type_id::M => {
                let mut map = BTreeMap::new();
                let mut previous: Option<String> = None;
                for _ in 0..read_len(&mut r)? {
                    if read_u16(&mut r)? != type_id::S {
                        return Err(malformed("map key type"));
                    }
                    let key = utf8(read_chunk(&mut r)?)?;
                    check_map_key(&key).map_err(|_| malformed("empty map key"))?;
                    if previous.as_ref().is_some_and(|p| cmp_utf16(p, &key) != Ordering::Less) {
                        return Err(malformed("map keys out of order"));
                    }
                    let value_id = read_u16(&mut r)?;
                    let value = Self::deserialize_at(value_id, read_chunk(&mut r)?, depth + 1)?;
                    map.insert(key.clone(), value);
                    previous = Some(key);
                }
                Self::M(map)
            }
            type_id::L => {
                let mut list = Vec::new();
                for _ in 0..read_len(&mut r)? {
                    let value_id = read_u16(&mut r)?;
                    list.push(Self::deserialize_at(value_id, read_chunk(&mut r)?, depth + 1)?);
                }
                Self::L(list)
            }
            _ => return Err(malformed("unknown type id")),
        };
        if matches!(id, type_id::SS | type_id::NS | type_id::BS | type_id::M | type_id::L)
            && !r.is_empty()
        {
            return Err(malformed("trailing bytes in value"));
        }
        if matches!(&value, Self::Ss(s) | Self::Ns(s) if s.is_empty())
            || matches!(&value, Self::Bs(s) if s.is_empty())
        {
            return Err(malformed("empty set"));
        }
        Ok(value)
    }
}

impl zeroize::Zeroize for AttributeValue {
    /// Overwrites every string and byte buffer in the value (used on plaintext values that
    /// encryption replaces).
    fn zeroize(&mut self) {
        match self {
            Self::S(s) | Self::N(s) => s.zeroize(),
            Self::B(b) => b.zeroize(),
            Self::Bool(b) => *b = false,
            Self::Null => {}
            Self::M(map) => {
                // Keys are names, not values; the values are overwritten.
                map.values_mut().for_each(zeroize::Zeroize::zeroize);
            }
            Self::L(list) => list.iter_mut().for_each(zeroize::Zeroize::zeroize),
            Self::Ss(set) | Self::Ns(set) => set.iter_mut().for_each(zeroize::Zeroize::zeroize),
            Self::Bs(set) => set.iter_mut().for_each(zeroize::Zeroize::zeroize),
        }
    }
}

/// Parses a DynamoDB JSON item (an object of attribute values).
///
/// # Errors
/// [`ItemError::InvalidItem`] if it is not an object, a name is empty, or a value is invalid.
pub fn item_from_json(item: &Value) -> Result<Item, ItemError> {
    item_from_json_text(&item.to_string())
}

/// [`item_from_json`] on JSON text.
///
/// # Errors
/// As [`item_from_json`], and [`ItemError::InvalidItem`] for bad JSON.
pub fn item_from_json_text(text: &str) -> Result<Item, ItemError> {
    let mut r = JsonReader::new(text);
    if r.peek()? != Kind::Object {
        return Err(invalid("an item must be a JSON object"));
    }
    r.begin_object()?;
    let mut out = Item::new();
    while let Some(name) = r.next_key()? {
        if name.is_empty() {
            return Err(invalid("attribute names must not be empty"));
        }
        let parsed = AttributeValue::read_json(&mut r, 0)
            .map_err(|e| prefix_error(e, &format!("attribute {name:?}: ")))?;
        out.insert(name.into_owned(), parsed);
    }
    r.end()?;
    Ok(out)
}

/// Writes an item as DynamoDB JSON.
pub fn item_to_json(item: &Item) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// Writes an item as DynamoDB JSON text (the text of [`item_to_json`]).
pub fn item_to_json_text(item: &Item) -> String {
    let mut out = String::new();
    write_json_map(&mut out, item);
    out
}

fn write_json_map(out: &mut String, map: &BTreeMap<String, AttributeValue>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        v.write_json(out);
    }
    out.push('}');
}

/// A string value of a `what` attribute.
fn json_text(r: &mut JsonReader<'_>, what: &str) -> Result<String, ItemError> {
    if r.peek()? != Kind::String {
        return Err(invalid(&format!("a {what} value must be a JSON string")));
    }
    Ok(r.string()?.into_owned())
}

/// Opens the array value of a `what` attribute.
fn json_array(r: &mut JsonReader<'_>, what: &str) -> Result<(), ItemError> {
    if r.peek()? != Kind::Array {
        return Err(invalid(&format!("a {what} value must be a JSON array")));
    }
    Ok(r.begin_array()?)
}

impl From<JsonError> for ItemError {
    fn from(e: JsonError) -> Self {
        ItemError::InvalidItem(format!("item JSON: {e}"))
    }
}

/// Normalises a DynamoDB number as DynamoDB does: no exponent, no leading zeros, no
/// trailing fractional zeros, no `+` sign, `-0` is `0`; at most 38 significant digits and
/// a magnitude between 1E-130 and 9.99...E+125.
///
/// # Errors
/// [`ItemError::InvalidItem`] if `text` is not a number DynamoDB accepts.
pub fn normalize_number(text: &str) -> Result<String, ItemError> {
    let bad = || invalid(&format!("{text:?} is not a valid DynamoDB number"));
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !digits_ok(int_part) || !digits_ok(frac_part) {
        return Err(bad());
    }
    let mut exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (sign, body) = match e.as_bytes().first() {
                Some(b'-') => (-1, &e[1..]),
                Some(b'+') => (1, &e[1..]),
                _ => (1, e),
            };
            if body.is_empty() || !digits_ok(body) {
                return Err(bad());
            }
            let body = body.trim_start_matches('0');
            // Past 6 digits the number is out of range (or zero) whatever the mantissa.
            if body.len() > 6 {
                9_999_999 * sign
            } else {
                body.parse::<i64>().unwrap_or(0) * sign
            }
        }
    };
    // value = digits * 10^exp, with digits an integer.
    let mut digits: String = format!("{int_part}{frac_part}");
    exp -= frac_part.len() as i64;
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Ok("0".to_owned());
    }
    digits = trimmed.to_owned();
    while digits.ends_with('0') {
        digits.pop();
        exp += 1;
    }
    if digits.len() > NUMBER_MAX_DIGITS {
        return Err(invalid(&format!("{text:?} has more than 38 significant digits")));
    }
    let magnitude = digits.len() as i64 - 1 + exp;
    if !(NUMBER_MIN_MAGNITUDE..=NUMBER_MAX_MAGNITUDE).contains(&magnitude) {
        return Err(invalid(&format!("{text:?} is out of DynamoDB's number range")));
    }
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if exp >= 0 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', exp as usize));
    } else {
        let point = digits.len() as i64 + exp;
        if point > 0 {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        }
    }
    Ok(out)
}

/// Compares strings in UTF-16 code unit order, as DynamoDB orders set members and map keys.
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

pub(crate) use kms_api::sort::sort_with;

fn canonical_set<T>(
    mut members: Vec<T>,
    cmp: fn(&T, &T) -> Ordering,
    kind: &str,
) -> Result<Vec<T>, ItemError> {
    if members.is_empty() {
        return Err(invalid(&format!("an {kind} set must not be empty")));
    }
    sort_with(&mut members, cmp);
    if members.windows(2).any(|w| cmp(&w[0], &w[1]) == Ordering::Equal) {
        return Err(invalid(&format!("an {kind} set must not contain duplicates")));
    }
    Ok(members)
}

fn check_sorted<T>(set: &[T], cmp: impl Fn(&T, &T) -> Ordering) -> Result<(), ItemError> {
    if set.windows(2).all(|w| cmp(&w[0], &w[1]) == Ordering::Less) {
        Ok(())
    } else {
        Err(malformed("set members out of order or repeated"))
    }
}

fn check_map_key(key: &str) -> Result<(), ItemError> {
    if key.is_empty() {
        Err(invalid("map keys must not be empty"))
    } else {
        Ok(())
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>, ItemError> {
    base64::decode(text).map_err(|_| invalid("a binary value must be standard base64"))
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // DynamoDB items are at most 400 KB, far below 4 GiB.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_typed(out: &mut Vec<u8>, value: &AttributeValue) {
    out.extend_from_slice(&value.type_id().to_be_bytes());
    let inner = value.serialize();
    put_len(out, inner.len());
    out.extend_from_slice(&inner);
}

fn read_u16(r: &mut Reader<'_>) -> Result<u16, ItemError> {
    r.u16().map_err(|_| malformed("truncated value"))
}

fn read_len(r: &mut Reader<'_>) -> Result<u32, ItemError> {
    r.u32().map_err(|_| malformed("truncated value"))
}

fn read_chunk<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], ItemError> {
    let n = read_len(r)?;
    r.bytes(n as usize).map_err(|_| malformed("truncated value"))
}

fn utf8(bytes: &[u8]) -> Result<String, ItemError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("string is not UTF-8"))
}

fn invalid(message: &str) -> ItemError {
    ItemError::InvalidItem(message.to_owned())
}

fn malformed(message: &'static str) -> ItemError {
    ItemError::Malformed(message)
}

fn prefix_error(e: ItemError, prefix: &str) -> ItemError {
    match e {
        ItemError::InvalidItem(m) => ItemError::InvalidItem(format!("{prefix}{m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_normalise_as_dynamodb_does() {
        for (input, expected) in [
            ("0", "0"),
            ("-0", "0"),
            ("+00.000", "0"),
            ("007", "7"),
            ("1.50", "1.5"),
            ("1e2", "100"),
            ("1.23E-2", "0.0123"),
            ("-12.3400e1", "-123.4"),
            ("1E125", &format!("1{}", "0".repeat(125))),
            ("1e-130", &format!("0.{}1", "0".repeat(129))),
            (".5", "0.5"),
            ("5.", "5"),
        ] {
            assert_eq!(normalize_number(input).unwrap(), expected, "{input}");
        }
        for bad in ["", "-", "1e", "e5", "1.2.3", "abc", "1e126", "1e-131", "0x10", " 1", "1 "] {
            assert!(normalize_number(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_number(&"1".repeat(39)).is_err());
        assert!(normalize_number(&"1".repeat(38)).is_ok());
        assert_eq!(normalize_number("0e99999999999").unwrap(), "0");
    }

    #[test]
    fn every_type_round_trips_through_json_and_serialisation() {
        let json = json!({
            "M": {
                "s": {"S": "hé"}, "n": {"N": "1.50"}, "b": {"B": "AAEC"}, "t": {"BOOL": true},
                "z": {"NULL": true}, "l": {"L": [{"S": "x"}, {"N": "2"}]},
                "ss": {"SS": ["b", "a"]}, "ns": {"NS": ["10", "9"]}, "bs": {"BS": ["AQ==", "AA=="]}
            }
        });
        let value = AttributeValue::from_json(&json).unwrap();
        let AttributeValue::M(map) = &value else { panic!() };
        assert_eq!(map["n"], AttributeValue::N("1.5".into()));
        assert_eq!(map["ss"], AttributeValue::Ss(vec!["a".into(), "b".into()]));
        assert_eq!(map["bs"], AttributeValue::Bs(vec![vec![0], vec![1]]));
        let bytes = value.serialize();
        assert_eq!(AttributeValue::deserialize(type_id::M, &bytes).unwrap(), value);
        assert_eq!(AttributeValue::from_json(&value.to_json()).unwrap(), value);
    }

    #[test]
    fn invalid_json_values_are_rejected() {
        for bad in [
            json!({"S": 1}),
            json!({"S": "a", "N": "1"}),
            json!({}),
            json!({"NULL": false}),
            json!({"SS": []}),
            json!({"SS": ["a", "a"]}),
            json!({"NS": ["1", "1.0"]}),
            json!({"B": "not base64!"}),
            json!({"X": "y"}),
            json!({"M": {"": {"S": "a"}}}),
            json!("S"),
        ] {
            assert!(AttributeValue::from_json(&bad).is_err(), "{bad}");
        }
        let mut deep = json!({"S": "x"});
        for _ in 0..40 {
            deep = json!({ "L": [deep] });
        }
        assert!(AttributeValue::from_json(&deep).is_err());
    }

    #[test]
    fn serialisation_matches_the_spec_layout() {
        let list = AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::Null]);
        assert_eq!(list.serialize(), [0, 0, 0, 2, 0, 4, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
        let set = AttributeValue::Ss(vec!["a".into(), "bc".into()]);
        assert_eq!(set.serialize(), [0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c']);
        // UTF-16 order puts U+10348 (surrogates D800..) before U+E000, unlike UTF-8 order.
        let set = AttributeValue::from_json(&json!({"SS": ["\u{e000}", "\u{10348}"]})).unwrap();
        assert_eq!(set, AttributeValue::Ss(vec!["\u{10348}".into(), "\u{e000}".into()]));
    }

    #[test]
    fn non_canonical_serialisations_are_rejected() {
        assert!(AttributeValue::deserialize(type_id::BOOL, &[2]).is_err());
        assert!(AttributeValue::deserialize(type_id::NULL, &[0]).is_err());
        assert!(AttributeValue::deserialize(type_id::N, b"1.50").is_err());
        let unsorted = [0, 0, 0, 2, 0, 0, 0, 1, b'b', 0, 0, 0, 1, b'a'];
        assert!(AttributeValue::deserialize(type_id::SS, &unsorted).is_err());
        assert!(AttributeValue::deserialize(type_id::SS, &[0, 0, 0, 0]).is_err());
        assert!(AttributeValue::deserialize(type_id::L, &[0, 0, 0, 0, 9]).is_err());
        assert!(AttributeValue::deserialize(0x1234, &[]).is_err());
    }
}
