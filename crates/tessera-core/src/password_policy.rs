//! An issuer's password policy, applied wherever a password is set (issue 5; NIST SP 800-63B
//! §5.1.1.2).
//!
//! [`check`] refuses, in this order, the first rule a password breaks:
//!
//! 1. **length**: fewer than [`PasswordPolicy::min_length`] or more than
//!    [`PasswordPolicy::max_length`] characters. Characters are Unicode scalar values
//!    (`str::chars`), not bytes, and both ends are inclusive. Nothing is trimmed or
//!    normalized: a space is a character like any other.
//! 2. **common**: the whole password is one entry of the list of common passwords that
//!    zxcvbn carries (the 30,000 most frequent in Mark Burnett's 10 million password corpus),
//!    in any mix of upper and lower case, spelt with zxcvbn's l33t substitutions (`P@ssw0rd`)
//!    or reversed (`drowssap`): these are what an attacker tries first. This holds whatever
//!    strength the issuer asks for, even 0. Every rank is refused ([`COMMON_RANK_LIMIT`] is the
//!    list's length): the last entry falls to 30,000 guesses, fewer than one account's lockout
//!    lets an attacker try in a day at its loosest setting (100 failures a minute), and a list
//!    that is already in memory costs nothing to use whole. No list file ships with Tessera.
//! 3. **strength**: zxcvbn's score (0 to 4, from the estimated number of guesses: below
//!    10^3, 10^6, 10^8, 10^10, and above) is below [`PasswordPolicy::min_strength`]. The
//!    caller's `user_inputs` (the email address, names, the issuer's name) count as a
//!    dictionary, so a password made of them scores low; each input is also split into its
//!    words.
//!
//! # Cost
//!
//! zxcvbn's run time grows with the square of the length and, through its l33t matcher, with
//! the product of the l33t substitutions the text contains: 100 characters of `4@8({[<3691!|`
//! and the like take half a second, an easy way to burn a server's CPU from a sign-up form.
//! The estimate therefore reads a bounded prefix, the **strength window**: at most
//! [`STRENGTH_WINDOW_CHARS`] characters (what zxcvbn itself reads), shortened further while
//! the l33t substitutions in it make it dearer than [`STRENGTH_WINDOW_BUDGET`], but never
//! below [`STRENGTH_WINDOW_MIN_CHARS`]. An ordinary password, passphrase or password-manager
//! output is read in full up to 100 characters; a long string of l33t symbols is judged on
//! its first few dozen, which are strong on their own. The window bounds only the estimate: a
//! password is stored, hashed and compared whole. Measured (release build, one core of a
//! shared machine, `cargo bench -p tessera-core --bench password_policy`): 0.02 ms for 8
//! characters, 3.5–5 ms for 100, 1024 or 4096, and at most ~9 ms for the worst l33t strings
//! (half a second without the window), less than the Argon2 hash that follows.
//!
//! The first check of a process also builds zxcvbn's dictionaries (~10 ms).

use tessera_model::PasswordPolicy;
use zxcvbn::matching::Match;
use zxcvbn::matching::patterns::{DictionaryPattern, MatchPattern};

/// The most characters the strength estimate reads (zxcvbn's own limit).
pub const STRENGTH_WINDOW_CHARS: usize = 100;

/// The fewest characters the strength estimate reads when the password has them, however
/// dense its l33t substitutions. Twelve characters hold all but a handful of the common
/// passwords of eight or more characters, and those few (`1qaz2wsx3edc4rfv`) have too few
/// l33t characters to shrink a window.
pub const STRENGTH_WINDOW_MIN_CHARS: usize = 12;

/// The most work a strength window may cost, in zxcvbn's l33t-substitution tables times the
/// square of the window's length: ~10 ms of one core in a release build at worst. An
/// ordinary password (a few substitutions) fits 100 characters in it.
pub const STRENGTH_WINDOW_BUDGET: usize = 100_000;

/// The least common rank refused: every entry of zxcvbn's 30,000 common passwords (see the
/// module documentation for why the whole list).
pub const COMMON_RANK_LIMIT: usize = 30_000;

/// The most user inputs (after splitting into words) handed to zxcvbn, and their length.
const MAX_USER_INPUTS: usize = 32;
const MAX_USER_INPUT_CHARS: usize = 100;
/// Words of a user input shorter than this are not inputs of their own (`a`, `de`).
const MIN_USER_WORD_CHARS: usize = 3;

/// zxcvbn's l33t table (`matching::L33T_TABLE`, private there): the letters and the
/// characters that may stand for them. Used only to price a strength window.
const L33T_TABLE: [&[char]; 12] = [
    &['4', '@'],
    &['8'],
    &['(', '{', '[', '<'],
    &['3'],
    &['6', '9'],
    &['1', '!', '|'],
    &['1', '|', '7'],
    &['0'],
    &['$', '5'],
    &['+', '7'],
    &['%'],
    &['2'],
];

