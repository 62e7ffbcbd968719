//! The README's walkthrough, run as written: every shell block of its "Try it" section, line by
//! line and in order, against the shipped example (`gslb.toml` + `zones/`) served by the binary
//! cargo built for the tests. The only differences allowed are the ones a parallel test suite
//! needs: `./target/release/gslb` is that binary, and the ports 5353 and 8053 are free ports,
//! rewritten alike in a copy of the config and in the commands. Build commands (`cargo …`) and
//! docker are skipped. A line that fails, or whose comment promises an outcome (NXDOMAIN,
//! REFUSED, NOERROR by default) that dig does not print, fails the test with every such line.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

/// The shell blocks of the README section headed `## {heading}`, as lines.
fn section_commands(readme: &str, heading: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no \"## {heading}\" section"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    let mut lines = Vec::new();
    let mut inside = false;
    for line in rest[..end].lines() {
        if line.starts_with("```") {
            inside = !inside && line.trim() == "```sh";
            continue;
        }
        if inside && !line.trim().is_empty() {
            lines.push(line.to_string());
        }
    }
    lines
}

/// A port free on 127.0.0.1 for TCP and UDP at the moment of asking.
fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let commands: Vec<String> = section_commands(&readme, "Try it")
        .into_iter()
        .filter(|c| !c.trim_start().starts_with("cargo ") && !c.contains("docker"))
        .collect();
    assert!(
        commands.len() >= 10,
        "the walkthrough lost its commands: {commands:?}"
    );

    let (dns, admin) = (free_port().to_string(), free_port().to_string());
    let rewrite = |s: &str| s.replace("5353", &dns).replace("8053", &admin);
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(repo.join("gslb.toml")).unwrap();
    std::fs::write(dir.path().join("gslb.toml"), rewrite(&config)).unwrap();
    copy_dir(&repo.join("zones"), &dir.path().join("zones"));
    let (_child, log) = spawn_logged(serve_command(&dir.path().join("gslb.toml")));
    eventually(
        Duration::from_secs(20),
        "the shipped example serving",
        || {
            let log = log.lock().unwrap();
            if log.iter().any(|l| l.contains(" serving")) {
                Ok(())
            } else {
                Err(log.join("\n"))
            }
        },
    );

    let mut failures = Vec::new();
    for line in &commands {
        let run = rewrite(line).replace("./target/release/gslb", GSLB_BIN);
        let out = Command::new("sh")
            .arg("-c")
            .arg(&run)
            .current_dir(dir.path())
            .output()
            .expect("run sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let said = format!(
            "{line}\n  exit {:?}\n  stdout: {stdout}\n  stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            failures.push(said);
            continue;
        }
        if line.trim_start().starts_with("dig ") && !line.contains("+short") {
            let comment = line.split('#').nth(1).unwrap_or("");
            let want = ["NXDOMAIN", "REFUSED"]
                .into_iter()
                .find(|r| comment.contains(r))
                .unwrap_or("NOERROR");
            if !stdout.contains(&format!("status: {want}")) {
                failures.push(format!("expected status {want}: {said}"));
            }
        }
        if line.contains("+short") && stdout.trim().is_empty() {
            failures.push(format!("expected an answer: {said}"));
        }
    }
    assert!(
        failures.is_empty(),
        "README commands that do not work as written:\n{}",
        failures.join("\n")
    );
}
