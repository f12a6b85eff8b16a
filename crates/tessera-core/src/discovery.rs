//! The discovery documents of an issuer (OIDC Discovery 1.0 §3, RFC 8414 §2).
//!
//! `tessera-oauth` decides what the documents say; this adds what only the issuer knows: its
//! URL and the algorithms its keys can sign ID tokens with, and the languages of the hosted
//! pages.

use serde_json::Value;
use tessera_model::Issuer;
use tessera_oauth::ProviderMetadata;

use crate::{Core, CoreError};

/// Which discovery document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `/.well-known/openid-configuration` (OIDC Discovery 1.0).
    OpenIdConfiguration,
    /// `/.well-known/oauth-authorization-server` (RFC 8414).
    AuthorizationServer,
}

impl Core {
    /// One of the issuer's discovery documents.
    pub async fn discovery(&self, issuer: &Issuer, document: Document) -> Result<Value, CoreError> {
        let keys = self.issuer_keys(issuer).await?;
        // OIDC Discovery 1.0 §3: RS256 MUST be among the ID token algorithms; the issuer
        // keeps an RS256 chain beside its own for that (see `keys`).
        let mut algorithms: Vec<&str> = keys
            .id_token_algorithms()
            .iter()
            .map(|a| a.as_str())
            .collect();
        algorithms.sort_unstable();
        let url = self.issuer_url(issuer);
        let metadata = ProviderMetadata {
            issuer: &url,
            signing_algorithms: &algorithms,
            ui_locales: crate::UI_LOCALES,
        };
        Ok(match document {
            Document::OpenIdConfiguration => metadata.openid_configuration(),
            Document::AuthorizationServer => metadata.authorization_server(),
        })
    }
}