/// Why a password is refused. The message says what to do instead, phrased to follow the
/// field's name (the Core API's problem reads "`password` must be at least 8 characters
/// long.").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Fewer characters than the policy's minimum.
    #[error("must be at least {min} characters long")]
    TooShort {
        /// The fewest characters allowed.
        min: i64,
    },
    /// More characters than the policy's maximum.
    #[error("must be at most {max} characters long")]
    TooLong {
        /// The most characters allowed.
        max: i64,
    },
    /// One of the most common passwords, however spelt.
    #[error(
        "is one of the most common passwords, among the first an attacker tries; choose \
         another"
    )]
    Common,
    /// Too easy to guess for the policy.
    #[error(
        "is too easy to guess (strength {score} of 4, at least {required} needed); make it \
         longer, for example with a few unrelated words, and avoid names, dates, keyboard \
         patterns and the email address"
    )]
    Weak {
        /// zxcvbn's score of the password, 0 to 4.
        score: i64,
        /// The least score the policy accepts.
        required: i64,
    },
}

/// Checks `password` against `policy`; `user_inputs` are words an attacker would try for this
/// account (email address, names, the issuer's name). See the module documentation for the
/// rules and their order.
pub fn check(
    policy: &PasswordPolicy,
    password: &str,
    user_inputs: &[&str],
) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    if length < char_count(policy.min_length()) {
        return Err(PasswordProblem::TooShort {
            min: policy.min_length(),
        });
    }
    if length > char_count(policy.max_length()) {
        return Err(PasswordProblem::TooLong {
            max: policy.max_length(),
        });
    }
    let window = strength_window(password);
    let inputs = user_words(user_inputs);
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(window, &inputs);
    if window.len() == password.len() && is_one_common_password(estimate.sequence(), length) {
        return Err(PasswordProblem::Common);
    }
    let score = i64::from(u8::from(estimate.score()));
    if score < policy.min_strength() {
        return Err(PasswordProblem::Weak {
            score,
            required: policy.min_strength(),
        });
    }
    Ok(())
}

/// A policy's length as a character count (policies hold 8 to 4096).
fn char_count(length: i64) -> usize {
    usize::try_from(length).unwrap_or(0)
}

/// The prefix of `password` the strength estimate reads: the longest, up to
/// [`STRENGTH_WINDOW_CHARS`] characters, whose price stays within [`STRENGTH_WINDOW_BUDGET`],
/// and at least [`STRENGTH_WINDOW_MIN_CHARS`].
fn strength_window(password: &str) -> &str {
    // How many characters of each l33t row the window holds, and which characters those are.
    let mut seen: Vec<char> = Vec::new();
    let mut end = 0;
    for (count, (at, c)) in password.char_indices().enumerate() {
        let chars = count + 1;
        if chars > STRENGTH_WINDOW_CHARS {
            break;
        }
        if L33T_TABLE.iter().any(|row| row.contains(&c)) && !seen.contains(&c) {
            seen.push(c);
        }
        if chars > STRENGTH_WINDOW_MIN_CHARS
            && l33t_combinations(&seen) * chars * chars > STRENGTH_WINDOW_BUDGET
        {
            break;
        }
        end = at + c.len_utf8();
    }
    &password[..end]
}

/// An upper bound of the substitution tables zxcvbn's l33t matcher tries for a text holding
/// the l33t characters `seen`: the product, over the letters, of how many of their stand-ins
/// occur.
fn l33t_combinations(seen: &[char]) -> usize {
    L33T_TABLE
        .iter()
        .map(|row| row.iter().filter(|c| seen.contains(c)).count().max(1))
        .product()
}

/// The user inputs, lowercase (as zxcvbn compares them) and each cut to
/// [`MAX_USER_INPUT_CHARS`], followed by their words (runs of letters and digits, at least
/// [`MIN_USER_WORD_CHARS`] long), without repeats: `ada.lovelace@example.com` gives itself,
/// `ada`, `lovelace`, `example` and `com`.
fn user_words(user_inputs: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |word: &str| {
        let word: String = word
            .chars()
            .take(MAX_USER_INPUT_CHARS)
            .flat_map(char::to_lowercase)
            .collect();
        if !word.is_empty() && words.len() < MAX_USER_INPUTS && !words.contains(&word) {
            words.push(word);
        }
    };
    for input in user_inputs {
        add(input);
    }
    for input in user_inputs {
        for word in input
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= MIN_USER_WORD_CHARS)
        {
            add(word);
        }
    }
    words
}

