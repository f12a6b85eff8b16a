//! Tessera's domain vocabulary (DESIGN.md §1): typed ids, validated values and entities.
//!
//! Values are parsed once at the edge and carry their validity in their type ("parse, don't
//! validate"): an [`IssuerSlug`] or an [`Email`] that exists is a valid one. This crate does no
//! I/O and reads no clock: time comes from a [`Clock`] that the server crate provides.

mod address;
mod branding;
mod delivery;
mod email;
mod entity;
mod event;
mod flow;
mod id;
mod issuer_settings;
mod logout_uri;
mod redirect_uri;
mod slug;
mod time;
mod token_settings;

pub use address::refused_address;
pub use branding::{
    Branding, BrandingParts, Color, MAX_CUSTOM_CSS_BYTES, MAX_TEXT_CHARS, MAX_TEXTS,
};
pub use delivery::{
    AcceptedStatuses, Delivery, DeliveryKind, DeliveryState, MAX_DELIVERY_ERROR_CHARS,
    OutboundRequest, short_delivery_error,
};
pub use email::{Email, EmailError};
pub use entity::{
    Client, ClientType, DELIVERY_FAILED, Issuer, KeyAlgorithm, KeyState, SigningKey, Ticket,
    TicketKind, User, Webhook,
};
pub use event::{
    Actor, ChainFields, Event, GENESIS_HASH, MAX_USER_AGENT_CHARS, NewEvent, RequestContext,
    RequestOrigin,
};
pub use flow::{Grant, Interaction, OpaqueAccessToken, RefreshToken, Session, TokenFamily};
pub use id::{
    ClientId, DeliveryId, EventId, FamilyId, GrantId, IdError, InteractionId, IssuerId, KeyId,
    SessionId, TicketId, UserId, WebhookId,
};
pub use issuer_settings::{
    ACCESS_TOKEN_LIFETIME, Bounds, EVENT_RETENTION_DAYS, EmailDomains, ID_TOKEN_LIFETIME,
    IssuerSettings, KEY_ROTATION_DAYS, LOCKOUT_ADDRESS_MAX_FAILURES, LOCKOUT_MAX_FAILURES,
    LOCKOUT_SECONDS, LockoutPolicy, MAX_ALLOWED_EMAIL_DOMAINS, PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH, PASSWORD_MIN_STRENGTH, PasswordPolicy, REFRESH_TOKEN_LIFETIME,
    SettingsError, SignupPolicy,
};
pub use logout_uri::{BackchannelLogoutUri, BackchannelLogoutUriError};
pub use redirect_uri::{RedirectUri, RedirectUriError};
pub use slug::{IssuerSlug, SlugError};
pub use time::{Clock, FixedClock, UnixTime};
pub use token_settings::{AccessTokenFormat, ClientTokenSettings};
