//! CSRF tokens of the hosted pages' forms, derived rather than stored: the SHA-256 of a
//! cookie secret the browser holds and of what the form acts on. A form posted from another
//! site carries no such token (it cannot read the page), and a token is useless with another
//! cookie or for another interaction.

use tessera_crypto::{SecretToken, base64url, constant_time_eq, sha256};

/// The secret of the browser cookie (`browser`), and the new one to set when the browser
/// holds none yet: every form a browser is shown is bound to it.
pub(crate) fn browser_secret(browser: Option<&str>) -> (String, Option<SecretToken>) {
    match browser {
        Some(secret) if !secret.is_empty() => (secret.to_owned(), None),
        _ => {
            let fresh = SecretToken::generate();
            (fresh.expose().to_owned(), Some(fresh))
        }
    }
}

/// The token for forms acting on `context` in the browser holding `secret`.
pub(crate) fn token(context: &str, secret: &str) -> String {
    base64url(&sha256(
        format!("tessera/csrf/{context}/{secret}").as_bytes(),
    ))
}

/// Whether `presented` is that token, compared in constant time.
pub(crate) fn matches(context: &str, secret: &str, presented: &str) -> bool {
    constant_time_eq(token(context, secret).as_bytes(), presented.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_its_secret_and_its_context() {
        let good = token("interaction/int_1", "secret");
        assert!(matches("interaction/int_1", "secret", &good));
        assert!(!matches("interaction/int_2", "secret", &good));
        assert!(!matches("interaction/int_1", "other", &good));
        assert!(!matches("interaction/int_1", "secret", ""));
    }
}
