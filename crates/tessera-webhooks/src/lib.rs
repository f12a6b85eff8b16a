//! The delivery worker: sends the outbound deliveries that `tessera-core` enqueues (OpenID
//! Back-Channel Logout tokens, webhook events), from the durable queue of
//! `tessera-store` (`DeliveryRepo`).
//!
//! The [`Dispatcher`] polls for due deliveries (every [`DispatcherConfig::poll_interval`], and
//! at once when this node enqueues some), claims them with a lease so that any number of nodes
//! may run it and no delivery is attempted twice at once (DESIGN.md §5), sends each with a
//! bounded number in flight, and records the outcome: delivered; failed, due again after the
//! [`RetrySchedule`]'s next delay with jitter; or, after the last attempt, dead (with a
//! `delivery.failed` event).
//!
//! What is sent is not decided here: a [`Render`] (implemented by `tessera-core`, wired by
//! `tessera-server`) turns a claimed delivery into the request, at send time, and says which
//! statuses mean success. This crate owns how a request travels:
//!
//! - `POST`, a 10-second timeout, **no redirect followed** (a 3xx is a failed attempt: a
//!   receiver must not be able to point Tessera somewhere else), no proxy from the environment,
//!   at most 4 requests at once to one endpoint, and at most 64 KiB of an answer read (so the
//!   connection can be reused), none of it kept;
//! - the server-side request forgery guard ([`guard`]): unless
//!   `webhooks.allow_private_targets` is set, the target's addresses are resolved by the worker
//!   itself and any refused address ([`tessera_model::refused_address`]) is dropped before
//!   connecting, so a name that resolved to a public address at registration and to a private
//!   one now is not followed (DNS rebinding).
//!
//! **Architecture Invariant:** no business rules. `tessera-core` builds the request and decides
//! what counts as accepted; the dispatcher reads a payload only through `Delivery`'s accessors
//! (`event_id`, `event_type`), to say in a dead letter what the failed delivery carried.

mod dispatcher;
pub mod guard;
mod schedule;

pub use dispatcher::{Dispatcher, DispatcherConfig, Render, RenderError, SetupError};
pub use schedule::{
    MAX_DELAY_SECONDS, MAX_DELAYS, RetrySchedule, STANDARD_DELAYS_SECONDS, ScheduleError,
};
