//! Choosing the language of a page from `ui_locales` (OIDC Core §3.1.2.1: "End-User's
//! preferred languages and scripts for the user interface, represented as a space-separated
//! list of BCP47 language tag values, ordered by preference").
//!
//! The choice is RFC 4647 §3.4 *lookup*: for each preferred tag in order, try it, then drop
//! its last subtag (and a single-letter subtag left dangling before it) until a supported
//! language matches, case-insensitively. `de-CH-1996` tries `de-CH-1996`, `de-CH`, `de`.
//! Tags that are not well-formed are skipped: `ui_locales` is a preference, never an error
//! (§3.1.2.1: the OP "SHOULD" honour it, and it is not an error if it cannot).
//!
//! The browser's own preferences arrive as `Accept-Language` (RFC 9110 §12.5.4), read by
//! [`accepted_languages`] into the same ordered list. Fluent's `fluent-langneg` parser drops
//! the weights, so a header such as `en;q=0.1, de` would pick English; the weights are what the
//! header is for, so it is read here.

/// The first supported language the preferences reach, or `None`.
pub fn lookup<'a>(preferred: &[impl AsRef<str>], supported: &[&'a str]) -> Option<&'a str> {
    preferred
        .iter()
        .map(AsRef::as_ref)
        .filter(|tag| is_language_tag(tag))
        .find_map(|tag| {
            let mut range = tag;
            loop {
                if let Some(found) = supported.iter().find(|s| s.eq_ignore_ascii_case(range)) {
                    return Some(*found);
                }
                let (shorter, _) = range.rsplit_once('-')?;
                // RFC 4647 §3.4: a singleton left at the end is removed with its subtag.
                range = match shorter.rsplit_once('-') {
                    Some((before, last)) if last.len() == 1 => before,
                    _ => shorter,
                };
            }
        })
}

/// The language ranges of an `Accept-Language` header, most preferred first (RFC 9110
/// §12.5.4): ranges sort by their weight (`q`, default 1), ties keep the header's order, and
/// ranges with `q=0` ("not acceptable") or a weight that does not parse are dropped. The
/// wildcard `*` is dropped too: the fallback language serves it. Never fails; at most 16
/// ranges are kept, so a huge header costs nothing.
pub fn accepted_languages(header: &str) -> Vec<String> {
    let mut ranges: Vec<(u16, &str)> = header
        .split(',')
        .take(16)
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let range = parts.next().filter(|r| !r.is_empty() && *r != "*")?;
            let weight = match parts.find_map(|p| p.strip_prefix("q=").or(p.strip_prefix("Q="))) {
                Some(q) => weight(q)?,
                None => 1000,
            };
            (weight > 0).then_some((weight, range))
        })
        .collect();
    // A stable sort: equal weights keep the order the browser sent.
    ranges.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    ranges.into_iter().map(|(_, r)| r.to_owned()).collect()
}

/// A `qvalue` (RFC 9110 §12.4.2: `0[.ddd]` or `1[.000]`) in thousandths.
fn weight(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A loose BCP 47 shape: 1–8 alphanumeric characters per subtag, a letter-only first subtag,
/// at most 35 characters. Enough to refuse junk; matching is against a fixed list anyway.
fn is_language_tag(tag: &str) -> bool {
    tag.len() <= 35
        && tag.split('-').enumerate().all(|(i, sub)| {
            (1..=8).contains(&sub.len())
                && if i == 0 {
                    sub.bytes().all(|b| b.is_ascii_alphabetic())
                } else {
                    sub.bytes().all(|b| b.is_ascii_alphanumeric())
                }
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn the_first_preference_that_reaches_a_supported_language_wins() {
        let supported = ["en", "de", "es"];
        assert_eq!(lookup(&tags(&["de-CH-1996", "en"]), &supported), Some("de"));
        assert_eq!(
            lookup(&tags(&["fr-CA", "fr", "ES"]), &supported),
            Some("es")
        );
        assert_eq!(
            lookup(&tags(&["zh-Hant-x-private"]), &["zh-Hant"]),
            Some("zh-Hant")
        );
        assert_eq!(lookup(&tags(&["fr"]), &supported), None);
        assert_eq!(lookup(&[] as &[&str], &supported), None);
    }

    #[test]
    fn malformed_tags_are_skipped_not_errors() {
        let supported = ["en"];
        assert_eq!(
            lookup(&tags(&["-", "e n", "en-", "123", "en"]), &supported),
            Some("en")
        );
        assert_eq!(lookup(&tags(&["en--GB"]), &supported), None);
    }

    #[test]
    fn accept_language_is_read_by_weight_then_order() {
        assert_eq!(
            accepted_languages("en;q=0.1, de, es-MX;q=0.8, fr;q=0.8"),
            tags(&["de", "es-MX", "fr", "en"])
        );
        assert_eq!(
            accepted_languages("de-CH , *;q=0.5, en;q=0"),
            tags(&["de-CH"])
        );
        // Malformed weights drop their range; a malformed header is simply empty.
        assert_eq!(
            accepted_languages("de;q=2, es;q=0.1234, fr;q=x, en;Q=1.000, it;q=0.5"),
            tags(&["en", "it"])
        );
        assert!(accepted_languages("").is_empty());
        assert!(accepted_languages(",,;q=1").is_empty());
        let supported = ["en", "de", "es"];
        assert_eq!(
            lookup(
                &accepted_languages("fr-FR, es-419;q=0.9, en;q=0.8"),
                &supported
            ),
            Some("es")
        );
    }

    proptest! {
        #[test]
        fn accept_language_never_panics_and_orders_by_weight(header in ".{0,200}") {
            let ranges = accepted_languages(&header);
            prop_assert!(ranges.len() <= 16);
            for range in &ranges {
                prop_assert!(header.contains(range.as_str()));
                prop_assert!(!range.is_empty() && range != "*");
            }
        }

        #[test]
        fn weights_are_honoured_whatever_the_order(
            weights in proptest::collection::vec(1u16..=1000, 1..8)
        ) {
            let header = weights
                .iter()
                .enumerate()
                .map(|(i, w)| format!("l{i};q={}.{:03}", w / 1000, w % 1000))
                .collect::<Vec<_>>()
                .join(", ");
            let ranges = accepted_languages(&header);
            let sorted: Vec<u16> = ranges
                .iter()
                .map(|r| weights[r[1..].parse::<usize>().unwrap_or(0)])
                .collect();
            prop_assert_eq!(ranges.len(), weights.len());
            prop_assert!(sorted.windows(2).all(|w| w[0] >= w[1]), "{:?}", sorted);
        }

        #[test]
        fn lookup_never_panics_and_answers_only_from_the_list(
            preferred in proptest::collection::vec(".{0,40}", 0..6)
        ) {
            let supported = ["en", "de", "pt-BR"];
            if let Some(found) = lookup(&preferred, &supported) {
                prop_assert!(supported.contains(&found));
            }
        }
    }
}
