//! `json_get`, `json_array_len`, `json_stringify`, `md5_hex`, and the
//! RustBill extensions scripts need for real payment and webhook protocols
//! (`sha256_hex`, `hmac_sha256_hex`, `url_encode`, `url_decode`,
//! `form_to_json`, `now_rfc3339`, `now_unix`).

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::Value as Json;
use sha2::Sha256;

/// `md5_hex(s)`: `&str → String`, lowercase hex of the MD5 of the UTF-8
/// bytes of `s`.
pub fn md5_hex(input: &str) -> String {
    hex::encode(Md5::digest(input.as_bytes()))
}

/// `sha256_hex(s)`: lowercase hex of the SHA-256 of the UTF-8 bytes of `s`.
pub fn sha256_hex(input: &str) -> String {
    hex::encode(Sha256::digest(input.as_bytes()))
}

/// `hmac_sha256_hex(key, message)`: lowercase hex HMAC-SHA256 (webhook
/// signatures); the key is the UTF-8 bytes of `key`.
pub fn hmac_sha256_hex(key: &str, message: &str) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `url_encode(s)`: percent-encodes everything but `A-Z a-z 0-9 - . _ ~`
/// (safe in a query value or path segment).
pub fn url_encode(input: &str) -> String {
    urlencoding::encode(input).into_owned()
}

/// `url_decode(s)`: decodes `%XX` escapes and `+` as space (form
/// encoding); `"ERROR: …"` when the result is not UTF-8.
pub fn url_decode(input: &str) -> String {
    let plus_as_space = input.replace('+', " ");
    match urlencoding::decode(&plus_as_space) {
        Ok(text) => text.into_owned(),
        Err(error) => format!("ERROR: url_decode: {error}"),
    }
}

/// `form_to_json(s)`: an `application/x-www-form-urlencoded` string (or a
/// URL query, with or without a leading `?`) as a JSON object of strings;
/// when a key repeats, the first value wins. Payment callbacks arrive this
/// way and Rune has no decoder of its own.
pub fn form_to_json(input: &str) -> String {
    let input = input.strip_prefix('?').unwrap_or(input);
    let mut object = serde_json::Map::new();
    for (key, value) in form_urlencoded::parse(input.as_bytes()) {
        object.entry(key.into_owned()).or_insert(Json::String(value.into_owned()));
    }
    Json::Object(object).to_string()
}

/// `json_parse(s)`: a JSON text as a Rune value (objects become `#{}`
/// objects, arrays vectors), so scripts can iterate keys (signature
/// schemes sort parameters). Input that is not JSON gives the string
/// `"ERROR: json_parse: <reason>"`.
pub fn json_parse(input: &str) -> rune::Value {
    match serde_json::from_str::<rune::Value>(input) {
        Ok(value) => value,
        Err(error) => rune::to_value(format!("ERROR: json_parse: {error}")).unwrap_or_else(|_| rune::Value::empty()),
    }
}

/// `now_rfc3339()`: the current UTC time, e.g. `2026-11-23T23:05:00Z`.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `now_unix()`: the current Unix time in seconds, as a string (signed
/// timestamps of payment APIs).
pub fn now_unix() -> String {
    chrono::Utc::now().timestamp().to_string()
}

