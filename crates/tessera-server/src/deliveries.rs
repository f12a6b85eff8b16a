//! The delivery worker's wiring: `tessera-core` decides what a delivery sends
//! ([`Core::render_delivery`]), `tessera-webhooks` sends it. Neither knows the other; this
//! adapter joins them.

use std::sync::Arc;

use async_trait::async_trait;
use tessera_core::Core;
use tessera_model::OutboundRequest;
use tessera_model::{Clock, Delivery};
use tessera_webhooks::{Dispatcher, DispatcherConfig, Render, RenderError};

use crate::config::{ConfigError, WebhooksSection};

/// [`Render`] by [`Core::render_delivery`].
#[derive(Debug, Clone)]
struct CoreRender(Core);

#[async_trait]
impl Render for CoreRender {
    async fn render(&self, delivery: &Delivery) -> Result<OutboundRequest, RenderError> {
        self.0.render_delivery(delivery).await.map_err(|error| {
            // The text is kept as the delivery's last error and lands in its events, which
            // the Core API lists: storage failures are logged here and named only
            // generically there; the use cases' own refusals are written for people.
            tracing::warn!(delivery = %delivery.id, %error, "a delivery could not be rendered");
            match error {
                tessera_core::CoreError::Store(_) => {
                    RenderError("the delivery could not be prepared (storage)".to_owned())
                }
                other => RenderError(other.to_string()),
            }
        })
    }
}

/// Why the worker could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    /// `[webhooks]` is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client cannot be built (no TLS roots, …).
    #[error(transparent)]
    Http(#[from] tessera_webhooks::SetupError),
}

/// The delivery worker of this node, over `core`'s store, as `[webhooks]` configures it.
pub fn dispatcher(
    core: &Core,
    clock: Arc<dyn Clock>,
    webhooks: &WebhooksSection,
) -> Result<Dispatcher, DispatcherError> {
    let config = DispatcherConfig {
        allow_private_targets: webhooks.allow_private_targets,
        schedule: webhooks.retry_schedule()?,
        lease_seconds: webhooks.lease_seconds()?,
        ..DispatcherConfig::default()
    };
    Ok(Dispatcher::new(
        core.store().clone(),
        clock,
        Arc::new(CoreRender(core.clone())),
        core.deliveries_enqueued(),
        config,
    )?)
}
