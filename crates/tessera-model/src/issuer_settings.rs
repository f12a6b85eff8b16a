//! An issuer's settings: token lifetimes, the signing algorithm of its keys, who may sign up,
//! the password policy, and what an account may do on its own (issues 3 and 5).
//!
//! An [`IssuerSettings`] is valid by construction: it starts from the defaults and changes only
//! through `with_*` methods that refuse a value out of bounds, with an error that names the
//! field as the Core API spells it (`settings.access_token_lifetime`). Storage reads go through
//! the same methods, so a value that the database holds but these rules refuse is corrupt, not
//! silently accepted.
//!
//! Defaults: access and ID tokens live an hour, refresh tokens thirty days, keys are ES256, and
//! sign-up is **open**. DESIGN.md does not say; an open sign-up is what Auth0 and most hosted
//! identity providers start with, and an operator who wants a closed pool sets `disabled`.
//! A new account must verify its email address before it signs in, passwords are 8 to 1024
//! characters with a zxcvbn strength of at least 2 ([`PasswordPolicy`]), and people cannot
//! delete their own accounts: each default is the safer side of its choice.

use crate::{Branding, KeyAlgorithm};

/// One minute, in seconds.
const MINUTE: i64 = 60;
/// One day, in seconds.
const DAY: i64 = 24 * 60 * MINUTE;

/// Default and bounds of the access-token lifetime, in seconds.
pub const ACCESS_TOKEN_LIFETIME: Bounds = Bounds {
    default: 3600,
    min: MINUTE,
    max: DAY,
    unit: "seconds",
};
/// Default and bounds of the ID-token lifetime, in seconds.
pub const ID_TOKEN_LIFETIME: Bounds = Bounds {
    default: 3600,
    min: MINUTE,
    max: DAY,
    unit: "seconds",
};
/// Default and bounds of the refresh-token lifetime, in seconds.
pub const REFRESH_TOKEN_LIFETIME: Bounds = Bounds {
    default: 30 * DAY,
    min: 5 * MINUTE,
    max: 365 * DAY,
    unit: "seconds",
};

/// The bounds of an event retention, in days: a day at least, ten years at most. A new issuer
/// keeps its events for ever (no retention).
pub const EVENT_RETENTION_DAYS: std::ops::RangeInclusive<i64> = 1..=3650;

/// The bounds of a key rotation period, in days: a day at least, ten years at most. A new
/// issuer rotates its keys only when told to (no period), as Auth0 and Keycloak do.
pub const KEY_ROTATION_DAYS: std::ops::RangeInclusive<i64> = 1..=3650;

/// The most email domains an `allowed_email_domains` policy may list.
pub const MAX_ALLOWED_EMAIL_DOMAINS: usize = 100;

/// How many failed sign-ins in a row lock an account (brute-force protection): the default
/// and bounds. Growing delays come before the lock (see [`LockoutPolicy`]).
pub const LOCKOUT_MAX_FAILURES: Bounds = Bounds {
    default: 5,
    min: 3,
    max: 100,
    unit: "failures",
};
/// How long a lock lasts, in seconds (counted from the last failure).
pub const LOCKOUT_SECONDS: Bounds = Bounds {
    default: 15 * MINUTE,
    min: MINUTE,
    max: DAY,
    unit: "seconds",
};
/// How many failed sign-ins from one network address (an IPv4 address, an IPv6 /64) lock
/// that address, whatever accounts they tried: credential stuffing tries many accounts once.
/// Higher than the account limit, since many people may share an address.
pub const LOCKOUT_ADDRESS_MAX_FAILURES: Bounds = Bounds {
    default: 50,
    min: 10,
    max: 100_000,
    unit: "failures",
};

