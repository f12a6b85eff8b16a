//! The issuer-scoped handle.

use tessera_model::{Issuer, IssuerId};

/// Proof that a read or write is meant for one issuer. Every issuer-owned repository method
/// takes one, and the backend binds its id into every statement, so tenant isolation is not
/// a matter of remembering a `WHERE` clause. It is also the seam for per-issuer placement later
/// (an issuer on its own database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IssuerScope(IssuerId);

impl IssuerScope {
    /// The scope of a loaded issuer.
    pub fn of(issuer: &Issuer) -> Self {
        Self(issuer.id)
    }

    /// The issuer's id, for the backend to bind.
    pub fn issuer_id(&self) -> IssuerId {
        self.0
    }
}
