//! The end-session request (OpenID Connect RP-Initiated Logout 1.0 §2).
//!
//! A relying party sends the user's browser to the end-session endpoint, by GET or POST, to
//! log the user out at the OP; the caller builds a [`Form`] from the query or the body alike.
//! Every parameter is OPTIONAL, so parsing reads what is there and refuses only a request
//! whose shape makes it unsafe:
//!
//! - a `post_logout_redirect_uri` with neither `client_id` nor `id_token_hint` names a place to
//!   send the user with no client whose registration could vouch for it. The OP "MUST NOT
//!   perform post-logout redirection" to an unregistered URI (§3), so such a request is
//!   refused as `invalid_request` rather than half-honoured. (§2 recommends `id_token_hint`
//!   with the URI; `client_id` is accepted too, as §2 allows.)
//!
//! Validating the ID token hint (we issued it; it names this client when `client_id` is also
//! given), matching the URI against the client's registered `post_logout_redirect_uris`, and
//! asking the user to confirm are `tessera-core`'s, with storage and keys in hand.

use crate::error::OAuthError;
use crate::form::Form;
use crate::response::append_query;

/// An end-session request (RP-Initiated Logout §2). `Debug` does not show the ID token hint.
#[derive(Clone, PartialEq, Eq)]
pub struct EndSessionRequest {
    /// An ID token we issued, naming the user and client (RECOMMENDED).
    pub id_token_hint: Option<String>,
    /// A hint about the user who is logging out.
    pub logout_hint: Option<String>,
    /// The relying party.
    pub client_id: Option<String>,
    /// Where to send the user after logout, if registered for the client.
    pub post_logout_redirect_uri: Option<String>,
    /// The relying party's opaque value, returned with the redirect.
    pub state: Option<String>,
    /// The user's preferred languages for the logout UI, as BCP 47 tags.
    pub ui_locales: Vec<String>,
}

impl std::fmt::Debug for EndSessionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndSessionRequest")
            .field("has_id_token_hint", &self.id_token_hint.is_some())
            .field("logout_hint", &self.logout_hint)
            .field("client_id", &self.client_id)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("state", &self.state)
            .field("ui_locales", &self.ui_locales)
            .finish()
    }
}

/// Reads an end-session request (RP-Initiated Logout §2). The only refusal is
/// `invalid_request`, for a `post_logout_redirect_uri` that no client vouches for.
pub fn parse_end_session_request(form: &Form) -> Result<EndSessionRequest, OAuthError> {
    let owned = |name: &str| form.get(name).map(str::to_owned);
    let request = EndSessionRequest {
        id_token_hint: owned("id_token_hint"),
        logout_hint: owned("logout_hint"),
        client_id: owned("client_id"),
        post_logout_redirect_uri: owned("post_logout_redirect_uri"),
        state: owned("state"),
        ui_locales: crate::authorize::space_separated(form.get("ui_locales")),
    };
    // §3: redirection only to a URI registered by the client, so the client must be known.
    if request.post_logout_redirect_uri.is_some()
        && request.client_id.is_none()
        && request.id_token_hint.is_none()
    {
        return Err(OAuthError::invalid_request(
            "post_logout_redirect_uri needs client_id or id_token_hint",
        ));
    }
    Ok(request)
}

/// The redirect after logout (RP-Initiated Logout §3): `uri` with `state` appended to its
/// query when the request had one, the URI's own query kept.
pub fn post_logout_redirect(uri: &str, state: Option<&str>) -> String {
    append_query(uri, state.map(|state| ("state", state)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn parse(body: &str) -> Result<EndSessionRequest, OAuthError> {
        parse_end_session_request(&Form::parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn every_parameter_is_optional() {
        let request = parse("").unwrap();
        assert_eq!(
            request,
            EndSessionRequest {
                id_token_hint: None,
                logout_hint: None,
                client_id: None,
                post_logout_redirect_uri: None,
                state: None,
                ui_locales: Vec::new(),
            }
        );
    }

    #[test]
    fn every_parameter_is_read() {
        let request = parse(
            "id_token_hint=eyJ.eyJ.sig&logout_hint=alice&client_id=rp\
             &post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&state=xyz&ui_locales=de+en",
        )
        .unwrap();
        assert_eq!(request.id_token_hint.as_deref(), Some("eyJ.eyJ.sig"));
        assert_eq!(request.logout_hint.as_deref(), Some("alice"));
        assert_eq!(request.client_id.as_deref(), Some("rp"));
        assert_eq!(
            request.post_logout_redirect_uri.as_deref(),
            Some("https://rp.example/bye")
        );
        assert_eq!(request.state.as_deref(), Some("xyz"));
        assert_eq!(request.ui_locales, ["de", "en"]);
    }

    #[test]
    fn a_redirect_uri_is_accepted_with_a_client_id_or_an_id_token_hint() {
        assert!(parse("post_logout_redirect_uri=https%3A%2F%2Frp.example&client_id=rp").is_ok());
        assert!(parse("post_logout_redirect_uri=https%3A%2F%2Frp.example&id_token_hint=x").is_ok());
    }

    #[test]
    fn a_redirect_uri_without_any_client_is_invalid_request() {
        // RP-Initiated Logout §3: only registered URIs, so the client must be known.
        let error = parse("post_logout_redirect_uri=https%3A%2F%2Fevil.example").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn the_redirect_carries_state_and_keeps_the_query() {
        assert_eq!(
            post_logout_redirect("https://rp.example/bye", Some("a b&c")),
            "https://rp.example/bye?state=a+b%26c"
        );
        assert_eq!(
            post_logout_redirect("https://rp.example/bye?lang=de", Some("s")),
            "https://rp.example/bye?lang=de&state=s"
        );
        assert_eq!(
            post_logout_redirect("https://rp.example/bye?lang=de", None),
            "https://rp.example/bye?lang=de"
        );
    }

    #[test]
    fn debug_output_does_not_show_the_id_token_hint() {
        let shown = format!(
            "{:?}",
            parse("id_token_hint=secret.jwt.here&client_id=rp").unwrap()
        );
        assert!(!shown.contains("secret"), "{shown}");
    }
}
