//! The Core API's OpenAPI 3.1 description, generated from the handlers' annotations and the
//! types they read and write (utoipa), served at `/core/v1/openapi.json`.
//!
//! A copy is committed at `docs/openapi.json`; a test fails when it is stale (regenerate
//! with `UPDATE_OPENAPI=1 cargo test -p tessera-http openapi`), and CI runs schemathesis
//! against a live server with this document.

use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{clients, consents, events, issuers, users, webhooks};
use crate::problem::ProblemDoc;

/// The bearer scheme: access tokens of the `system` issuer (client credentials).
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token of the `system` issuer, from the client-credentials \
                         grant at `/system/oauth/token` with a credential made by `tessera \
                         admin create-credential`. Scopes: `core:read`, `core:write`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera Core API",
        description = "Manage issuers, clients, users (with their consents and sessions), keys and webhooks, and read the audit trail. Errors are RFC 9457 problem \
                       documents; listings page with `limit` and `cursor`; reads carry an \
                       `ETag` that `If-Match` on PATCH and DELETE can require.",
        version = "1"
    ),
    paths(
        issuers::list_issuers,
        issuers::create_issuer,
        issuers::get_issuer,
        issuers::update_issuer,
        issuers::delete_issuer,
        issuers::list_keys,
        issuers::rotate_keys,
        users::create_user,
        users::list_users,
        users::get_user,
        users::update_user,
        users::delete_user,
        users::block_user,
        users::unblock_user,
        users::set_password,
        consents::list_grants,
        consents::revoke_grant,
        consents::list_sessions,
        consents::revoke_session,
        clients::create_client,
        clients::list_clients,
        clients::get_client,
        clients::update_client,
        clients::delete_client,
        clients::rotate_secret,
        events::list_events,
        webhooks::create_webhook,
        webhooks::list_webhooks,
        webhooks::get_webhook,
        webhooks::update_webhook,
        webhooks::delete_webhook,
        webhooks::rotate_secret,
        webhooks::list_deliveries,
        webhooks::get_delivery,
        webhooks::redeliver,
        webhooks::ping,
    ),
    components(responses(ProblemDoc)),
    modifiers(&BearerScheme),
    tags(
        (name = "issuers", description = "Issuers (tenants) and their signing keys"),
        (name = "users", description = "Users of an issuer"),
        (name = "consents", description = "A user's consents to clients (grants) and browser sessions"),
        (name = "clients", description = "Clients (applications) of an issuer"),
        (name = "events", description = "The audit trail of an issuer"),
        (name = "webhooks", description = "Webhook subscriptions of an issuer"),
    )
)]
pub(crate) struct CoreApiDoc;

/// The document as served and committed.
pub(crate) fn document() -> String {
    CoreApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}

/// `GET /core/v1/openapi.json` (no token needed: the description is public).
pub(crate) async fn serve() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `docs/openapi.json` is what the code generates.
    #[test]
    fn the_committed_openapi_document_is_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let generated = format!("{}\n", document());
        #[allow(clippy::disallowed_methods)] // a developer's switch, read only in this test
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p tessera-http openapi`"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_every_route() {
        let doc: serde_json::Value = serde_json::from_str(&document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["paths"]["/core/v1/issuers/{slug}/users/{id}"]["patch"].is_object());
        assert!(
            doc["paths"]["/core/v1/issuers/{slug}/webhooks/{id}/rotate-secret"]["post"].is_object()
        );
        assert!(
            doc["paths"]["/core/v1/issuers/{slug}/users/{id}/sessions/{session_id}"]["delete"]
                .is_object()
        );
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
