//! Child processes: the real `gslb` binary, and a guard that kills a child the test leaves
//! behind (when it fails half-way).

use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

/// The `gslb` binary cargo built for these tests.
pub(crate) const GSLB_BIN: &str = env!("CARGO_BIN_EXE_gslb");

/// Runs the real `gslb` binary with `args` (RUST_LOG=warn): exit code, stdout, stderr.
pub(crate) async fn run_gslb(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(GSLB_BIN)
            .args(&args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run gslb");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// A child process that is killed (and reaped) when dropped, unless it has exited.
pub(crate) struct Guard(pub Child);

impl Guard {
    /// Waits for the child to exit, at most `within`; panics with `what` if it does not.
    #[track_caller]
    pub(crate) fn wait_exit(&mut self, within: Duration, what: &str) -> ExitStatus {
        let child = &mut self.0;
        super::eventually(within, what, || {
            child.try_wait().unwrap().ok_or("still running")
        })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
