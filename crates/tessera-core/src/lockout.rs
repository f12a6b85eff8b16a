//! Brute-force protection of the sign-in page (DESIGN.md §6; OWASP ASVS V2.2.1: "anti-
//! automation controls … effective at mitigating breached credential testing, brute force, and
//! account lockout attacks").
//!
//! Failed sign-ins are counted per **account**, keyed by the identifier typed, and per
//! **network address** (an IPv4 address, or the /64 of an IPv6 one: one subscriber's share),
//! under the issuer's [`LockoutPolicy`]:
//!
//! - after the `n`-th failure in a row an account must wait `2^(n-1)` seconds (at most a
//!   minute) before its next try, and at `max_failures` it is locked for `lock_seconds`;
//! - an address is locked at `address_max_failures`, whatever accounts it tried (credential
//!   stuffing tries many accounts once each);
//! - a successful sign-in clears its account's count; a count whose last failure is older than
//!   `lock_seconds` starts again.
//!
//! Three properties matter more than the numbers:
//!
//! 1. **No enumeration.** The count is keyed by the identifier, not the account, so an
//!    identifier nobody has is delayed and locked exactly like a real one.
//! 2. **No race past the limit.** A try is *reserved* before the password is checked: the
//!    account's count is advanced by a compare-and-set on the count read
//!    ([`tessera_store::SignInFailureRepo::advance`]), so of concurrent guesses that saw one
//!    count only one proceeds, the others are told to wait. A success then clears the count.
//! 3. **Shared across nodes.** The counts live in the database, so a lock holds on every node.
//!
//! The address count is added to after a failure (not reserved), so a burst from one address
//! may overshoot its limit by the burst's width; its limit is a coarse one anyway.
//!
//! While an account or address is locked, sign-ins are refused without checking the password
//! and without writing anything, so an attacker cannot extend a lock by hammering it. A lock
//! writes one `user.locked` event when it starts.

use std::net::IpAddr;

use serde_json::json;
use tessera_crypto::sha256;
use tessera_model::{Actor, Issuer, LockoutPolicy, NewEvent, UnixTime};
use tessera_store::{FailureCount, IssuerScope};

use crate::{Core, CoreError};

/// Whether a subject may try now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// It may; its count goes to `next` if the try fails.
    Open { next: i64 },
    /// Not before `until`.
    Closed { until: UnixTime },
}

/// Whether an account with this count may try at `now`.
pub(crate) fn account_gate(
    count: Option<FailureCount>,
    policy: LockoutPolicy,
    now: UnixTime,
) -> Gate {
    let Some(count) = count.filter(|c| !is_stale(*c, policy, now)) else {
        return Gate::Open { next: 1 };
    };
    let wait = if count.failures >= policy.max_failures() {
        policy.lock_seconds()
    } else {
        policy.delay_after(count.failures)
    };
    let until = wait_ends(count, wait);
    if now < until {
        Gate::Closed { until }
    } else {
        Gate::Open {
            next: count.failures + 1,
        }
    }
}

/// Whether a network address with this count may try at `now`.
pub(crate) fn address_gate(
    count: Option<FailureCount>,
    policy: LockoutPolicy,
    now: UnixTime,
) -> Gate {
    match count.filter(|c| !is_stale(*c, policy, now)) {
        Some(count) if count.failures >= policy.address_max_failures() => Gate::Closed {
            until: wait_ends(count, policy.lock_seconds()),
        },
        Some(count) => Gate::Open {
            next: count.failures + 1,
        },
        None => Gate::Open { next: 1 },
    }
}

/// When a wait of `seconds` after the count's last failure ends. Times are whole seconds and
/// the failure may have come at the very end of its second, so the wait ends a second later:
/// it lasts at least `seconds`, never less.
fn wait_ends(count: FailureCount, seconds: i64) -> UnixTime {
    count.last_failure_at.plus_seconds(seconds + 1)
}

/// A count whose lock period has passed is forgotten.
fn is_stale(count: FailureCount, policy: LockoutPolicy, now: UnixTime) -> bool {
    now >= wait_ends(count, policy.lock_seconds())
}

/// The subject an identifier is counted under: the same for every spelling that finds the
/// same account (case, surrounding spaces).
pub(crate) fn account_subject(identifier: &str) -> [u8; 32] {
    sha256(format!("account:{}", identifier.trim().to_lowercase()).as_bytes())
}

