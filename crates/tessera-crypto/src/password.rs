//! Password hashing: Argon2id with the OWASP parameters, stored as a PHC string.
//!
//! Passwords are low-entropy secrets chosen by people, so unlike bearer secrets (which are 256
//! random bits and only need SHA-256, see [`SecretHash`](crate::SecretHash)) they must be
//! stored with a function that makes every guess expensive. The OWASP Password Storage Cheat
//! Sheet (<https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html>,
//! "Argon2id") recommends Argon2id first: it won the Password Hashing Competition and is
//! RFC 9106's recommended variant, memory-hard (a GPU or ASIC farm pays in memory, not only in
//! cycles) and, being a hybrid of Argon2i and Argon2d, resistant to both side-channel and
//! trade-off attacks. Of the equivalent configurations the cheat sheet lists, we use its first,
//! **m = 19 MiB (19456 KiB), t = 2, p = 1**: the smallest memory cost it allows, which keeps a
//! burst of sign-ins within reach of a small server's memory (DESIGN.md §7 bounds how many run
//! at once), at the cost of a second pass.
//!
//! Each hash has its own 16-byte salt from the operating system's CSPRNG ([`random_bytes`]) and
//! is written as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so the
//! parameters travel with the hash and can be raised later: [`needs_rehash`] tells the sign-in
//! flow when to re-hash a password it has just verified.
//!
//! What is refused: [`verify_password`] accepts only Argon2id (a stored `argon2i`/`argon2d`
//! or any other scheme never verifies) and only costs up to [`MAX_MEMORY_KIB`],
//! [`MAX_ITERATIONS`] and [`MAX_PARALLELISM`], so that a corrupted or planted hash cannot make
//! one verification allocate gigabytes or run for minutes. It never panics.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::random_bytes;

/// Memory cost in KiB (OWASP: 19 MiB).
pub const MEMORY_KIB: u32 = 19_456;
/// Number of passes (OWASP: 2 with 19 MiB).
pub const ITERATIONS: u32 = 2;
/// Degree of parallelism (OWASP: 1).
pub const PARALLELISM: u32 = 1;

/// The largest memory cost a stored hash may ask for (256 MiB), beyond anything OWASP lists.
pub const MAX_MEMORY_KIB: u32 = 262_144;
/// The largest number of passes a stored hash may ask for.
pub const MAX_ITERATIONS: u32 = 16;
/// The largest degree of parallelism a stored hash may ask for.
pub const MAX_PARALLELISM: u32 = 8;

/// Length of the random salt, in bytes (RFC 9106 §3.1 recommends 16).
const SALT_LEN: usize = 16;

/// Why a password could not be hashed. It never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Argon2 refused the input (in practice: a password longer than 4 GiB).
    #[error("the password could not be hashed")]
    Hash,
}

fn hasher() -> Argon2<'static> {
    // The constants are within Argon2's limits; `Params::new` cannot refuse them.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with Argon2id and a fresh salt; returns the PHC string to store.
///
/// This costs tens of milliseconds of CPU and 19 MiB of memory: call it off the async workers.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt =
        SaltString::encode_b64(&random_bytes::<SALT_LEN>()).map_err(|_| PasswordError::Hash)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Whether `password` matches the stored PHC string `phc`. Anything that is not a well-formed
/// Argon2id hash within the cost limits is a mismatch. The output comparison is in constant
/// time (the `password-hash` crate's `Output`).
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    if hash.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB
        || params.t_cost() > MAX_ITERATIONS
        || params.p_cost() > MAX_PARALLELISM
    {
        return false;
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// Whether a stored hash was made with other parameters than today's (or is not Argon2id at
/// all), so the password should be hashed again the next time it is presented in clear.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return true;
    };
    let current = hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into())
        && Params::try_from(&hash).is_ok_and(|p| {
            p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
        });
    !current
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let phc = hash_password("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse battery staple", &phc));
        assert!(!verify_password("correct horse battery stapler", &phc));
        assert!(!verify_password("", &phc));
        assert!(!needs_rehash(&phc));
    }

    #[test]
    fn each_hash_has_its_own_salt() {
        let first = hash_password("same password").unwrap();
        let second = hash_password("same password").unwrap();
        assert_ne!(first, second);
        assert!(verify_password("same password", &first));
        assert!(verify_password("same password", &second));
    }

    #[test]
    fn other_schemes_and_excessive_costs_never_verify() {
        let phc = hash_password("pw").unwrap();
        // The same hash relabelled as Argon2i or Argon2d does not verify.
        for other in ["$argon2i$", "$argon2d$"] {
            let relabelled = phc.replacen("$argon2id$", other, 1);
            assert!(!verify_password("pw", &relabelled), "{relabelled}");
            assert!(needs_rehash(&relabelled));
        }
        // A planted hash asking for 4 GiB is refused before any memory is allocated.
        let greedy = phc.replacen("m=19456", "m=4194304", 1);
        assert!(!verify_password("pw", &greedy));
        let slow = phc.replacen("t=2", "t=1000000", 1);
        assert!(!verify_password("pw", &slow));
        for garbage in [
            "",
            "$",
            "plain",
            "$2b$12$abcdefghijklmnopqrstuv",
            "$argon2id$",
        ] {
            assert!(!verify_password("pw", garbage), "{garbage}");
            assert!(needs_rehash(garbage), "{garbage}");
        }
    }

    #[test]
    fn older_parameters_ask_for_a_rehash() {
        let salt = SaltString::encode_b64(&[1; SALT_LEN]).unwrap();
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("pw", &weak), "old hashes still verify");
        assert!(needs_rehash(&weak));
    }

    proptest! {
        /// Stored hashes are read back from the database: whatever they contain, verification
        /// answers true or false and never panics.
        #[test]
        fn verify_password_never_panics_on_arbitrary_text(phc in "\\PC{0,120}", pw in ".{0,20}") {
            let _ = verify_password(&pw, &phc);
            let _ = needs_rehash(&phc);
        }

        /// The same for strings shaped like PHC hashes, with small costs so each case is cheap.
        #[test]
        fn verify_password_never_panics_on_phc_shaped_text(
            phc in "\\$argon2(id|i|d)?\\$(v=(16|19|20)\\$)?m=[0-9]{0,3},t=[0-3],p=[0-3](,keyid=[A-Za-z0-9]{0,12})?\\$[A-Za-z0-9+/]{0,30}(\\$[A-Za-z0-9+/]{0,90})?",
            pw in ".{0,20}",
        ) {
            prop_assert!(!verify_password(&pw, &phc) || phc.starts_with("$argon2id$"));
            let _ = needs_rehash(&phc);
        }
    }
}
