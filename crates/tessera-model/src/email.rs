//! Email addresses as identifiers.
//!
//! Tessera does not try to implement RFC 5321's full grammar: an address is accepted when it is
//! plausibly deliverable (one `@`, a non-empty local part, a domain with a dot or `localhost`,
//! no white space or control characters, at most 254 octets) and it is compared in a normalized
//! form (lowercased), as users expect and as Auth0 and Keycloak do. Proof of ownership is the
//! verification email, not the parser.

use std::fmt;

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Not of the form `local@domain`.
    #[error("an email address has the form name@example.com")]
    Shape,
    /// Longer than 254 octets.
    #[error("an email address is at most 254 characters long")]
    TooLong,
}

/// A syntactically plausible email address, kept as entered, with its normalized form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email {
    original: String,
    normalized: String,
}

impl Email {
    /// Parses an address.
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Shape);
        }
        let (local, domain) = text.rsplit_once('@').ok_or(EmailError::Shape)?;
        let domain_ok = !domain.is_empty()
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && (domain.contains('.') || domain.eq_ignore_ascii_case("localhost"));
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(EmailError::Shape);
        }
        Ok(Self {
            original: text.to_owned(),
            normalized: text.to_lowercase(),
        })
    }

    /// The address as entered (trimmed).
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The form used for uniqueness and look-up.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_normalized_for_comparison() {
        let email = Email::parse(" Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ada@Example.COM");
        assert_eq!(email.normalized(), "ada@example.com");
        assert!(Email::parse("ada@localhost").is_ok());
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a b@example.com",
            "ada@.com",
            "ada@ex..com",
            "a@b@c.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Shape), "{bad}");
        }
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
    }

    proptest! {
        #[test]
        fn email_parser_never_panics_and_keeps_its_promises(text in "\\PC{0,80}") {
            if let Ok(email) = Email::parse(&text) {
                prop_assert!(email.as_str().len() <= 254);
                prop_assert_eq!(email.as_str().matches('@').count(), 1);
                prop_assert_eq!(email.normalized(), email.as_str().to_lowercase());
            }
        }
    }
}
