//! The pages' static files, compiled into the binary and served by Tessera itself: a page
//! never loads anything from another origin, so the Content-Security-Policy can say `'self'`.
//!
//! Pages link each file with a version (`?v=…`, a hash of its bytes), so browsers may keep a
//! file for a year and still fetch the new one after an upgrade.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A static file: its name under `/static/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[Asset {
    name: "tessera.css",
    content_type: "text/css; charset=utf-8",
    bytes: include_bytes!("../../assets/tessera.css"),
}];

/// The stylesheet's URL, versioned by its content.
pub(crate) static STYLESHEET: LazyLock<String> =
    LazyLock::new(|| format!("/static/tessera.css?v={}", version(ASSETS[0].bytes)));

/// A short, stable hash of a file's bytes (`DefaultHasher::new` has fixed keys).
fn version(bytes: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    versioned(asset.bytes.into_response(), asset.content_type)
}

/// A stylesheet made for one issuer (its branding), linked with the issuer's revision.
pub(crate) fn stylesheet(css: String) -> Response {
    versioned(css.into_response(), "text/css; charset=utf-8")
}

/// A file whose URL changes with its content: kept by browsers for a year.
fn versioned(mut response: Response, content_type: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
