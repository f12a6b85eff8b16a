//! Tessera's HTTP edge: the only crate that names axum (ARCHITECTURE.md invariant 1).
//!
//! It builds the router (operational endpoints now; the IdP API, Core API and hosted pages
//! as they arrive), wraps it in the middleware every request gets, and serves it on a
//! listener it is given until a shutdown future completes. Taking the listener and the
//! shutdown signal as arguments lets tests bind port 0 and decide when the server stops.
//!
//! Every request gets an `x-request-id` (kept from the caller if present, generated
//! otherwise, echoed on the response), a tracing span carrying that id, and a count and
//! latency in the Prometheus metrics. Query strings are never logged: they can carry codes
//! and tokens. Every request also runs inside its [`RequestOrigin`] (peer address, user
//! agent, request id), which the events it causes record.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, Request};
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use tessera_core::Core;
use tessera_core::mail::Mailer;
use tessera_model::RequestOrigin;

mod client_address;
pub use client_address::canonical_range;
mod conventions;
mod core_api;
mod health;
mod idempotency;
mod metrics;
mod oauth;
mod pages;
mod problem;

/// What every handler can reach. Axum clones the state for every request, so the `Core` sits
/// behind one `Arc`: a clone is one reference count, not one per cache and pool inside it.
#[derive(Clone, Debug)]
pub struct AppState {
    core: Arc<Core>,
    /// Whether cookies are `Secure` (decided once from the public URL).
    secure_cookies: bool,
    /// Whether this node is draining (see [`Draining`]).
    draining: Draining,
    /// Sends the hosted pages' mail (verification, password reset).
    mailer: Mailer,
    /// Which peers are trusted proxies, and so whose forwarded addresses count.
    client_address: client_address::ClientAddress,
}

impl AppState {
    /// The state for a server in front of `core`. Its mail goes nowhere but the log
    /// ([`Mailer::log_only`]) until [`Self::with_mailer`] sets a transport; the server always
    /// does.
    pub fn new(core: Core) -> Self {
        let secure_cookies = pages::needs_secure_cookies(core.public_url());
        Self {
            core: Arc::new(core),
            secure_cookies,
            draining: Draining::default(),
            mailer: Mailer::log_only(tessera_core::mail::DEFAULT_FROM)
                .expect("the default sender is an address"),
            client_address: client_address::ClientAddress::default(),
        }
    }

    /// Sends the hosted pages' mail with `mailer`.
    pub fn with_mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = mailer;
        self
    }

    /// What sends the hosted pages' mail.
    pub(crate) fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    /// Trusts the reverse proxies in `ranges`: a request whose TCP peer is in one of them is
    /// counted under the client address the proxies forwarded (`X-Forwarded-For`, else
    /// `Forwarded`), not under the proxy's. Without this, every request's address is its peer.
    pub fn with_trusted_proxies(mut self, ranges: Vec<ipnet::IpNet>) -> Self {
        self.client_address = client_address::ClientAddress::new(ranges);
        self
    }

    /// The request's client address, as the sign-in lockout counts it: the TCP peer, or the
    /// forwarded address when the peer is a trusted proxy (the rule is in
    /// `client_address`'s docs). `None` when the request came without connection info.
    pub(crate) fn client_address(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Option<IpAddr> {
        self.client_address
            .resolve(client_address::peer(extensions), headers)
    }

    /// The switch that puts this server into draining.
    pub fn draining(&self) -> Draining {
        self.draining.clone()
    }
}

/// Whether a node is on its way out. A draining node still serves every request, but its
/// `/readyz` answers 503 (`"reason": "draining"`), so a load balancer stops sending it new
/// traffic before it stops accepting connections; what the balancer already sent still gets
/// an answer. Once on, it stays on: a node does not come back from draining.
#[derive(Clone, Debug, Default)]
pub struct Draining(Arc<std::sync::atomic::AtomicBool>);

