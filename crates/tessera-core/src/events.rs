//! The audit trail: listing an issuer's events, and verifying its hash chain.
//!
//! The store appends every event as the next link of its issuer's chain
//! ([`tessera_store::chain`]); [`Core::verify_audit_chain`] reads the chain back in `seq` order
//! and recomputes every hash with the same function, so an event changed, removed or
//! re-hashed behind Tessera's back is found, and the first broken link is named.

use tessera_model::{Actor, Event, EventId, GENESIS_HASH, Issuer, UnixTime};
use tessera_store::chain::chain_hash;
use tessera_store::{EventListFilter, EventTypeFilter, IssuerScope, Page, PageRequest};

use crate::issuers::IssuerListing;
use crate::{Core, CoreError};

/// A listing's filters as the caller spelled them; [`Core::list_events`] checks them.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// A type (`user.created`) or a family of types (`user.*`).
    pub event_type: Option<String>,
    /// The public id the events are about.
    pub subject: Option<String>,
    /// `system`, `client:cli_…` or `user:usr_…`.
    pub actor: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, inclusive.
    pub until: Option<i64>,
}

/// What [`Core::verify_audit_chain`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// How many events the issuer's trail holds.
    pub events: u64,
    /// The `seq` of the last event that retention removed (the chain is checked from the
    /// hash it left); 0 when none was removed.
    pub pruned_through: i64,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

impl ChainReport {
    /// Whether every link held.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// The first link of a chain that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The `seq` where the chain breaks (for [`ChainBreak::Gap`], the one that was expected).
    pub seq: i64,
    /// The event found there, if there is one.
    pub event_id: Option<EventId>,
    /// Why it is broken.
    pub reason: ChainBreak,
}

/// Why a link is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainBreak {
    /// The stored hash is not the hash of the event's contents: the event was changed.
    HashMismatch,
    /// The event does not point at its predecessor's hash: an event before it was changed
    /// and re-hashed, or replaced.
    PrevHashMismatch,
    /// A `seq` is missing: an event was removed.
    Gap,
    /// Some events are outside the chain (no `seq` or hash).
    Unchained {
        /// How many.
        count: u64,
    },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::HashMismatch => f.write_str("hash does not match its contents"),
            Self::PrevHashMismatch => {
                f.write_str("prev_hash does not match the previous event's hash")
            }
            Self::Gap => f.write_str("the event is missing (gap in the sequence)"),
            Self::Unchained { count } => write!(f, "{count} event(s) carry no chain link"),
        }
    }
}

/// How many links the verifier reads at once.
const CHAIN_PAGE: u32 = 500;

impl Core {
    /// A page of `issuer`'s events that match `filter`, in creation order.
    pub async fn list_events(
        &self,
        issuer: &Issuer,
        filter: &EventFilter,
        page: PageRequest,
    ) -> Result<Page<Event>, CoreError> {
        let filter = check_filter(filter)?;
        Ok(self
            .store
            .events()
            .list(IssuerScope::of(issuer), &filter, page)
            .await?)
    }

    /// Recomputes every hash of `issuer`'s chain, in `seq` order, and reports the first link
    /// that does not hold. A chain whose beginning retention removed is checked from the
    /// anchor that retention left (the last removed link), so a pruned beginning is not a
    /// break, while a removed event after it still is.
    pub async fn verify_audit_chain(&self, issuer: &Issuer) -> Result<ChainReport, CoreError> {
        let scope = IssuerScope::of(issuer);
        let events = self.store.events().count(scope).await?;
        let anchor = self.store.events().chain_anchor(scope).await?;
        let pruned_through = anchor.map_or(0, |a| a.seq);
        let mut expected_seq = pruned_through + 1;
        let mut prev_hash = anchor.map_or(GENESIS_HASH, |a| a.hash);
        loop {
            let page = self
                .store
                .events()
                .list_chain(scope, expected_seq - 1, CHAIN_PAGE)
                .await?;
            if page.is_empty() {
                break;
            }
            for event in page {
                if let Some(reason) = check_link(&event, expected_seq, &prev_hash) {
                    let (seq, event_id) = match reason {
                        ChainBreak::Gap => (expected_seq, None),
                        _ => (event.seq, Some(event.id)),
                    };
                    return Ok(ChainReport {
                        events,
                        pruned_through,
                        broken: Some(BrokenLink {
                            seq,
                            event_id,
                            reason,
                        }),
                    });
                }
                expected_seq += 1;
                prev_hash = event.hash;
            }
        }
        let chained = u64::try_from(expected_seq - 1 - pruned_through).unwrap_or(0);
        let broken = (events > chained).then(|| BrokenLink {
            seq: expected_seq,
            event_id: None,
            reason: ChainBreak::Unchained {
                count: events - chained,
            },
        });
        Ok(ChainReport {
            events,
            pruned_through,
            broken,
        })
    }