/// The shortest password an issuer may require, in characters (Unicode scalar values, what
/// Rust's `chars()` counts): NIST SP 800-63B §5.1.1.2 asks for at least 8, and an issuer may
/// ask for more, up to 128.
pub const PASSWORD_MIN_LENGTH: Bounds = Bounds {
    default: 8,
    min: 8,
    max: 128,
    unit: "characters",
};
/// The longest password an issuer accepts, in characters: at least 128 (NIST SP 800-63B asks
/// for 64 at least; passphrases and password managers need room), at most 4096, which bounds
/// what one sign-in makes Argon2 hash.
pub const PASSWORD_MAX_LENGTH: Bounds = Bounds {
    default: 1024,
    min: 128,
    max: 4096,
    unit: "characters",
};
/// The least zxcvbn strength score a password needs, 0 (anything) to 4 (very hard to
/// guess). The default, 2, refuses what falls to fewer than 10^6 guesses or so (zxcvbn's
/// score 1), which an online attacker spread over many addresses can reach.
pub const PASSWORD_MIN_STRENGTH: Bounds = Bounds {
    default: 2,
    min: 0,
    max: 4,
    unit: "(a zxcvbn score)",
};

/// The default and the inclusive bounds of a number setting, in `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The value of a new issuer.
    pub default: i64,
    /// The least accepted.
    pub min: i64,
    /// The most accepted.
    pub max: i64,
    /// What the number counts, for messages (`seconds`).
    pub unit: &'static str,
}

impl Bounds {
    pub(crate) fn check(self, field: &'static str, value: i64) -> Result<i64, SettingsError> {
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(SettingsError {
                field,
                reason: format!("must be {} to {} {}", self.min, self.max, self.unit),
            })
        }
    }
}

/// Brute-force protection of an issuer's sign-in page (DESIGN.md §6, OWASP ASVS V2.2.1).
///
/// Failed sign-ins are counted per account (by the identifier typed, so an unknown account
/// behaves exactly like a known one) and per network address. After the `n`-th failure in a
/// row an account waits [`LockoutPolicy::delay_after`] before the next try (1, 2, 4, 8 …
/// seconds); at [`LockoutPolicy::max_failures`] it is locked for
/// [`LockoutPolicy::lock_seconds`]. An address is locked at
/// [`LockoutPolicy::address_max_failures`]. A success clears the account's count; a count
/// whose last failure is older than the lock period starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    max_failures: i64,
    lock_seconds: i64,
    address_max_failures: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: LOCKOUT_MAX_FAILURES.default,
            lock_seconds: LOCKOUT_SECONDS.default,
            address_max_failures: LOCKOUT_ADDRESS_MAX_FAILURES.default,
        }
    }
}

impl LockoutPolicy {
    /// The longest wait before a lock, in seconds: growing delays stop growing here.
    pub const MAX_DELAY: i64 = 60;

    /// A policy from its three numbers, each within its bounds.
    pub fn new(
        max_failures: i64,
        lock_seconds: i64,
        address_max_failures: i64,
    ) -> Result<Self, SettingsError> {
        Ok(Self {
            max_failures: LOCKOUT_MAX_FAILURES
                .check("settings.lockout.max_failures", max_failures)?,
            lock_seconds: LOCKOUT_SECONDS.check("settings.lockout.lock_seconds", lock_seconds)?,
            address_max_failures: LOCKOUT_ADDRESS_MAX_FAILURES.check(
                "settings.lockout.address_max_failures",
                address_max_failures,
            )?,
        })
    }

    /// Failures in a row that lock an account.
    pub fn max_failures(&self) -> i64 {
        self.max_failures
    }

    /// How long a lock lasts after the last failure, in seconds; also how long a count is
    /// remembered.
    pub fn lock_seconds(&self) -> i64 {
        self.lock_seconds
    }

    /// Failures that lock a network address.
    pub fn address_max_failures(&self) -> i64 {
        self.address_max_failures
    }

    /// The wait after `failures` failures in a row, below the lock: `2^(failures-1)` seconds,
    /// at most [`Self::MAX_DELAY`]; none before the first failure.
    pub fn delay_after(&self, failures: i64) -> i64 {
        match failures {
            ..=0 => 0,
            // 2^6 already passes the cap.
            n if n > 7 => Self::MAX_DELAY,
            n => (1_i64 << (n - 1)).min(Self::MAX_DELAY),
        }
    }
}