impl Draining {
    /// From now on, `/readyz` says this node is draining.
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Self::start`] was called.
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a random 64-bit prefix chosen when the server starts, then a counter, as 32
/// hex digits. Unique within a process and practically across processes, and made without
/// a system call (a UUIDv4 asks the kernel for randomness on every request). They identify
/// requests in logs; they are not secrets.
#[derive(Clone)]
struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        // `RandomState` is seeded from the operating system once per process.
        let prefix = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self {
            prefix,
            next: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:016x}{n:016x}", self.prefix);
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The complete router with its middleware.
fn app(state: AppState) -> Router {
    let draining = state.draining();
    with_middleware(
        Router::new()
            .merge(health::routes())
            .merge(metrics::routes())
            .merge(core_api::routes(state.clone()))
            .merge(oauth::routes())
            .merge(pages::routes())
            .fallback(problem::not_found)
            .with_state(state)
            .layer(axum::middleware::from_fn_with_state(
                draining,
                close_when_draining,
            )),
    )
}

/// While the node drains, every response asks the client to close its connection
/// (`Connection: close`, RFC 9112 §9.6), and the server closes it once the response is
/// written: clients and load balancers open their next connection afresh (to another node,
/// once the balancer has seen `/readyz`) instead of finding an idle one closed under them
/// when this node stops accepting.
async fn close_when_draining(
    axum::extract::State(draining): axum::extract::State<Draining>,
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    if draining.is_on() {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    response
}

/// Wraps a router in the middleware every request gets (outermost first): request id,
/// tracing span, metrics, the id echoed on the response, and innermost the request's origin
/// for events (`with_request_context`, which reads the id set above).
fn with_middleware(router: Router) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds::new()))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &Request<_>| {
                        let request_id = request
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        let span = tracing::info_span!(
                            "request",
                            request_id = %request_id,
                            method = tracing::field::Empty,
                            path = tracing::field::Empty,
                        );
                        // Method and path are formatted only when the per-request line below
                        // is logged: at `info` they would cost every request for nothing.
                        if tracing::enabled!(target: "tower_http::trace::on_response", Level::DEBUG)
                        {
                            span.record("method", tracing::field::display(request.method()));
                            span.record("path", tracing::field::display(request.uri().path()));
                        }
                        span
                    })
                    // One line per request only at `debug` (`tower_http::trace=debug`): at the
                    // token endpoint's rate, formatting and writing it cost ~17 % of
                    // throughput (docs/benchmarks.md).
                    .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
            )
            .layer(axum::middleware::from_fn(metrics::track))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(axum::middleware::from_fn(with_request_context)),
    )
}

/// Runs the request inside its [`RequestOrigin`]: the TCP peer's address (when the server
/// was given it: [`serve`] is), the `User-Agent`, and the request id set above. Nothing is
/// formatted here; an event made by the request does that.
async fn with_request_context(
    request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request_origin(&request).scope(next.run(request)).await
}

fn request_origin<B>(request: &Request<B>) -> RequestOrigin {
    RequestOrigin {
        peer: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|peer| peer.0.ip()),
        user_agent: request
            .headers()
            .get(axum::http::header::USER_AGENT)
            .cloned(),
        request_id: request.headers().get(REQUEST_ID).cloned(),
    }
}

/// Serves Tessera on `listener` until `shutdown` completes; then stops accepting, lets the
/// requests in flight finish (for at most `grace`), and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    serve_router(listener, app(state), shutdown, grace).await
}

async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    metrics::install();
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = stopping_tx.send(());
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let server = std::pin::pin!(server.into_future());
    // After the signal, wait at most `grace` for in-flight requests.
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(?grace, "requests still running after the grace period; stopping anyway");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// In-flight requests finish after the shutdown signal; new connections are refused.
    #[tokio::test]
    async fn shutdown_lets_requests_in_flight_finish() {
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let entered_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(entered_tx)));
        let router = with_middleware(Router::new().route(
            "/slow",
            get(move || {
                let release_rx = release_rx.clone();
                let entered_tx = entered_tx.clone();
                async move {
                    if let Some(tx) = entered_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    let rx = release_rx.lock().await.take().unwrap();
                    let _ = rx.await;
                    "finished"
                }
            }),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_router(
            listener,
            router,
            async move {
                let _ = stop_rx.await;
            },
            Duration::from_secs(30),
        ));

        let in_flight = tokio::spawn(reqwest::get(format!("http://{addr}/slow")));
        entered_rx.await.unwrap();
        stop_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !server.is_finished(),
            "the server waits for the request in flight"
        );
        assert!(
            reqwest::get(format!("http://{addr}/slow")).await.is_err(),
            "no new connections after the signal"
        );
        release_tx.send(()).unwrap();
        let response = in_flight.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "finished");
        server.await.unwrap().unwrap();
    }
}
