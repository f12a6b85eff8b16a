//! `application/x-www-form-urlencoded` request bodies.
//!
//! Every OAuth endpoint that takes a POST reads its parameters from such a body (RFC 6749
//! §3.2, Appendix B). The body is attacker input, so the parser is strict where the RFC is
//! strict and bounded everywhere:
//!
//! - a parameter included more than once is refused, naming the parameter (RFC 6749 §3.1,
//!   §3.2: "Request and response parameters MUST NOT be included more than once"), so no two
//!   components can disagree about which of the copies counts;
//! - a parameter sent without a value is treated as omitted (RFC 6749 §3.1, §3.2), and only
//!   then are repetitions counted: `scope=&scope=read` carries one `scope`;
//! - a name or value that does not decode to UTF-8 is refused rather than repaired with
//!   U+FFFD: a repaired secret or code would silently be a different one;
//! - the body and each parameter have size caps, so a request cannot make us hold more than
//!   the cap in memory.
//!
//! Decoding follows the WHATWG URL Standard's form parser, which RFC 6749 Appendix B defers
//! to: `&` separates pairs, the first `=` separates name and value, `+` is a space, `%XX` is a
//! byte, and a `%` not followed by two hex digits stands for itself. Unknown parameters are
//! kept; the endpoint ignores them (RFC 6749 §3.1, §3.2).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::error::OAuthError;

/// A parsed form body: each parameter that was sent with a value, exactly once.
///
/// `Debug` shows parameter names only: values include secrets (`client_secret`, `code`,
/// `refresh_token`, `code_verifier`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form {
    params: BTreeMap<String, String>,
}

impl Form {
    /// The largest body accepted, in bytes (64 KiB). The edge should stop reading there too.
    pub const MAX_BODY_BYTES: usize = 64 * 1024;

    /// The largest decoded parameter name or value accepted, in bytes (8 KiB).
    pub const MAX_PARAMETER_BYTES: usize = 8 * 1024;

    /// Parses a form body. Every refusal is `invalid_request`.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        if body.len() > Self::MAX_BODY_BYTES {
            return Err(OAuthError::invalid_request("the request body is too large"));
        }
        let mut params = BTreeMap::new();
        for pair in body.split(|&b| b == b'&') {
            if pair.is_empty() {
                continue;
            }
            // The first `=` separates name and value; a pair without one has an empty value.
            let mut halves = pair.splitn(2, |&b| b == b'=');
            let raw_name = halves.next().unwrap_or_default();
            let raw_value = halves.next().unwrap_or_default();
            let name = decode_component(raw_name)
                .ok_or_else(|| OAuthError::invalid_request("a parameter name is not UTF-8"))?;
            let value = decode_component(raw_value).ok_or_else(|| {
                OAuthError::invalid_request(format!(
                    "the {} parameter is not UTF-8",
                    describe_name(&name)
                ))
            })?;
            if name.len() > Self::MAX_PARAMETER_BYTES {
                return Err(OAuthError::invalid_request("a parameter name is too long"));
            }
            if value.len() > Self::MAX_PARAMETER_BYTES {
                return Err(OAuthError::invalid_request(format!(
                    "the {} parameter is too long",
                    describe_name(&name)
                )));
            }
            // RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were
            // omitted from the request."
            if value.is_empty() {
                continue;
            }
            match params.entry(name) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more
                // than once."
                Entry::Occupied(slot) => {
                    return Err(OAuthError::invalid_request(format!(
                        "the {} parameter is repeated",
                        describe_name(slot.key())
                    )));
                }
            }
        }
        Ok(Self { params })
    }

    /// The value of a parameter, if it was sent with a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The value of a parameter the request cannot do without; its absence is
    /// `invalid_request` (RFC 6749 §5.2: "The request is missing a required parameter").
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("the {} parameter is missing", describe_name(name)))
        })
    }

    /// Whether a parameter was sent with a value.
    pub fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }

    /// All parameters, ordered by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// How many parameters were sent with a value.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether no parameter was sent with a value.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("names", &self.params.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Decodes one form-urlencoded component (`+` is a space, `%XX` a byte) and returns it if the