/// What a password must be at an issuer (issue 5; NIST SP 800-63B §5.1.1.2). The rules
/// themselves, including the refusal of common passwords whatever the strength asked for,
/// are applied by `tessera_core::password_policy::check`.
///
/// Lengths count characters (Unicode scalar values, as `str::chars` counts them), not bytes:
/// `"é"` is one character whether typed precomposed (U+00E9) or not, though a decomposed
/// `"e\u{301}"` is two. Both ends are inclusive.
///
/// Valid by construction: [`PASSWORD_MIN_LENGTH`], [`PASSWORD_MAX_LENGTH`] and
/// [`PASSWORD_MIN_STRENGTH`] bound each number, and the longest length is never below the
/// shortest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: i64,
    max_length: i64,
    min_strength: i64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: PASSWORD_MIN_LENGTH.default,
            max_length: PASSWORD_MAX_LENGTH.default,
            min_strength: PASSWORD_MIN_STRENGTH.default,
        }
    }
}

impl PasswordPolicy {
    /// A policy from its three numbers, each within its bounds, the longest length not below
    /// the shortest.
    pub fn new(min_length: i64, max_length: i64, min_strength: i64) -> Result<Self, SettingsError> {
        let min_length =
            PASSWORD_MIN_LENGTH.check("settings.password_policy.min_length", min_length)?;
        let max_length =
            PASSWORD_MAX_LENGTH.check("settings.password_policy.max_length", max_length)?;
        // The bounds above cannot overlap today (128 is the most of one and the least of the
        // other); this keeps the rule true should either bound ever move.
        if max_length < min_length {
            return Err(SettingsError {
                field: "settings.password_policy.max_length",
                reason: format!("must be at least min_length ({min_length} characters)"),
            });
        }
        Ok(Self {
            min_length,
            max_length,
            min_strength: PASSWORD_MIN_STRENGTH
                .check("settings.password_policy.min_strength", min_strength)?,
        })
    }

    /// The fewest characters a password may have.
    pub fn min_length(&self) -> i64 {
        self.min_length
    }

    /// The most characters a password may have.
    pub fn max_length(&self) -> i64 {
        self.max_length
    }

    /// The least zxcvbn score (0 to 4) a password needs.
    pub fn min_strength(&self) -> i64 {
        self.min_strength
    }
}

/// A refused setting: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {reason}")]
pub struct SettingsError {
    /// The field, dotted as the Core API names it (`settings.signup.allowed_email_domains`).
    pub field: &'static str,
    /// What is wrong, for a person.
    pub reason: String,
}

/// The email domains a sign-up may use: 1 to [`MAX_ALLOWED_EMAIL_DOMAINS`] lowercase DNS
/// names in their ASCII form, without duplicates, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDomains(Vec<String>);

impl EmailDomains {
    const FIELD: &'static str = "settings.signup.allowed_email_domains";

    /// Parses a list of domains, lowercasing them and dropping repeats.
    pub fn parse<S: AsRef<str>>(domains: &[S]) -> Result<Self, SettingsError> {
        let refuse = |reason: String| SettingsError {
            field: Self::FIELD,
            reason,
        };
        if domains.is_empty() || domains.len() > MAX_ALLOWED_EMAIL_DOMAINS {
            return Err(refuse(format!(
                "must list 1 to {MAX_ALLOWED_EMAIL_DOMAINS} domains"
            )));
        }
        let mut parsed: Vec<String> = Vec::with_capacity(domains.len());
        for domain in domains {
            let domain = domain.as_ref().to_ascii_lowercase();
            if !is_dns_name(&domain) {
                return Err(refuse(format!(
                    "`{}` is not a domain name (lowercase letters, digits and `-` in \
                     dot-separated labels, at least two labels, ASCII form for \
                     international names)",
                    domain.chars().take(80).collect::<String>()
                )));
            }
            if !parsed.contains(&domain) {
                parsed.push(domain);
            }
        }
        Ok(Self(parsed))
    }

    /// The domains, lowercase.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether an email address's domain is one of these (case-insensitively).
    pub fn allows(&self, email: &str) -> bool {
        email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| self.0.iter().any(|d| d.eq_ignore_ascii_case(domain)))
    }
}

/// RFC 1035 §2.3.1 preferred name syntax (with RFC 1123's leading digits), lowercase, at least
/// two labels: what a mail domain looks like.
fn is_dns_name(name: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    name.len() <= 253 && name.split('.').count() >= 2 && name.split('.').all(label_ok)
}

