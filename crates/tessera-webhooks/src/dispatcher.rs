//! The polling loop, one attempt, and the outcome it records.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tessera_model::{Actor, Clock, Delivery, NewEvent, OutboundRequest, UnixTime};
use tessera_store::{AttemptFailure, IssuerScope, Store, StoreError};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::RetrySchedule;
use crate::guard::{GuardedResolver, check_literal_host};

/// Why a delivery could not be built (e.g. its issuer has no signing key yet). A failed
/// attempt like any other: retried, then dead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// Turns a claimed delivery into the request to send, at send time (so a token in it is
/// signed now). Implemented by `tessera-core`, wired by `tessera-server`.
#[async_trait]
pub trait Render: Send + Sync + 'static {
    /// The request `delivery` sends now.
    async fn render(&self, delivery: &Delivery) -> Result<OutboundRequest, RenderError>;
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Whether targets may be loopback, private or link-local addresses
    /// (`webhooks.allow_private_targets`).
    pub allow_private_targets: bool,
    /// When failed deliveries are tried again, and how often.
    pub schedule: RetrySchedule,
    /// How often to look for due deliveries when not woken.
    pub poll_interval: Duration,
    /// The most deliveries in flight at once on this node.
    pub concurrency: usize,
    /// The most deliveries in flight at once to one endpoint (scheme, host and port), so a
    /// burst of events does not flood one receiver. An attempt waiting for its turn holds its
    /// lease: with the defaults it waits at most `concurrency / per_endpoint_concurrency - 1`
    /// request timeouts (30 s), well within the lease.
    pub per_endpoint_concurrency: usize,
    /// How long a claim holds a delivery, in seconds: longer than an attempt can take (the
    /// request timeout), so that a live worker never loses its lease mid-attempt.
    pub lease_seconds: i64,
    /// How long one request may take.
    pub request_timeout: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            schedule: RetrySchedule::standard(),
            poll_interval: Duration::from_secs(1),
            concurrency: 16,
            per_endpoint_concurrency: 4,
            lease_seconds: 60,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// The HTTP client could not be built (e.g. no TLS roots).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the delivery worker's HTTP client: {0}")]