    /// Retention: for every issuer with an `event_retention_days` setting (the only ones read),
    /// removes the events
    /// older than that (and the finished deliveries last changed before it), keeping the chain
    /// verifiable from the anchor left behind. Returns how many events were removed. Run by
    /// each node's housekeeping loop; two nodes running it at once remove each event once,
    /// since both take the issuer's append lock.
    pub async fn apply_event_retention(&self) -> Result<u64, CoreError> {
        let now = self.clock.now();
        let mut removed = 0;
        for issuer in self
            .issuers_where(IssuerListing::WithEventRetention)
            .await?
        {
            let Some(days) = issuer.settings.event_retention_days() else {
                continue;
            };
            let before = now.plus_seconds(-days * 86_400);
            removed += self
                .store
                .events()
                .prune(IssuerScope::of(&issuer), before, now)
                .await?;
        }
        Ok(removed)
    }
}

/// The checks of one link, in order: its place, its pointer, its own hash.
fn check_link(event: &Event, expected_seq: i64, prev_hash: &[u8; 32]) -> Option<ChainBreak> {
    if event.seq != expected_seq {
        Some(ChainBreak::Gap)
    } else if event.prev_hash != *prev_hash {
        Some(ChainBreak::PrevHashMismatch)
    } else if event.hash != chain_hash(&event.prev_hash, &event.chain_fields()) {
        Some(ChainBreak::HashMismatch)
    } else {
        None
    }
}

/// Turns the caller's spelling into the store's filter, or names the parameter it refuses.
fn check_filter(filter: &EventFilter) -> Result<EventListFilter, CoreError> {
    let event_type = match given(filter.event_type.as_deref()) {
        None => None,
        Some(text) => Some(type_filter(text).ok_or_else(|| {
            CoreError::InvalidField {
                field: "type",
                reason: "must be an event type (`user.created`) or a family of types ending in \
                     `.*` (`user.*`)"
                    .to_owned(),
            }
        })?),
    };
    let actor = match given(filter.actor.as_deref()) {
        None => None,
        Some(text) => Some(
            Actor::from_storage(text).ok_or_else(|| CoreError::InvalidField {
                field: "actor",
                reason: "must be `system`, `client:cli_…` or `user:usr_…`".to_owned(),
            })?,
        ),
    };
    for (field, value) in [("since", filter.since), ("until", filter.until)] {
        if value.is_some_and(|t| t < 0) {
            return Err(CoreError::InvalidField {
                field,
                reason: "must be Unix seconds (0 or more)".to_owned(),
            });
        }
    }
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since > until
    {
        return Err(CoreError::InvalidField {
            field: "until",
            reason: "must not be before `since`".to_owned(),
        });
    }
    Ok(EventListFilter {
        event_type,
        subject: given(filter.subject.as_deref()).map(str::to_owned),
        actor,
        since: filter.since.map(UnixTime),
        until: filter.until.map(UnixTime),
    })
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// `user.created` → exact; `user.*` → every type under `user.`. Segments are lowercase
/// letters, digits and `_`.
fn type_filter(text: &str) -> Option<EventTypeFilter> {
    let (stem, wildcard) = match text.strip_suffix(".*") {
        Some(stem) => (stem, true),
        None => (text, false),
    };
    let valid = stem.split('.').all(|segment| {
        !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    });
    if !valid {
        return None;
    }
    Some(if wildcard {
        EventTypeFilter::Prefix(format!("{stem}."))
    } else {
        EventTypeFilter::Exact(stem.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_are_exact_or_a_family() {
        assert_eq!(
            type_filter("user.created"),
            Some(EventTypeFilter::Exact("user.created".into()))
        );
        assert_eq!(
            type_filter("user.*"),
            Some(EventTypeFilter::Prefix("user.".into()))
        );
        assert_eq!(
            type_filter("user.login.*"),
            Some(EventTypeFilter::Prefix("user.login.".into()))
        );
        for bad in [
            "*",
            "user*",
            "user.*.x",
            "User.created",
            "user..x",
            "user.%",
            ".*",
        ] {
            assert_eq!(type_filter(bad), None, "{bad}");
        }
    }
}
