//! The `tessera` binary's library: typed configuration, the command line, telemetry, and the
//! wiring that turns a [`Config`] into a running [`Application`].
//!
//! This is the only crate that reads the environment, files and the command line, and the
//! only one that reads the wall clock (ARCHITECTURE.md invariant 1). `main.rs` is a thin shell
//! around it; tests build an [`Application`] from a `Config` exactly as `main` does, bind it
//! to port 0 and stop it when they want (STYLE.md, zero-to-production's `startup.rs`).

mod changes;
pub mod cli;
pub mod config;
mod data_dir;
pub mod deliveries;
mod housekeeping;
mod startup;
pub mod telemetry;

pub use config::{Config, ConfigError, DatabaseUrl, LogFormat};
pub use startup::{
    Application, Claim, Installation, Purpose, StartupError, StopSignals, SystemClock, migrate,
};