/// Who may create an account at an issuer's sign-up page (issue 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupPolicy {
    /// Nobody: accounts are made through the Core API only.
    Disabled,
    /// Anybody.
    Open,
    /// People whose email address is at one of these domains.
    AllowedEmailDomains(EmailDomains),
}

impl SignupPolicy {
    /// The wire and storage spelling of the policy.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Open => "open",
            Self::AllowedEmailDomains(_) => "allowed_email_domains",
        }
    }

    /// Parses a policy name and its domains: `allowed_email_domains` needs domains, the other
    /// policies take none.
    pub fn parse<S: AsRef<str>>(policy: &str, domains: &[S]) -> Result<Self, SettingsError> {
        let no_domains = |policy: Self| {
            if domains.is_empty() {
                Ok(policy)
            } else {
                Err(SettingsError {
                    field: EmailDomains::FIELD,
                    reason: "only the `allowed_email_domains` policy lists domains".to_owned(),
                })
            }
        };
        match policy {
            "disabled" => no_domains(Self::Disabled),
            "open" => no_domains(Self::Open),
            "allowed_email_domains" => Ok(Self::AllowedEmailDomains(EmailDomains::parse(domains)?)),
            _ => Err(SettingsError {
                field: "settings.signup.policy",
                reason: "must be `disabled`, `open` or `allowed_email_domains`".to_owned(),
            }),
        }
    }

    /// The allowed domains (empty unless the policy lists them).
    pub fn domains(&self) -> &[String] {
        match self {
            Self::AllowedEmailDomains(domains) => domains.as_slice(),
            Self::Disabled | Self::Open => &[],
        }
    }
}

/// An issuer's settings. See the module documentation for the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerSettings {
    access_token_lifetime: i64,
    id_token_lifetime: i64,
    refresh_token_lifetime: i64,
    signing_algorithm: KeyAlgorithm,
    signup: SignupPolicy,
    event_retention_days: Option<i64>,
    key_rotation_days: Option<i64>,
    lockout: LockoutPolicy,
    branding: Branding,
    password_policy: PasswordPolicy,
    require_email_verification: bool,
    allow_account_deletion: bool,
}

impl Default for IssuerSettings {
    fn default() -> Self {
        Self {
            access_token_lifetime: ACCESS_TOKEN_LIFETIME.default,
            id_token_lifetime: ID_TOKEN_LIFETIME.default,
            refresh_token_lifetime: REFRESH_TOKEN_LIFETIME.default,
            signing_algorithm: KeyAlgorithm::Es256,
            signup: SignupPolicy::Open,
            event_retention_days: None,
            key_rotation_days: None,
            lockout: LockoutPolicy::default(),
            branding: Branding::default(),
            password_policy: PasswordPolicy::default(),
            require_email_verification: true,
            allow_account_deletion: false,
        }
    }
}

impl IssuerSettings {
    /// How long an access token lives, in seconds.
    pub fn access_token_lifetime(&self) -> i64 {
        self.access_token_lifetime
    }

    /// How long an ID token lives, in seconds.
    pub fn id_token_lifetime(&self) -> i64 {
        self.id_token_lifetime
    }

    /// How long a refresh token lives, in seconds.
    pub fn refresh_token_lifetime(&self) -> i64 {
        self.refresh_token_lifetime
    }

    /// The algorithm of the issuer's signing keys.
    pub fn signing_algorithm(&self) -> KeyAlgorithm {
        self.signing_algorithm
    }

    /// Who may sign up.
    pub fn signup(&self) -> &SignupPolicy {
        &self.signup
    }

    /// How many days the issuer's events are kept; `None`: for ever.
    pub fn event_retention_days(&self) -> Option<i64> {
        self.event_retention_days
    }

    /// With another event retention ([`EVENT_RETENTION_DAYS`]); `None` keeps events for ever.
    pub fn with_event_retention_days(self, days: Option<i64>) -> Result<Self, SettingsError> {
        if let Some(days) = days
            && !EVENT_RETENTION_DAYS.contains(&days)
        {
            return Err(SettingsError {
                field: "settings.event_retention_days",
                reason: format!(
                    "must be {} to {} days, or null to keep events for ever",
                    EVENT_RETENTION_DAYS.start(),
                    EVENT_RETENTION_DAYS.end()
                ),
            });
        }
        Ok(Self {
            event_retention_days: days,
            ..self
        })
    }

