//! Child processes: the real `gslb` binary, and a guard that kills a child the test leaves
//! behind (when it fails half-way).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `gslb` binary cargo built for these tests.
pub(crate) const GSLB_BIN: &str = env!("CARGO_BIN_EXE_gslb");

/// Finds an executable by name in PATH or the sbin directories (where Debian puts daemons and
/// checkers such as `nsd-checkzone`, which are not on a normal user's PATH).
pub(crate) fn which(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(std::path::PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

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

/// The lines a child has written to stderr so far, gathered by a thread as they come.
pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// `gslb serve -c config` as a command, logging at info: add to it (limits, environment) and
/// start it with `spawn_logged`.
pub(crate) fn serve_command(config: &Path) -> Command {
    let mut cmd = Command::new(GSLB_BIN);
    cmd.args(["serve", "-c"])
        .arg(config)
        .env("RUST_LOG", "info");
    cmd
}

/// Starts `cmd` (stdin and stdout closed, stderr gathered into the returned `Log`); the child is
/// killed when the guard drops.
pub(crate) fn spawn_logged(mut cmd: Command) -> (Guard, Log) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gslb serve");
    let log = Log::default();
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (Guard(child), log)
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