/// The subject an address is counted under: an IPv4 address, or the /64 network of an IPv6
/// address (one subscriber usually holds a whole /64); an IPv4-mapped IPv6 address counts as
/// its IPv4 address.
pub(crate) fn address_subject(address: IpAddr) -> [u8; 32] {
    let network = match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    };
    sha256(format!("address:{network}").as_bytes())
}

/// A sign-in try that may go on to the password check.
#[derive(Debug)]
pub(crate) struct Reservation {
    identifier: String,
    account: [u8; 32],
    /// The account's count as reserved: what it stays if this try fails.
    reserved: FailureCount,
    address: Option<[u8; 32]>,
}

impl Core {
    /// Reserves a sign-in try for `identifier` from `address`, or says until when it must
    /// wait (`Err`). Nothing is written for a refused try.
    pub(crate) async fn reserve_sign_in(
        &self,
        issuer: &Issuer,
        identifier: &str,
        address: Option<IpAddr>,
    ) -> Result<Result<Reservation, UnixTime>, CoreError> {
        let policy = issuer.settings.lockout();
        let scope = IssuerScope::of(issuer);
        let now = self.clock.now();
        let account = account_subject(identifier);
        let address = address.map(address_subject);
        let subjects: Vec<[u8; 32]> = std::iter::once(account).chain(address).collect();
        let counts = self.store.sign_in_failures().find(scope, &subjects).await?;
        let account_count = counts.first().copied().flatten();
        let address_count = counts.get(1).copied().flatten();
        if let Gate::Closed { until } = address_gate(address_count, policy, now) {
            return Ok(Err(until));
        }
        let next = match account_gate(account_count, policy, now) {
            Gate::Closed { until } => return Ok(Err(until)),
            Gate::Open { next } => next,
        };
        let reserved = FailureCount {
            failures: next,
            last_failure_at: now,
        };
        // A stale count is replaced as it was read; `advance` compares it exactly.
        let won = self
            .store
            .sign_in_failures()
            .advance(scope, &account, account_count, reserved)
            .await?;
        if !won {
            // Another try for this identifier reserved first: this one waits its turn.
            return Ok(Err(now.plus_seconds(1)));
        }
        Ok(Ok(Reservation {
            identifier: identifier.to_owned(),
            account,
            reserved,
            address,
        }))
    }

    /// The reserved try signed in: its account's count is cleared.
    pub(crate) async fn sign_in_succeeded(
        &self,
        issuer: &Issuer,
        reservation: &Reservation,
    ) -> Result<(), CoreError> {
        self.store
            .sign_in_failures()
            .clear(IssuerScope::of(issuer), &reservation.account)
            .await?;
        Ok(())
    }