    /// How the hosted pages look.
    pub fn branding(&self) -> &Branding {
        &self.branding
    }

    /// With another branding.
    pub fn with_branding(self, branding: Branding) -> Self {
        Self { branding, ..self }
    }

    /// The brute-force protection of the sign-in page.
    pub fn lockout(&self) -> LockoutPolicy {
        self.lockout
    }

    /// With another brute-force protection.
    pub fn with_lockout(self, lockout: LockoutPolicy) -> Self {
        Self { lockout, ..self }
    }

    /// What a password must be.
    pub fn password_policy(&self) -> PasswordPolicy {
        self.password_policy
    }

    /// With another password policy. Passwords already set stay valid; the policy applies
    /// when a password is next set.
    pub fn with_password_policy(self, password_policy: PasswordPolicy) -> Self {
        Self {
            password_policy,
            ..self
        }
    }

    /// Whether a new account must prove its email address before it may sign in or finish
    /// an authorization (`settings.signup.require_email_verification` on the wire). It sits
    /// beside [`SignupPolicy`], not in it: it holds whichever policy lets people in.
    pub fn require_email_verification(&self) -> bool {
        self.require_email_verification
    }

    /// With email verification required, or not.
    pub fn with_require_email_verification(self, required: bool) -> Self {
        Self {
            require_email_verification: required,
            ..self
        }
    }

    /// Whether people may delete their own accounts from the account pages. Administrators
    /// may always delete users through the Core API.
    pub fn allow_account_deletion(&self) -> bool {
        self.allow_account_deletion
    }

    /// With self-service account deletion allowed, or not.
    pub fn with_allow_account_deletion(self, allowed: bool) -> Self {
        Self {
            allow_account_deletion: allowed,
            ..self
        }
    }

    /// How many days a key signs before the housekeeping job rotates the issuer's keys;
    /// `None`: only when rotated through the Core API.
    pub fn key_rotation_days(&self) -> Option<i64> {
        self.key_rotation_days
    }

    /// With another key rotation period ([`KEY_ROTATION_DAYS`]); `None` rotates only on
    /// request.
    pub fn with_key_rotation_days(self, days: Option<i64>) -> Result<Self, SettingsError> {
        if let Some(days) = days
            && !KEY_ROTATION_DAYS.contains(&days)
        {
            return Err(SettingsError {
                field: "settings.key_rotation_days",
                reason: format!(
                    "must be {} to {} days, or null to rotate keys only on request",
                    KEY_ROTATION_DAYS.start(),
                    KEY_ROTATION_DAYS.end()
                ),
            });
        }
        Ok(Self {
            key_rotation_days: days,
            ..self
        })
    }

    /// With another access-token lifetime ([`ACCESS_TOKEN_LIFETIME`] bounds).
    pub fn with_access_token_lifetime(self, seconds: i64) -> Result<Self, SettingsError> {
        Ok(Self {
            access_token_lifetime: ACCESS_TOKEN_LIFETIME
                .check("settings.access_token_lifetime", seconds)?,
            ..self
        })
    }

    /// With another ID-token lifetime ([`ID_TOKEN_LIFETIME`] bounds).
    pub fn with_id_token_lifetime(self, seconds: i64) -> Result<Self, SettingsError> {
        Ok(Self {
            id_token_lifetime: ID_TOKEN_LIFETIME.check("settings.id_token_lifetime", seconds)?,
            ..self
        })
    }

    /// With another refresh-token lifetime ([`REFRESH_TOKEN_LIFETIME`] bounds).
    pub fn with_refresh_token_lifetime(self, seconds: i64) -> Result<Self, SettingsError> {
        Ok(Self {
            refresh_token_lifetime: REFRESH_TOKEN_LIFETIME
                .check("settings.refresh_token_lifetime", seconds)?,
            ..self
        })
    }

    /// With another signing algorithm. Which algorithms an installation can actually sign
    /// with is the use cases' decision, not the vocabulary's.
    pub fn with_signing_algorithm(self, algorithm: KeyAlgorithm) -> Self {
        Self {
            signing_algorithm: algorithm,
            ..self
        }
    }

