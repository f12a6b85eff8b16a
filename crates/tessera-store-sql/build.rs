//! `sqlx::migrate!` embeds the migration folders at compile time but cannot tell cargo that a
//! new file in them matters; this makes adding a migration rebuild the crate.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