pub struct SetupError(#[from] reqwest::Error);

/// What one attempt came to.
enum Outcome {
    Accepted(u16),
    Failed(AttemptFailure),
}

fn failed(status: Option<u16>, error: impl Into<String>) -> Outcome {
    Outcome::Failed(AttemptFailure {
        status,
        error: error.into(),
    })
}

/// The delivery worker of one node. Cheap to clone; every clone is the same worker.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    render: Arc<dyn Render>,
    config: DispatcherConfig,
    http: reqwest::Client,
    wake: Arc<Notify>,
    /// This worker's name on the leases it takes: unique per process.
    owner: String,
    /// The turns of each endpoint with attempts in flight (see
    /// [`DispatcherConfig::per_endpoint_concurrency`]); an endpoint's entry goes when its
    /// last attempt ends.
    endpoints: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("owner", &self.inner.owner)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A worker over `store`; `wake` is signalled when this node enqueues deliveries.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        render: Arc<dyn Render>,
        wake: Arc<Notify>,
        config: DispatcherConfig,
    ) -> Result<Self, SetupError> {
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .no_proxy()
            .user_agent(concat!("Tessera/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private_targets {
            http = http.dns_resolver(Arc::new(GuardedResolver));
        }
        let owner = format!(
            "worker-{}",
            tessera_crypto::base64url(&tessera_crypto::random_bytes::<12>())
        );
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clock,
                render,
                config,
                http: http.build()?,
                wake,
                owner,
                endpoints: std::sync::Mutex::default(),
            }),
        })
    }

    /// Sends due deliveries until `shutdown` completes; then stops claiming and lets the
    /// attempts in flight finish (each is bounded by the request timeout).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut in_flight: JoinSet<()> = JoinSet::new();
        loop {
            while in_flight.try_join_next().is_some() {}
            let free = self
                .inner
                .config
                .concurrency
                .saturating_sub(in_flight.len());
            let claimed = if free == 0 {
                Vec::new()
            } else {
                self.claim(free).await
            };
            let full_batch = free > 0 && claimed.len() == free;
            for delivery in claimed {
                let worker = self.clone();
                in_flight.spawn(async move { worker.attempt(delivery).await });
            }
            if full_batch {
                // More may be due: claim again once a slot frees up.
                tokio::select! {
                    () = &mut shutdown => break,
                    _ = in_flight.join_next() => {}
                }
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(self.inner.config.poll_interval) => {}
                Some(_) = in_flight.join_next(), if free == 0 => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// Claims and sends every delivery due now, and waits for their outcomes; how many were
    /// attempted. For tests and tools: [`Dispatcher::run`] is the loop.
    pub async fn run_once(&self) -> usize {
        let claimed = self.claim(self.inner.config.concurrency.max(1)).await;
        let count = claimed.len();
        let mut attempts = JoinSet::new();
        for delivery in claimed {
            let worker = self.clone();
            attempts.spawn(async move { worker.attempt(delivery).await });
        }
        while attempts.join_next().await.is_some() {}
        count
    }

    /// Up to `limit` due deliveries, leased to this worker. A storage failure is logged and
    /// claims nothing: the next poll tries again.
    async fn claim(&self, limit: usize) -> Vec<Delivery> {
        let now = self.inner.clock.now();
        let lease_until = now.plus_seconds(self.inner.config.lease_seconds);
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        match self
            .inner
            .store
            .deliveries()
            .claim_due(&self.inner.owner, now, lease_until, limit)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "cannot claim deliveries");
                Vec::new()
            }
        }
    }

    /// One attempt of a claimed delivery, and its outcome recorded.
    async fn attempt(&self, delivery: Delivery) {
        let outcome = match self.inner.render.render(&delivery).await {
            Ok(outgoing) => self.send(outgoing).await,
            Err(error) => failed(None, format!("cannot build the request: {error}")),
        };
        if let Err(error) = self.record(&delivery, outcome).await {
            // The lease runs out and another attempt follows: at least once, never lost.
            tracing::warn!(%error, delivery = %delivery.id, "cannot record a delivery's outcome");
        }
    }

    /// Waits for a turn at `endpoint`; the turn ends when the returned permit is dropped.
    async fn endpoint_turn(&self, endpoint: &str) -> EndpointTurn {
        let semaphore = {
            let mut endpoints = self
                .inner
                .endpoints
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            endpoints
                .entry(endpoint.to_owned())
                .or_insert_with(|| {
                    Arc::new(Semaphore::new(
                        self.inner.config.per_endpoint_concurrency.max(1),
                    ))
                })
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = semaphore.clone().acquire_owned().await.ok();
        EndpointTurn {
            dispatcher: self.clone(),
            endpoint: endpoint.to_owned(),
            semaphore,
            permit,
        }
    }

    /// Sends `outgoing`: the guard first, then one `POST` when the endpoint has a free turn;
    /// at most [`MAX_RESPONSE_BODY_BYTES`] of the answer are read, and none is kept.
    async fn send(&self, outgoing: OutboundRequest) -> Outcome {
        let url = match url::Url::parse(&outgoing.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            _ => return failed(None, "the target is not an http(s) URL"),
        };
        if !self.inner.config.allow_private_targets
            && let Err(refused) = check_literal_host(&url)
        {
            return failed(None, refused);
        }
        let endpoint = url.origin().ascii_serialization();
        let _turn = self.endpoint_turn(&endpoint).await;
        let mut request = self.inner.http.post(url).body(outgoing.body);
        for (name, value) in &outgoing.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                // Read (and drop) a bounded part of the body, so that the connection can be
                // reused; the receiver's words are not kept.
                let mut read = 0usize;
                while read < MAX_RESPONSE_BODY_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        Ok(None) | Err(_) => break,
                    }
                }
                if outgoing.accepted.includes(status) {
                    Outcome::Accepted(status)
                } else if response.status().is_redirection() {
                    failed(
                        Some(status),
                        format!("HTTP {status}: redirects are not followed"),
                    )
                } else {
                    failed(Some(status), format!("HTTP {status}"))
                }
            }
            Err(error) => failed(None, describe(&error)),
        }
    }

    /// Records `outcome`: delivered, due again after the schedule's next delay, or dead.
    async fn record(&self, delivery: &Delivery, outcome: Outcome) -> Result<(), StoreError> {
        let Some(issuer) = self.inner.store.issuers().find(delivery.issuer_id).await? else {
            // Deleted since the claim, and its deliveries with it.
            return Ok(());
        };
        let scope = IssuerScope::of(&issuer);
        let deliveries = self.inner.store.deliveries();
        let owner = &self.inner.owner;
        let now = self.inner.clock.now();
        let failure = match outcome {
            Outcome::Accepted(status) => {
                deliveries
                    .record_success(scope, delivery.id, owner, status, now)
                    .await?;
                tracing::debug!(delivery = %delivery.id, status, "delivered");
                return Ok(());
            }
            Outcome::Failed(failure) => failure,
        };
        let jitter = f64::from(u16::from_le_bytes(tessera_crypto::random_bytes::<2>()))
            / f64::from(u16::MAX);
        match self
            .inner
            .config
            .schedule
            .delay_after(delivery.attempts, jitter)
        {
            Some(delay) => {
                tracing::info!(
                    delivery = %delivery.id,
                    attempt = delivery.attempts,
                    error = %failure.error,
                    retry_in_seconds = delay,
                    "delivery attempt failed"
                );
                deliveries
                    .record_failure(
                        scope,
                        delivery.id,
                        owner,
                        &failure,
                        now.plus_seconds(delay),
                        now,
                    )
                    .await?;
            }
            None => {
                tracing::warn!(
                    delivery = %delivery.id,
                    attempts = delivery.attempts,
                    error = %failure.error,
                    "delivery dead-lettered after its last attempt"
                );
                let event = dead_letter_event(delivery, &failure, now);
                deliveries
                    .dead_letter(scope, delivery.id, owner, &failure, now, &event)
                    .await?;
            }
        }
        Ok(())
    }
}

