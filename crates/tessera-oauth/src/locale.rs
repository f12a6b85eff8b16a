//! Choosing the language of a page from `ui_locales` (OIDC Core §3.1.2.1: "End-User's
//! preferred languages and scripts for the user interface, represented as a space-separated
//! list of BCP47 language tag values, ordered by preference").
//!
//! The choice is RFC 4647 §3.4 *lookup*: for each preferred tag in order, try it, then drop
//! its last subtag (and a single-letter subtag left dangling before it) until a supported
//! language matches, case-insensitively. `de-CH-1996` tries `de-CH-1996`, `de-CH`, `de`.
//! Tags that are not well-formed are skipped: `ui_locales` is a preference, never an error
//! (§3.1.2.1: the OP "SHOULD" honour it, and it is not an error if it cannot).

/// The first supported language the preferences reach, or `None`.
pub fn lookup<'a>(preferred: &[String], supported: &[&'a str]) -> Option<&'a str> {
    preferred
        .iter()
        .filter(|tag| is_language_tag(tag))
        .find_map(|tag| {
            let mut range = tag.as_str();
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
        assert_eq!(lookup(&[], &supported), None);
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

    proptest! {
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