    /// With another sign-up policy.
    pub fn with_signup(self, signup: SignupPolicy) -> Self {
        Self { signup, ..self }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn defaults_are_an_hour_thirty_days_es256_and_open_sign_up() {
        let settings = IssuerSettings::default();
        assert_eq!(settings.access_token_lifetime(), 3600);
        assert_eq!(settings.id_token_lifetime(), 3600);
        assert_eq!(settings.refresh_token_lifetime(), 30 * 86_400);
        assert_eq!(settings.signing_algorithm(), KeyAlgorithm::Es256);
        assert_eq!(settings.signup(), &SignupPolicy::Open);
    }

    #[test]
    fn lifetimes_out_of_bounds_are_refused_naming_the_field() {
        let err = IssuerSettings::default()
            .with_access_token_lifetime(59)
            .unwrap_err();
        assert_eq!(err.field, "settings.access_token_lifetime");
        assert!(err.reason.contains("60 to 86400"), "{err}");
        assert_eq!(
            IssuerSettings::default()
                .with_id_token_lifetime(86_401)
                .unwrap_err()
                .field,
            "settings.id_token_lifetime"
        );
        assert_eq!(
            IssuerSettings::default()
                .with_refresh_token_lifetime(299)
                .unwrap_err()
                .field,
            "settings.refresh_token_lifetime"
        );
        let edges = IssuerSettings::default()
            .with_access_token_lifetime(60)
            .unwrap()
            .with_id_token_lifetime(86_400)
            .unwrap()
            .with_refresh_token_lifetime(365 * 86_400)
            .unwrap();
        assert_eq!(edges.access_token_lifetime(), 60);
        assert_eq!(edges.id_token_lifetime(), 86_400);
        assert_eq!(edges.refresh_token_lifetime(), 365 * 86_400);
    }

    #[test]
    fn event_retention_is_a_day_to_ten_years_or_for_ever() {
        assert_eq!(IssuerSettings::default().event_retention_days(), None);
        for days in [1, 90, 3650] {
            let set = IssuerSettings::default()
                .with_event_retention_days(Some(days))
                .unwrap();
            assert_eq!(set.event_retention_days(), Some(days));
            assert_eq!(
                set.with_event_retention_days(None)
                    .unwrap()
                    .event_retention_days(),
                None
            );
        }
        for days in [0, -1, 3651] {
            let err = IssuerSettings::default()
                .with_event_retention_days(Some(days))
                .unwrap_err();
            assert_eq!(err.field, "settings.event_retention_days");
        }
    }

    #[test]
    fn a_lockout_policy_is_checked_field_by_field_and_delays_grow_to_a_cap() {
        let policy = IssuerSettings::default().lockout();
        assert_eq!(
            (
                policy.max_failures(),
                policy.lock_seconds(),
                policy.address_max_failures()
            ),
            (5, 900, 50)
        );
        let delays: Vec<i64> = (0..=9).map(|n| policy.delay_after(n)).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.delay_after(i64::MAX), LockoutPolicy::MAX_DELAY);
        assert_eq!(policy.delay_after(-3), 0);
        let set = LockoutPolicy::new(3, 60, 10).unwrap();
        assert_eq!(IssuerSettings::default().with_lockout(set).lockout(), set);
        for (args, field) in [
            ((2, 60, 10), "settings.lockout.max_failures"),
            ((101, 60, 10), "settings.lockout.max_failures"),
            ((5, 59, 10), "settings.lockout.lock_seconds"),
            ((5, 86_401, 10), "settings.lockout.lock_seconds"),
            ((5, 60, 9), "settings.lockout.address_max_failures"),
        ] {
            let err = LockoutPolicy::new(args.0, args.1, args.2).unwrap_err();
            assert_eq!(err.field, field, "{args:?}");
        }
        assert_eq!(
            LockoutPolicy::new(2, 60, 10).unwrap_err().reason,
            "must be 3 to 100 failures"
        );
    }