/// How much of a receiver's answer is read before the connection is let go.
const MAX_RESPONSE_BODY_BYTES: usize = 64 * 1024;

/// A turn at one endpoint. When it ends, an endpoint with no other attempt in flight is
/// forgotten, so the table holds only endpoints being delivered to.
struct EndpointTurn {
    dispatcher: Dispatcher,
    endpoint: String,
    semaphore: Arc<Semaphore>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for EndpointTurn {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut endpoints = self
            .dispatcher
            .inner
            .endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Held by the table and by this turn only: nobody else waits for this endpoint.
        if Arc::strong_count(&self.semaphore) == 2 {
            endpoints.remove(&self.endpoint);
        }
    }
}

/// `delivery.failed`: what was given up on, and why. The payload is not repeated (it may hold
/// what a receiver should see, not every reader of the trail).
fn dead_letter_event(delivery: &Delivery, failure: &AttemptFailure, now: UnixTime) -> NewEvent {
    NewEvent::new(
        tessera_model::DELIVERY_FAILED,
        delivery.id,
        Actor::System,
        json!({
            "kind": delivery.kind.as_str(),
            "client_id": delivery.client_id.map(|c| c.to_string()),
            "webhook_id": delivery.webhook_id.map(|w| w.to_string()),
            "event_id": delivery.event_id().map(|e| e.to_string()),
            "event_type": delivery.event_type(),
            "target_url": delivery.target_url,
            "attempts": delivery.attempts,
            "last_status": failure.status,
            "last_error": tessera_model::short_delivery_error(&failure.error),
        }),
        now,
    )
}

/// A network error in a few words (the chain of causes, without the URL).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