    /// The reserved try failed: the account's failure stays counted, the address's is added,
    /// and a lock that starts now is written as a `user.locked` event, whose subject is the
    /// user the identifier names (or the issuer, when it names none).
    pub(crate) async fn sign_in_failed(
        &self,
        issuer: &Issuer,
        reservation: &Reservation,
    ) -> Result<(), CoreError> {
        let policy = issuer.settings.lockout();
        let scope = IssuerScope::of(issuer);
        let now = self.clock.now();
        // The wait after a failure runs from when the failure was known, not from when the
        // try began (a password check takes a while). Compared with the reservation, so a
        // try that began since is left alone.
        let failures = reservation.reserved.failures;
        self.store
            .sign_in_failures()
            .advance(
                scope,
                &reservation.account,
                Some(reservation.reserved),
                FailureCount {
                    failures,
                    last_failure_at: now,
                },
            )
            .await?;
        let mut locks = Vec::new();
        if failures == policy.max_failures() {
            locks.push(("account", failures));
        }
        if let Some(address) = &reservation.address {
            let count = self
                .store
                .sign_in_failures()
                .add(
                    scope,
                    address,
                    now,
                    now.plus_seconds(-policy.lock_seconds()),
                )
                .await?;
            if count.failures == policy.address_max_failures() {
                locks.push(("address", count.failures));
            }
        }
        if locks.is_empty() {
            return Ok(());
        }
        let subject = match self
            .find_by_identifier(issuer, &reservation.identifier)
            .await?
        {
            Some(user) => user.id.to_string(),
            None => issuer.id.to_string(),
        };
        for (locked, failures) in locks {
            let event = NewEvent::new(
                "user.locked",
                subject.clone(),
                Actor::System,
                json!({
                    "locked": locked,
                    "failures": failures,
                    "until": now.plus_seconds(policy.lock_seconds()).0,
                }),
                now,
            );
            self.store.events().append(scope, &event).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    const T: UnixTime = UnixTime(1_800_000_000);

    fn count(failures: i64, seconds_ago: i64) -> Option<FailureCount> {
        Some(FailureCount {
            failures,
            last_failure_at: T.plus_seconds(-seconds_ago),
        })
    }

    #[test]
    fn an_account_waits_longer_after_each_failure_then_is_locked() {
        let policy = LockoutPolicy::default(); // 5 failures, 900 s
        let closed = |seconds| Gate::Closed {
            until: T.plus_seconds(seconds),
        };
        assert_eq!(account_gate(None, policy, T), Gate::Open { next: 1 });
        // After one failure: 1 s; after four: 8 s. Times are whole seconds, so a wait of n
        // seconds ends n + 1 seconds after the failure's second: never shorter than n.
        assert_eq!(account_gate(count(1, 0), policy, T), closed(2));
        assert_eq!(account_gate(count(1, 1), policy, T), closed(1));
        assert_eq!(account_gate(count(1, 2), policy, T), Gate::Open { next: 2 });
        assert_eq!(account_gate(count(4, 3), policy, T), closed(6));
        assert_eq!(account_gate(count(4, 9), policy, T), Gate::Open { next: 5 });
        // The fifth failure locks for the lock period, counted from that failure.
        assert_eq!(account_gate(count(5, 60), policy, T), closed(841));
        assert_eq!(account_gate(count(5, 900), policy, T), closed(1));
        // After the lock period, the count is forgotten.
        let forgotten = Gate::Open { next: 1 };
        assert_eq!(account_gate(count(5, 901), policy, T), forgotten);
        assert_eq!(account_gate(count(3, 5000), policy, T), forgotten);
    }

    #[test]
    fn an_address_is_locked_only_at_its_own_limit() {
        let policy = LockoutPolicy::new(5, 600, 20).unwrap();
        let next = |n| Gate::Open { next: n };
        assert_eq!(address_gate(count(19, 0), policy, T), next(20));
        assert_eq!(
            address_gate(count(20, 100), policy, T),
            Gate::Closed {
                until: T.plus_seconds(501)
            }
        );
        assert_eq!(address_gate(count(20, 601), policy, T), next(1));
    }

    #[test]
    fn subjects_ignore_case_and_spaces_and_group_ipv6_by_64() {
        assert_eq!(
            account_subject("  Ada@Example.COM "),
            account_subject("ada@example.com")
        );
        assert_ne!(account_subject("ada"), account_subject("ada2"));
        let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_subject(a.into()), address_subject(b.into()));
        assert_ne!(address_subject(a.into()), address_subject(c.into()));
        let v4 = Ipv4Addr::new(192, 0, 2, 7);
        assert_eq!(
            address_subject(IpAddr::V6(v4.to_ipv6_mapped())),
            address_subject(v4.into())
        );
        assert_ne!(
            address_subject(Ipv4Addr::new(192, 0, 2, 8).into()),
            address_subject(v4.into())
        );
        assert_ne!(account_subject("192.0.2.7"), address_subject(v4.into()));
    }

    proptest! {
        /// Whatever the count and the clock: a try is allowed only when the account has
        /// waited its delay and is below the limit, and a refusal names a time to come back
        /// that lies ahead, at most a lock period away.
        #[test]
        fn the_gate_never_lets_a_locked_account_through(
            failures in 0i64..200,
            ago in 0i64..5000,
            max in 3i64..=100,
            lock in 60i64..=3600,
        ) {
            let policy = LockoutPolicy::new(max, lock, 50).unwrap();
            match account_gate(count(failures, ago), policy, T) {
                Gate::Open { next } => {
                    prop_assert!(next == 1 || next == failures + 1);
                    if next > 1 {
                        prop_assert!(failures < max);
                        prop_assert!(ago > policy.delay_after(failures));
                    }
                }
                Gate::Closed { until } => {
                    prop_assert!(until > T);
                    prop_assert!(until <= T.plus_seconds(lock + 1));
                    prop_assert!(ago <= lock);
                }
            }
        }
    }
}