    #[test]
    fn a_password_policy_is_checked_field_by_field_in_characters() {
        let settings = IssuerSettings::default();
        let policy = settings.password_policy();
        assert_eq!(
            (
                policy.min_length(),
                policy.max_length(),
                policy.min_strength()
            ),
            (8, 1024, 2)
        );
        assert!(settings.require_email_verification());
        assert!(!settings.allow_account_deletion());
        for (min, max, strength) in [(8, 128, 0), (128, 128, 4), (128, 4096, 3)] {
            let set = PasswordPolicy::new(min, max, strength).unwrap();
            assert_eq!(
                (set.min_length(), set.max_length(), set.min_strength()),
                (min, max, strength)
            );
            let changed = IssuerSettings::default().with_password_policy(set);
            assert_eq!(changed.password_policy(), set);
            assert_eq!(changed.lockout(), LockoutPolicy::default());
        }
        for (args, field) in [
            ((7, 1024, 2), "settings.password_policy.min_length"),
            ((129, 1024, 2), "settings.password_policy.min_length"),
            ((129, 128, 2), "settings.password_policy.min_length"),
            ((8, 127, 2), "settings.password_policy.max_length"),
            ((8, 4097, 2), "settings.password_policy.max_length"),
            ((8, 1024, -1), "settings.password_policy.min_strength"),
            ((8, 1024, 5), "settings.password_policy.min_strength"),
        ] {
            let err = PasswordPolicy::new(args.0, args.1, args.2).unwrap_err();
            assert_eq!(err.field, field, "{args:?}");
        }
        assert_eq!(
            PasswordPolicy::new(8, 1024, 5).unwrap_err().reason,
            "must be 0 to 4 (a zxcvbn score)"
        );
        assert_eq!(
            PasswordPolicy::new(7, 1024, 2).unwrap_err().reason,
            "must be 8 to 128 characters"
        );
    }

    #[test]
    fn account_switches_change_alone() {
        let settings = IssuerSettings::default()
            .with_require_email_verification(false)
            .with_allow_account_deletion(true);
        assert!(!settings.require_email_verification());
        assert!(settings.allow_account_deletion());
        assert_eq!(settings.signup(), &SignupPolicy::Open);
        assert_eq!(settings.password_policy(), PasswordPolicy::default());
    }

    #[test]
    fn key_rotation_is_every_day_to_ten_years_or_on_request() {
        assert_eq!(IssuerSettings::default().key_rotation_days(), None);
        for days in [1, 90, 3650] {
            let set = IssuerSettings::default()
                .with_key_rotation_days(Some(days))
                .unwrap();
            assert_eq!(set.key_rotation_days(), Some(days));
            assert_eq!(
                set.with_key_rotation_days(None)
                    .unwrap()
                    .key_rotation_days(),
                None
            );
        }
        for days in [0, -1, 3651] {
            let err = IssuerSettings::default()
                .with_key_rotation_days(Some(days))
                .unwrap_err();
            assert_eq!(err.field, "settings.key_rotation_days");
        }
    }

    #[test]
    fn a_changed_setting_leaves_the_others_alone() {
        let settings = IssuerSettings::default()
            .with_signup(SignupPolicy::Disabled)
            .with_access_token_lifetime(900)
            .unwrap();
        assert_eq!(settings.signup(), &SignupPolicy::Disabled);
        assert_eq!(settings.id_token_lifetime(), 3600);
    }

    #[test]
    fn email_domains_are_lowercased_deduplicated_and_checked() {
        let domains = EmailDomains::parse(&["Example.COM", "example.com", "a-b.co.uk"]).unwrap();
        assert_eq!(domains.as_slice(), ["example.com", "a-b.co.uk"]);
        assert!(domains.allows("ada@EXAMPLE.com"));
        assert!(!domains.allows("ada@evil-example.com"));
        assert!(!domains.allows("no-at-sign"));
        for bad in [
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            ".com",
            "exämple.com",
            "a b.com",
            "@example.com",
            "",
        ] {
            let err = EmailDomains::parse(&[bad]).unwrap_err();
            assert_eq!(err.field, "settings.signup.allowed_email_domains", "{bad}");
        }
        assert!(EmailDomains::parse::<&str>(&[]).is_err());
        let many: Vec<String> = (0..=MAX_ALLOWED_EMAIL_DOMAINS)
            .map(|i| format!("d{i}.example"))
            .collect();
        assert!(EmailDomains::parse(&many).is_err());
        assert!(EmailDomains::parse(&many[..MAX_ALLOWED_EMAIL_DOMAINS]).is_ok());
    }

