//! What checking a password against an issuer's policy costs (`password_policy::check`):
//! zxcvbn's estimate of ordinary passwords of 8, 100, 1024 and 4096 characters (only a
//! bounded prefix is read, so the last three cost the same), and of the strings that make
//! zxcvbn's l33t matcher slowest, whose strength window is shortened.
//!
//! `cargo bench -p tessera-core --bench password_policy`.

#![allow(missing_docs, clippy::unwrap_used)] // a benchmark binary

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tessera_core::password_policy::check;
use tessera_model::PasswordPolicy;

fn password_policy(c: &mut Criterion) {
    let policy = PasswordPolicy::new(8, 4096, 2).unwrap();
    let inputs = ["ada.lovelace@example.com", "Ada Lovelace", "Acme"];
    // Warm zxcvbn's dictionaries, built on first use.
    let _ = check(&policy, "warm up the dictionaries", &inputs);

    let mut group = c.benchmark_group("password_policy");
    let passphrase = "correct horse battery staple orange ";
    let symbols = "Kx9#mQ2vLr7TzW8pBn4HcY6fJd3GsE5a";
    for length in [8, 100, 1024, 4096] {
        let words: String = passphrase.chars().cycle().take(length).collect();
        group.bench_with_input(BenchmarkId::new("passphrase", length), &words, |b, p| {
            b.iter(|| check(&policy, black_box(p), &inputs));
        });
        let random: String = symbols.chars().cycle().take(length).collect();
        group.bench_with_input(BenchmarkId::new("random", length), &random, |b, p| {
            b.iter(|| check(&policy, black_box(p), &inputs));
        });
    }
    // zxcvbn's worst cases: every l33t stand-in it knows (acsploit's attack string), and the
    // fifteen that multiply its substitution tables the most, repeated.
    for (name, pattern) in [
        ("l33t_flood", "4@8({[<3691!|70$5+%2"),
        ("l33t_worst", "4@({[<691!|7$5+"),
    ] {
        for length in [12, 16, 24, 100, 4096] {
            let text: String = pattern.chars().cycle().take(length).collect();
            group.bench_with_input(BenchmarkId::new(name, length), &text, |b, p| {
                b.iter(|| check(&policy, black_box(p), &inputs));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, password_policy);
criterion_main!(benches);