/// bytes are UTF-8. Invalid UTF-8 is an answer of `None`, never a U+FFFD substitution.
pub(crate) fn decode_component(input: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(input.len());
    let mut rest = input;
    while let [first, tail @ ..] = rest {
        match (first, tail) {
            (b'+', _) => {
                bytes.push(b' ');
                rest = tail;
            }
            (b'%', [high, low, after @ ..])
                if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() =>
            {
                bytes.push(hex_value(*high) << 4 | hex_value(*low));
                rest = after;
            }
            // WHATWG: a `%` that does not start an escape is a literal `%`.
            (&byte, _) => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).ok()
}

/// The value of an ASCII hex digit (callers check `is_ascii_hexdigit` first).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

/// How a description refers to a parameter. A name is echoed only when it looks like a
/// parameter name; anything else the client sent is not reflected back to it.
fn describe_name(name: &str) -> &str {
    let looks_like_a_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if looks_like_a_name { name } else { "unnamed" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn refused(body: &[u8]) -> OAuthError {
        Form::parse(body).expect_err("the body should be refused")
    }

    #[test]
    fn parameters_are_decoded_as_the_whatwg_form_parser_does() {
        let form =
            Form::parse(b"grant_type=client_credentials&scope=read+write%3Aall&x=%zz%4").unwrap();
        assert_eq!(form.get("grant_type"), Some("client_credentials"));
        assert_eq!(form.get("scope"), Some("read write:all"));
        assert_eq!(form.get("x"), Some("%zz%4"));
        assert_eq!(form.len(), 3);
    }

    #[test]
    fn only_the_first_equals_sign_separates_name_and_value() {
        let form = Form::parse(b"client_secret=a=b==").unwrap();
        assert_eq!(form.get("client_secret"), Some("a=b=="));
    }

    #[test]
    fn utf8_sent_raw_or_percent_encoded_is_accepted() {
        let form = Form::parse("a=%C3%A9&b=é".as_bytes()).unwrap();
        assert_eq!(form.get("a"), Some("é"));
        assert_eq!(form.get("b"), Some("é"));
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        // RFC 6749 §3.1, §3.2: parameters MUST NOT be included more than once.
        let error = refused(b"scope=a&grant_type=client_credentials&scope=b");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the scope parameter is repeated");
    }

    #[test]
    fn a_repeat_is_detected_after_decoding() {
        // `sc%6Fpe` is `scope`: an encoded copy is still a copy.
        let error = refused(b"scope=a&sc%6Fpe=b");
        assert_eq!(error.description, "the scope parameter is repeated");
    }

    #[test]
    fn a_repeated_parameter_with_an_odd_name_is_refused_without_echoing_the_name() {
        let error = refused(b"%3Cb%3E=1&%3Cb%3E=2");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the unnamed parameter is repeated");
    }

    #[test]
    fn a_parameter_without_a_value_is_treated_as_omitted() {
        // RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were
        // omitted from the request."
        let form = Form::parse(b"scope=&state&grant_type=client_credentials").unwrap();
        assert_eq!(form.get("scope"), None);
        assert!(!form.has("state"));
        assert_eq!(form.len(), 1);
    }

    #[test]
    fn an_empty_copy_does_not_count_as_a_repeat() {
        // The empty copy is omitted (RFC 6749 §3.1), so one `scope` remains.
        let form = Form::parse(b"scope=&scope=read").unwrap();
        assert_eq!(form.get("scope"), Some("read"));
    }

    #[test]
    fn empty_pairs_are_skipped() {
        let form = Form::parse(b"&&a=1&&").unwrap();
        assert_eq!(form.get("a"), Some("1"));
        assert!(Form::parse(b"").unwrap().is_empty());
    }

    #[test]
    fn a_value_that_is_not_utf8_is_refused() {
        let error = refused(b"client_secret=%FF%FE");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(
            error.description,
            "the client_secret parameter is not UTF-8"
        );
        assert_eq!(refused(b"a=\xff").code, ErrorCode::InvalidRequest);
        // A truncated multi-byte sequence is not UTF-8 either.
        assert_eq!(refused(b"a=%C3").code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_name_that_is_not_utf8_is_refused() {
        let error = refused(b"%C0%AF=1");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "a parameter name is not UTF-8");
    }

    #[test]
    fn a_literal_replacement_character_is_not_mistaken_for_bad_utf8() {
        let form = Form::parse("a=%EF%BF%BD".as_bytes()).unwrap();
        assert_eq!(form.get("a"), Some("\u{FFFD}"));
    }

    #[test]
    fn a_body_over_64_kib_is_refused() {
        let at_cap = vec![b'&'; Form::MAX_BODY_BYTES];
        assert!(Form::parse(&at_cap).unwrap().is_empty());
        let over = vec![b'&'; Form::MAX_BODY_BYTES + 1];
        let error = refused(&over);
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the request body is too large");
    }

    #[test]
    fn a_value_over_8_kib_is_refused() {
        let at_cap = format!("code={}", "a".repeat(Form::MAX_PARAMETER_BYTES));
        assert!(Form::parse(at_cap.as_bytes()).is_ok());
        let over = format!("code={}", "a".repeat(Form::MAX_PARAMETER_BYTES + 1));
        let error = refused(over.as_bytes());
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the code parameter is too long");
    }

    #[test]
    fn the_value_cap_applies_to_the_decoded_value() {
        // 8 KiB of `%61` is 24 KiB on the wire but 8 KiB decoded: accepted.
        let body = format!("code={}", "%61".repeat(Form::MAX_PARAMETER_BYTES));
        assert_eq!(
            Form::parse(body.as_bytes())
                .unwrap()
                .get("code")
                .map(str::len),
            Some(8192)
        );
    }

    #[test]
    fn a_name_over_8_kib_is_refused() {
        let body = format!("{}=1", "n".repeat(Form::MAX_PARAMETER_BYTES + 1));
        assert_eq!(
            refused(body.as_bytes()).description,
            "a parameter name is too long"
        );
    }

    #[test]
    fn debug_output_shows_names_but_never_values() {
        let form = Form::parse(b"client_id=id&client_secret=hunter2").unwrap();
        let shown = format!("{form:?}");
        assert!(shown.contains("client_secret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_required_parameter_that_is_missing_is_invalid_request() {
        let form = Form::parse(b"a=1").unwrap();
        assert_eq!(form.require("a"), Ok("1"));
        let error = form.require("grant_type").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the grant_type parameter is missing");
    }
}