/// `json_get(json_str, path)`: `2×String → String`.
///
/// Path syntax `a.b[0].c` (= JSON pointer `/a/b/0/c`); a numeric segment
/// also indexes an array (`arr.0`), as the pointer form does. Returns a
/// string value raw (no quotes), any other value serialised as JSON
/// (`200`, `true`, `{"k":"v"}`), and `""` when the input is not JSON, the
/// path does not resolve, or the value is `null`. An empty path returns the
/// whole document.
pub fn json_get(json: &str, path: &str) -> String {
    let Some(document) = parse_lenient(json) else {
        return String::new();
    };
    match lookup(&document, path) {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `json_array_len(json_str, path)`: `2×String → i64`, the length of the
/// array at `path` (empty path: the document itself); `0` when the input is
/// not JSON or there is no array there.
pub fn json_array_len(json: &str, path: &str) -> i64 {
    let Some(document) = parse_lenient(json) else {
        return 0;
    };
    match lookup(&document, path) {
        Some(Json::Array(items)) => items.len() as i64,
        _ => 0,
    }
}

/// `json_stringify(value)`: `any → String`, the JSON of a Rune value:
/// objects `#{}` become objects, vectors and tuples arrays, `Some(x)` is
/// `x`, `None` and `()` are `null`. A value JSON cannot hold (a function, a
/// struct instance…) gives `"ERROR: <reason>"`.
pub fn json_stringify(value: rune::Value) -> String {
    match serde_json::to_string(&value) {
        Ok(json) => json,
        Err(error) => format!("ERROR: json_stringify: {error}"),
    }
}

/// One step of a path.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Parses `a.b[0].c` / `arr[0][1]` / `[2].x`; `None` if malformed.
fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = path.trim();
    while !rest.is_empty() {
        if let Some(after_bracket) = rest.strip_prefix('[') {
            let close = after_bracket.find(']')?;
            let index = after_bracket[..close].trim().parse::<usize>().ok()?;
            segments.push(Segment::Index(index));
            rest = &after_bracket[close + 1..];
            if let Some(after_dot) = rest.strip_prefix('.') {
                rest = after_dot;
                if rest.is_empty() {
                    return None;
                }
            }
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let key = &rest[..end];
        if key.is_empty() {
            return None;
        }
        segments.push(Segment::Key(key.to_string()));
        rest = &rest[end..];
        if let Some(after_dot) = rest.strip_prefix('.') {
            rest = after_dot;
            if rest.is_empty() {
                return None;
            }
        }
    }
    Some(segments)
}

fn lookup<'a>(document: &'a Json, path: &str) -> Option<&'a Json> {
    let mut current = document;
    for segment in parse_path(path)? {
        current = match (segment, current) {
            (Segment::Key(key), Json::Object(map)) => map.get(&key)?,
            (Segment::Key(key), Json::Array(items)) => items.get(key.parse::<usize>().ok()?)?,
            (Segment::Index(index), Json::Array(items)) => items.get(index)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Parses JSON, tolerating raw control characters inside strings.
///
/// Scripts often build JSON by interpolation, e.g. the spec's
/// `` `{"cert":"${cert_pem}","key":"${key_pem}"}` `` where the PEM holds
/// real newlines, which strict JSON forbids inside strings. When strict
/// parsing fails, such characters inside strings are escaped and parsing is
/// tried once more.
pub(crate) fn parse_lenient(text: &str) -> Option<Json> {
    if let Ok(value) = serde_json::from_str(text) {
        return Some(value);
    }
    serde_json::from_str(&escape_controls_in_strings(text)?).ok()
}

/// Escapes raw control characters that appear inside JSON strings; `None`
/// when there were none (nothing to retry).
fn escape_controls_in_strings(text: &str) -> Option<String> {
    let mut output = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut changed = false;
    for character in text.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                in_string = false;
            } else if character.is_control() {
                changed = true;
                match character {
                    '\n' => output.push_str("\\n"),
                    '\r' => output.push_str("\\r"),
                    '\t' => output.push_str("\\t"),
                    other => output.push_str(&format!("\\u{:04x}", other as u32)),
                }
                continue;
            }
        } else if character == '"' {
            in_string = true;
        }
        output.push(character);
    }
    changed.then_some(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse() {
        use Segment::{Index, Key};
        assert_eq!(parse_path("").unwrap(), vec![]);
        assert_eq!(parse_path("a").unwrap(), vec![Key("a".into())]);
        assert_eq!(parse_path("a.b[0].c").unwrap(), vec![Key("a".into()), Key("b".into()), Index(0), Key("c".into())]);
        assert_eq!(parse_path("arr[1][2]").unwrap(), vec![Key("arr".into()), Index(1), Index(2)]);
        assert_eq!(parse_path("[3].x").unwrap(), vec![Index(3), Key("x".into())]);
        for bad in ["a..b", "a.", ".a", "a[", "a[x]", "a[-1]", "a[0]."] {
            assert!(parse_path(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn lenient_parsing_escapes_raw_newlines_in_strings_only() {
        let text = "{\n  \"cert\": \"-----BEGIN\nabc\n-----END\",\n  \"n\": 1\n}";
        let value = parse_lenient(text).unwrap();
        assert_eq!(value["cert"], "-----BEGIN\nabc\n-----END");
        assert_eq!(value["n"], 1);
        assert!(parse_lenient("{not json").is_none());
        assert_eq!(parse_lenient("{\"a\":\"x\\\"\ty\"}").unwrap()["a"], "x\"\ty");
    }
}