/// Whether zxcvbn's best reading of the whole password (`length` characters) is a single
/// entry of its common-passwords list, in any case, l33t or reversed.
fn is_one_common_password(sequence: &[Match], length: usize) -> bool {
    match sequence {
        [only] => {
            only.i == 0
                && only.j + 1 == length
                && matches!(&only.pattern, MatchPattern::Dictionary(word)
                    if is_common_passwords_list(word) && word.rank <= COMMON_RANK_LIMIT)
        }
        _ => false,
    }
}

/// Whether a dictionary match comes from zxcvbn's common-passwords list. zxcvbn 3 keeps the
/// type naming its lists private (`frequency_lists::DictionaryType`), so its `Debug` name is
/// the only way to tell them apart; the unit tests below fail if that name ever changes.
fn is_common_passwords_list(word: &DictionaryPattern) -> bool {
    format!("{:?}", word.dictionary_name) == "Passwords"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn default() -> PasswordPolicy {
        PasswordPolicy::default()
    }

    fn any_strength(min: i64, max: i64) -> PasswordPolicy {
        PasswordPolicy::new(min, max, 0).unwrap()
    }

    #[test]
    fn the_most_common_passwords_are_refused_however_spelt_and_whatever_the_strength() {
        for password in [
            "password",
            "P@ssw0rd",
            "PASSWORD",
            "123456789",
            "12345678",
            "drowssap",
            "qwertyuiop",
            "iloveyou1",
            "Password1",
            "baseball",
        ] {
            assert_eq!(
                check(&any_strength(8, 128), password, &[]),
                Err(PasswordProblem::Common),
                "{password}"
            );
            assert_eq!(
                check(&default(), password, &[]),
                Err(PasswordProblem::Common),
                "{password}"
            );
        }
    }

    #[test]
    fn a_common_password_inside_a_longer_one_is_judged_on_strength_not_refused_as_common() {
        assert_eq!(
            check(&any_strength(8, 128), "password-tulip-1987", &[]),
            Ok(())
        );
        assert!(matches!(
            check(
                &PasswordPolicy::new(8, 128, 4).unwrap(),
                "password-1234",
                &[]
            ),
            Err(PasswordProblem::Weak { required: 4, .. })
        ));
    }

    #[test]
    fn passphrases_pass_the_default_policy() {
        for password in [
            "correct horse battery staple",
            "Tangerine orbit quietly 42 kettles",
            "vélo-étoile-façade-räucher",
            "日本語のパスワードです",
        ] {
            assert_eq!(check(&default(), password, &[]), Ok(()), "{password}");
        }
    }

    #[test]
    fn weak_passwords_are_refused_with_their_score() {
        assert_eq!(
            check(&default(), "aaaaaaaaaaaa", &[]),
            Err(PasswordProblem::Weak {
                score: 0,
                required: 2
            })
        );
        assert!(matches!(
            check(&default(), "abcdefgh1234", &[]),
            Err(PasswordProblem::Weak { .. })
        ));
    }

    #[test]
    fn the_users_own_details_lower_the_score() {
        let password = "Analytical1815";
        let alone = zxcvbn::zxcvbn(password, &[]).score();
        let inputs = ["ada.lovelace@analytical.example", "Ada Byron"];
        let words = user_words(&inputs);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let with_inputs = zxcvbn::zxcvbn(password, &words).score();
        assert!(with_inputs < alone, "{alone} → {with_inputs}");
        assert_eq!(check(&default(), password, &[]), Ok(()));
        assert!(matches!(
            check(&default(), password, &inputs),
            Err(PasswordProblem::Weak { .. })
        ));
    }

    #[test]
    fn user_inputs_are_split_into_words_bounded_and_deduplicated() {
        assert_eq!(
            user_words(&["ada.lovelace@example.com", "Ada", "de la Cruz", "ada"]),
            [
                "ada.lovelace@example.com",
                "ada",
                "de la cruz",
                "lovelace",
                "example",
                "com",
                "cruz"
            ]
        );
        let long = "x".repeat(500);
        assert_eq!(user_words(&[&long])[0].len(), MAX_USER_INPUT_CHARS);
        let many: Vec<String> = (0..100).map(|i| format!("input{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(user_words(&many).len(), MAX_USER_INPUTS);
    }

    #[test]
    fn lengths_are_counted_in_characters_at_both_ends() {
        let policy = PasswordPolicy::new(10, 128, 0).unwrap();
        // Ten two-byte characters: twenty bytes, ten characters.
        assert_eq!(
            check(&policy, &"ж".repeat(9), &[]),
            Err(PasswordProblem::TooShort { min: 10 })
        );
        assert_eq!(check(&policy, &"жщфыв".repeat(2), &[]), Ok(()));
        assert_eq!(
            check(&policy, &"ж".repeat(129), &[]),
            Err(PasswordProblem::TooLong { max: 128 })
        );
        // 128 four-byte characters: 512 bytes, within 128 characters.
        assert_eq!(check(&policy, &"😀".repeat(128), &[]), Ok(()));
    }

    #[test]
    fn the_strength_window_is_bounded_and_shrinks_for_l33t_floods() {
        let plain = "correct horse battery staple ".repeat(10);
        assert_eq!(
            strength_window(&plain).chars().count(),
            STRENGTH_WINDOW_CHARS
        );
        let flood = "4@8({[<3691!|70$5+%2".repeat(10);
        let window = strength_window(&flood).chars().count();
        assert!(
            (STRENGTH_WINDOW_MIN_CHARS..STRENGTH_WINDOW_CHARS).contains(&window),
            "{window}"
        );
        assert_eq!(strength_window("short"), "short");
        assert_eq!(strength_window(""), "");
        // A window ends on a character boundary.
        let wide = "é".repeat(300);
        assert_eq!(
            strength_window(&wide).chars().count(),
            STRENGTH_WINDOW_CHARS
        );
    }

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(
            PasswordProblem::TooShort { min: 12 }.to_string(),
            "must be at least 12 characters long"
        );
        assert_eq!(
            PasswordProblem::TooLong { max: 128 }.to_string(),
            "must be at most 128 characters long"
        );
        assert!(
            PasswordProblem::Common
                .to_string()
                .contains("choose another")
        );
        assert!(
            PasswordProblem::Weak {
                score: 1,
                required: 3
            }
            .to_string()
            .contains("strength 1 of 4, at least 3 needed")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Never panics on any text up to 5000 characters, and what it refuses for length is
        /// exactly what is out of bounds, counted in characters.
        #[test]
        fn never_panics_and_length_is_exact_in_characters(
            password in "\\PC{0,5000}",
            min in 8_i64..=128,
            max in 128_i64..=4096,
            strength in 0_i64..=4,
            input in "\\PC{0,40}",
        ) {
            let policy = PasswordPolicy::new(min, max, strength).unwrap();
            let length = i64::try_from(password.chars().count()).unwrap();
            match check(&policy, &password, &[&input, ""]) {
                Err(PasswordProblem::TooShort { min: m }) => {
                    prop_assert_eq!(m, min);
                    prop_assert!(length < min);
                }
                Err(PasswordProblem::TooLong { max: m }) => {
                    prop_assert_eq!(m, max);
                    prop_assert!(length > max);
                }
                Err(PasswordProblem::Weak { score, required }) => {
                    prop_assert!((min..=max).contains(&length));
                    prop_assert!(score < required);
                    prop_assert_eq!(required, strength);
                }
                Err(PasswordProblem::Common) | Ok(()) => {
                    prop_assert!((min..=max).contains(&length));
                }
            }
        }

        /// At the bounds exactly: `min` and `max` characters pass the length checks, one
        /// fewer or one more does not, whatever the characters' width in bytes.
        #[test]
        fn length_bounds_are_inclusive(
            min in 8_usize..=128,
            max in 128_usize..=4096,
            c in prop::sample::select(vec!['a', 'é', 'ж', '語', '😀']),
        ) {
            let policy = PasswordPolicy::new(
                i64::try_from(min).unwrap(), i64::try_from(max).unwrap(), 0,
            ).unwrap();
            let text = |n: usize| c.to_string().repeat(n);
            let length_problem = |n: usize| match check(&policy, &text(n), &[]) {
                Err(PasswordProblem::TooShort { min }) => Some(("short", min)),
                Err(PasswordProblem::TooLong { max }) => Some(("long", max)),
                Err(PasswordProblem::Common | PasswordProblem::Weak { .. }) | Ok(()) => None,
            };
            let (min_i64, max_i64) = (policy.min_length(), policy.max_length());
            prop_assert_eq!(length_problem(min - 1), Some(("short", min_i64)));
            prop_assert_eq!(length_problem(min), None);
            prop_assert_eq!(length_problem(max), None);
            prop_assert_eq!(length_problem(max + 1), Some(("long", max_i64)));
        }

        /// Five or more words drawn at random from a large vocabulary pass the default
        /// policy, however long.
        #[test]
        fn a_long_random_passphrase_passes_the_default_policy(
            words in prop::collection::vec("[a-z]{4,9}", 5..40),
            separator in prop::sample::select(vec![" ", "-", ".", "_"]),
        ) {
            let passphrase = words.join(separator);
            prop_assume!(passphrase.chars().count() <= 1024);
            prop_assert_eq!(check(&PasswordPolicy::default(), &passphrase, &[]), Ok(()));
        }
    }
}
