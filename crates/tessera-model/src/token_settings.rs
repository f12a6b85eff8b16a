//! A client's own token settings: the form of its access tokens and the lifetimes that
//! override its issuer's (issue 4: "access tokens as JWT per RFC 9068 by default, opaque per
//! client when configured; lifetimes per issuer/client").
//!
//! Like [`IssuerSettings`], a [`ClientTokenSettings`] is valid by construction: a lifetime
//! override is within the same [`Bounds`] as the issuer setting it overrides, and errors name
//! the field as the Core API spells it (`access_token_lifetime`).
//!
//! Why opaque access tokens at all: a JWT can be read by anyone holding it, and stays valid
//! until `exp` for a resource server that checks it offline. An opaque token says nothing
//! and means something only to this server (introspection, userinfo), so it can be revoked at
//! once and leaks no claims; that is what Keycloak's and Auth0's "opaque"/"reference" tokens
//! offer, at the price of a database read per check.

use crate::issuer_settings::{
    ACCESS_TOKEN_LIFETIME, Bounds, ID_TOKEN_LIFETIME, IssuerSettings, REFRESH_TOKEN_LIFETIME,
    SettingsError,
};

/// What a client's access tokens look like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccessTokenFormat {
    /// A signed JWT (RFC 9068 `at+jwt`), checkable offline with the issuer's JWKS.
    #[default]
    Jwt,
    /// A random reference, stored as its hash, meaningful only to this server.
    Opaque,
}

impl AccessTokenFormat {
    /// The wire and storage spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::Opaque => "opaque",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        match text {
            "jwt" => Ok(Self::Jwt),
            "opaque" => Ok(Self::Opaque),
            _ => Err(SettingsError {
                field: "access_token_format",
                reason: "must be `jwt` or `opaque`".to_owned(),
            }),
        }
    }
}

/// A client's token settings; `None` lifetimes follow the issuer's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientTokenSettings {
    access_token_format: AccessTokenFormat,
    access_token_lifetime: Option<i64>,
    id_token_lifetime: Option<i64>,
    refresh_token_lifetime: Option<i64>,
}

impl ClientTokenSettings {
    /// The form of the client's access tokens.
    pub fn access_token_format(&self) -> AccessTokenFormat {
        self.access_token_format
    }

    /// The client's own access-token lifetime, if it has one.
    pub fn access_token_lifetime_override(&self) -> Option<i64> {
        self.access_token_lifetime
    }

    /// The client's own ID-token lifetime, if it has one.
    pub fn id_token_lifetime_override(&self) -> Option<i64> {
        self.id_token_lifetime
    }

    /// The client's own refresh-token lifetime, if it has one.
    pub fn refresh_token_lifetime_override(&self) -> Option<i64> {
        self.refresh_token_lifetime
    }

    /// How long the client's access tokens live at an issuer with these settings, in seconds.
    pub fn access_token_lifetime(&self, issuer: &IssuerSettings) -> i64 {
        self.access_token_lifetime
            .unwrap_or_else(|| issuer.access_token_lifetime())
    }

    /// How long the client's ID tokens live, in seconds.
    pub fn id_token_lifetime(&self, issuer: &IssuerSettings) -> i64 {
        self.id_token_lifetime
            .unwrap_or_else(|| issuer.id_token_lifetime())
    }

    /// How long the client's refresh tokens live, in seconds.
    pub fn refresh_token_lifetime(&self, issuer: &IssuerSettings) -> i64 {
        self.refresh_token_lifetime
            .unwrap_or_else(|| issuer.refresh_token_lifetime())
    }

    /// With another access-token format.
    pub fn with_access_token_format(self, format: AccessTokenFormat) -> Self {
        Self {
            access_token_format: format,
            ..self
        }
    }

    /// With another access-token lifetime override ([`ACCESS_TOKEN_LIFETIME`] bounds);
    /// `None` follows the issuer.
    pub fn with_access_token_lifetime(self, seconds: Option<i64>) -> Result<Self, SettingsError> {
        Ok(Self {
            access_token_lifetime: checked(
                ACCESS_TOKEN_LIFETIME,
                "access_token_lifetime",
                seconds,
            )?,
            ..self
        })
    }

    /// With another ID-token lifetime override ([`ID_TOKEN_LIFETIME`] bounds).
    pub fn with_id_token_lifetime(self, seconds: Option<i64>) -> Result<Self, SettingsError> {
        Ok(Self {
            id_token_lifetime: checked(ID_TOKEN_LIFETIME, "id_token_lifetime", seconds)?,
            ..self
        })
    }

    /// With another refresh-token lifetime override ([`REFRESH_TOKEN_LIFETIME`] bounds).
    pub fn with_refresh_token_lifetime(self, seconds: Option<i64>) -> Result<Self, SettingsError> {
        Ok(Self {
            refresh_token_lifetime: checked(
                REFRESH_TOKEN_LIFETIME,
                "refresh_token_lifetime",
                seconds,
            )?,
            ..self
        })
    }
}

fn checked(
    bounds: Bounds,
    field: &'static str,
    seconds: Option<i64>,
) -> Result<Option<i64>, SettingsError> {
    seconds.map(|s| bounds.check(field, s)).transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lifetimes_follow_the_issuer_until_overridden() {
        let issuer = IssuerSettings::default()
            .with_access_token_lifetime(600)
            .unwrap();
        let client = ClientTokenSettings::default();
        assert_eq!(client.access_token_lifetime(&issuer), 600);
        assert_eq!(client.id_token_lifetime(&issuer), 3600);
        assert_eq!(client.refresh_token_lifetime(&issuer), 30 * 86_400);
        let own = client
            .with_access_token_lifetime(Some(120))
            .unwrap()
            .with_id_token_lifetime(Some(300))
            .unwrap()
            .with_refresh_token_lifetime(Some(86_400))
            .unwrap();
        assert_eq!(own.access_token_lifetime(&issuer), 120);
        assert_eq!(own.id_token_lifetime(&issuer), 300);
        assert_eq!(own.refresh_token_lifetime(&issuer), 86_400);
        let back = own.with_access_token_lifetime(None).unwrap();
        assert_eq!(back.access_token_lifetime(&issuer), 600);
    }

    #[test]
    fn overrides_out_of_the_issuer_bounds_are_refused_naming_the_field() {
        let settings = ClientTokenSettings::default();
        let err = settings.with_access_token_lifetime(Some(59)).unwrap_err();
        assert_eq!(err.field, "access_token_lifetime");
        assert!(err.reason.contains("60 to 86400"), "{err}");
        assert_eq!(
            settings
                .with_id_token_lifetime(Some(86_401))
                .unwrap_err()
                .field,
            "id_token_lifetime"
        );
        assert_eq!(
            settings
                .with_refresh_token_lifetime(Some(0))
                .unwrap_err()
                .field,
            "refresh_token_lifetime"
        );
    }

    #[test]
    fn formats_round_trip_their_wire_spelling() {
        for format in [AccessTokenFormat::Jwt, AccessTokenFormat::Opaque] {
            assert_eq!(AccessTokenFormat::parse(format.as_str()), Ok(format));
        }
        assert_eq!(
            AccessTokenFormat::parse("JWT").unwrap_err().field,
            "access_token_format"
        );
        assert_eq!(AccessTokenFormat::default(), AccessTokenFormat::Jwt);
    }
}
