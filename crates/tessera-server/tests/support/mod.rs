//! What the process tests share: the `tessera` binary, run with no configuration from the
//! test run's environment.

#![allow(dead_code)] // each test file uses its part

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

/// `tessera ARGS` in `cwd`, configured by its arguments only: the test run's `TESSERA_*`
/// variables (but `TESSERA_TEST_*`, which are the suite's) are removed. Killed when dropped.
pub(crate) fn tessera_command(cwd: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TESSERA_") && !key.starts_with("TESSERA_TEST_") {
            command.env_remove(key.as_ref());
        }
    }
    command
}
