//! Helpers shared by the integration tests.

// Some helpers wait for the tests that will use them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `snop` binary built for these tests.
pub fn snop() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snop"));
    cmd.env_remove("SNOP_WORKSPACE").env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

/// Runs `snop` with arguments in a folder; returns (exit code, stdout, stderr).
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = snop().current_dir(dir).args(args).output().expect("snop runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The repository's root (for `fixtures/`, `pipelines/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a folder tree (fixtures into a temporary workspace).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A runtime for tests that drive the async library in-process.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}
