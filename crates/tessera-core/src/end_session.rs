//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! Logout rules, in order:
//! 1. an `id_token_hint` must be an ID token this issuer signed (an expired one is accepted,
//!    §2: the RP may log out after the ID token expired); it names the client;
//! 2. a `client_id` must agree with the hint's audience;
//! 3. `post_logout_redirect_uri` is honoured only when it is registered, byte for byte, for
//!    that client (§2, §3.1); otherwise an error page, never a redirect;
//! 4. without a valid hint the user confirms on a page first, so a cross-site request cannot
//!    sign them out (§2: "the OP SHOULD ask the End-User whether to log out").

use serde_json::Value;
use tessera_crypto::jws;
use tessera_model::{Actor, Client, Issuer};
use tessera_oauth::{EndSessionRequest, OAuthError, post_logout_redirect};

use crate::{Core, CoreError, csrf};

/// What the end-session endpoint does next.
#[derive(Debug)]
pub enum EndSessionOutcome {
    /// Show an error page (never redirect).
    ErrorPage(OAuthError),
    /// Ask the user to confirm, with this CSRF token in the form.
    Confirm {
        /// The CSRF token bound to the session cookie.
        csrf: String,
    },
    /// Signed out: go back to the client.
    Redirect(String),
    /// Signed out: show the signed-out page.
    SignedOut,
}

impl Core {
    /// Handles an end-session request. `confirmation` is the CSRF token of a submitted
    /// confirmation form, if this is one.
    pub async fn end_session_request(
        &self,
        issuer: &Issuer,
        request: &EndSessionRequest,
        session_secret: Option<&str>,
        confirmation: Option<&str>,
    ) -> Result<EndSessionOutcome, CoreError> {
        let error = |text: &str| {
            Ok(EndSessionOutcome::ErrorPage(OAuthError::invalid_request(
                text.to_owned(),
            )))
        };
        // 1. The hint.
        let hint = match &request.id_token_hint {
            Some(token) => match self.verify_id_token_hint(issuer, token).await? {
                Some(claims) => Some(claims),
                None => return error("The id_token_hint is not an ID token of this issuer."),
            },
            None => None,
        };
        let hinted_client = hint
            .as_ref()
            .and_then(|c| c.get("aud"))
            .and_then(|aud| match aud {
                Value::String(s) => Some(s.clone()),
                Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
                _ => None,
            });
        // 2. The client.
        let client_id = match (&hinted_client, &request.client_id) {
            (Some(a), Some(b)) if a != b => {
                return error("The client_id does not match the id_token_hint.");
            }
            (Some(a), _) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        let client: Option<Client> = match &client_id {
            Some(id) => match self.find_client(issuer, id).await? {
                Some(client) => Some(client),
                None => return error("The client_id is not a client of this issuer."),
            },
            None => None,
        };
        // 3. Where to go afterwards.
        let redirect = match &request.post_logout_redirect_uri {
            None => None,
            Some(uri) => match &client {
                Some(client) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    Some(post_logout_redirect(uri, request.state.as_deref()))
                }
                Some(_) => {
                    return error(
                        "The post_logout_redirect_uri is not registered for this client.",
                    );
                }
                None => {
                    return error(
                        "A post_logout_redirect_uri needs an id_token_hint or a client_id.",
                    );
                }
            },
        };
        // 4. Whose session ends, and whether the user must confirm.
        let session = match session_secret {
            Some(secret) => self.active_session(issuer, secret).await?,
            None => None,
        };
        if let (Some(session), Some(secret)) = (&session, session_secret) {
            let confirmed =
                confirmation.is_some_and(|presented| csrf::matches("logout", secret, presented));
            let hinted_user = hint
                .as_ref()
                .and_then(|c| c.get("sub"))
                .and_then(Value::as_str)
                == Some(session.user_id.to_string().as_str());
            if !hinted_user && !confirmed {
                return Ok(EndSessionOutcome::Confirm {
                    csrf: csrf::token("logout", secret),
                });
            }
            self.end_session(
                issuer,
                session,
                "session.ended",
                Actor::User(session.user_id),
            )
            .await?;
        }
        Ok(match redirect {
            Some(uri) => EndSessionOutcome::Redirect(uri),
            None => EndSessionOutcome::SignedOut,
        })
    }

    /// The claims of an ID token this issuer signed, expired or not; `None` if it is not one.
    async fn verify_id_token_hint(
        &self,
        issuer: &Issuer,
        token: &str,
    ) -> Result<Option<serde_json::Map<String, Value>>, CoreError> {
        let keys = self.issuer_keys(issuer).await?;
        let Ok(verified) = jws::verify(token, keys.verifying_keys()?) else {
            return Ok(None);
        };
        let is_id_token = verified.header.get("typ").and_then(Value::as_str) == Some("JWT")
            && verified.claims.get("iss").and_then(Value::as_str)
                == Some(self.issuer_url(issuer).as_str());
        Ok(is_id_token.then_some(verified.claims))
    }
}