    #[test]
    fn signup_policies_parse_with_their_domains() {
        assert_eq!(
            SignupPolicy::parse::<&str>("open", &[]).unwrap(),
            SignupPolicy::Open
        );
        assert_eq!(
            SignupPolicy::parse::<&str>("disabled", &[]).unwrap(),
            SignupPolicy::Disabled
        );
        let domains = SignupPolicy::parse("allowed_email_domains", &["example.com"]).unwrap();
        assert_eq!(domains.as_str(), "allowed_email_domains");
        assert_eq!(domains.domains(), ["example.com"]);
        assert_eq!(
            SignupPolicy::parse::<&str>("allowed_email_domains", &[])
                .unwrap_err()
                .field,
            "settings.signup.allowed_email_domains"
        );
        assert_eq!(
            SignupPolicy::parse("open", &["example.com"])
                .unwrap_err()
                .field,
            "settings.signup.allowed_email_domains"
        );
        assert_eq!(
            SignupPolicy::parse::<&str>("invite_only", &[])
                .unwrap_err()
                .field,
            "settings.signup.policy"
        );
    }

    proptest! {
        /// Never panics; what is accepted is within bounds, what is refused names its field.
        #[test]
        fn lifetimes_are_accepted_exactly_within_bounds(seconds in any::<i64>()) {
            for (bounds, field, result) in [
                (ACCESS_TOKEN_LIFETIME, "settings.access_token_lifetime",
                 IssuerSettings::default().with_access_token_lifetime(seconds)
                     .map(|s| s.access_token_lifetime())),
                (ID_TOKEN_LIFETIME, "settings.id_token_lifetime",
                 IssuerSettings::default().with_id_token_lifetime(seconds)
                     .map(|s| s.id_token_lifetime())),
                (REFRESH_TOKEN_LIFETIME, "settings.refresh_token_lifetime",
                 IssuerSettings::default().with_refresh_token_lifetime(seconds)
                     .map(|s| s.refresh_token_lifetime())),
            ] {
                match result {
                    Ok(accepted) => {
                        prop_assert_eq!(accepted, seconds);
                        prop_assert!(bounds.min <= accepted && accepted <= bounds.max);
                    }
                    Err(err) => {
                        prop_assert_eq!(err.field, field);
                        prop_assert!(seconds < bounds.min || seconds > bounds.max);
                    }
                }
            }
        }

        /// Never panics; an accepted policy is within every bound, with max ≥ min; a refused
        /// one names one of its fields.
        #[test]
        fn password_policies_are_accepted_exactly_within_bounds(
            min in -10_i64..200, max in 0_i64..5000, strength in -2_i64..7,
        ) {
            match PasswordPolicy::new(min, max, strength) {
                Ok(policy) => {
                    prop_assert!((8..=128).contains(&policy.min_length()));
                    prop_assert!((128..=4096).contains(&policy.max_length()));
                    prop_assert!(policy.max_length() >= policy.min_length());
                    prop_assert!((0..=4).contains(&policy.min_strength()));
                }
                Err(err) => {
                    prop_assert!(err.field.starts_with("settings.password_policy."));
                    prop_assert!(
                        !(8..=128).contains(&min)
                            || !(128..=4096).contains(&max)
                            || !(0..=4).contains(&strength)
                    );
                }
            }
        }

        /// Never panics; accepted domains are lowercase DNS names, 1 to 100 of them.
        #[test]
        fn accepted_domains_are_lowercase_dns_names(
            domains in proptest::collection::vec("[a-zA-Z0-9.\\-é_ ]{0,20}", 0..5),
            policy in "(open|disabled|allowed_email_domains|[a-z_]{0,12})",
        ) {
            if let Ok(parsed) = SignupPolicy::parse(&policy, &domains) {
                prop_assert!(parsed.domains().len() <= MAX_ALLOWED_EMAIL_DOMAINS);
                prop_assert_eq!(
                    parsed.domains().is_empty(),
                    !matches!(parsed, SignupPolicy::AllowedEmailDomains(_))
                );
                for domain in parsed.domains() {
                    prop_assert!(is_dns_name(domain));
                    prop_assert_eq!(domain, &domain.to_ascii_lowercase());
                }
            }
        }
    }
}
