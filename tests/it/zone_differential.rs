//! The differential zone corpus (`tests/data/zones/`, described in its README.md): gslb reads
//! zone files the way Knot and NSD do, except for the rules `MANIFEST` lists.
//!
//! `MANIFEST` gives each corpus file its origin, the verdicts of Knot's `kzonecheck` and NSD's
//! `nsd-checkzone`, gslb's verdict and, for a broken file, where gslb reports the error and a
//! fragment of its message. Three tests hold it to account:
//! - the manifest names every corpus file once, and gives a reason exactly where gslb's verdict
//!   differs from a peer's;
//! - the real peers still give the verdicts it records (so it cannot lie about them); they
//!   must be installed (Debian packages `knot-dnssecutils` and `nsd`, as `.ci/run` does): the
//!   test fails when they are not;
//! - `gslb check`, with a config whose zones directory holds only that zone (named after its
//!   origin, with the corpus's `inc/` pieces beside it), gives gslb's verdict, and for a broken
//!   file reports the recorded position with the fragment in its message.
//!
//! Each test reports every mismatch at once.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{GSLB_BIN, config_dir, wait_for, which};

/// The longest one checker may take on one small file (a checker that loops is a failure, not a
/// hung test run).
const PATIENCE: Duration = Duration::from_secs(30);

/// A config that serves the zones in `zones/` and nothing else.
const CONFIG: &str = "[server]\nlisten = [\"127.0.0.1:0\"]\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\n\
                      [zones]\ndirectory = \"zones\"\n";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zones")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Error => "error",
        })
    }
}

/// Where gslb reports a broken file's error: a file relative to the zone's directory (`None`:
/// the zone file itself), line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
struct At {
    file: Option<String>,
    line: usize,
    col: usize,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One row of the manifest.
#[derive(Debug)]
struct Row {
    /// The manifest's line, for messages.
    line: usize,
    /// Relative to the corpus directory, e.g. `broken/bad-ipv4.zone`.
    file: String,
    origin: String,
    knot: Verdict,
    nsd: Verdict,
    gslb: Verdict,
    at: Option<At>,
    fragment: String,
    rule: String,
}

impl Row {
    fn path(&self) -> PathBuf {
        corpus().join(&self.file)
    }
}

fn verdict(s: &str, line: usize) -> Verdict {
    match s {
        "ok" => Verdict::Ok,
        "error" => Verdict::Error,
        _ => panic!("MANIFEST:{line}: verdict {s:?} is neither ok nor error"),
    }
}

fn parse_at(s: &str, line: usize) -> At {
    let bad = || panic!("MANIFEST:{line}: position {s:?} is not [file:]line:col");
    let mut parts = s.rsplitn(3, ':');
    let col = parts
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(bad);
    let l = parts
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(bad);
    At {
        file: parts.next().map(str::to_string),
        line: l,
        col,
    }
}

/// The manifest's rows, in its order. A malformed row fails the test that reads it.
fn manifest() -> Vec<Row> {
    let text = fs::read_to_string(corpus().join("MANIFEST")).expect("read MANIFEST");
    let mut rows = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split('|').map(str::trim).collect();
        assert_eq!(f.len(), 8, "MANIFEST:{line}: 8 columns wanted: {l}");
        rows.push(Row {
            line,
            file: f[0].to_string(),
            origin: f[1].to_string(),
            knot: verdict(f[2], line),
            nsd: verdict(f[3], line),
            gslb: verdict(f[4], line),
            at: (!f[5].is_empty()).then(|| parse_at(f[5], line)),
            fragment: f[6].to_string(),
            rule: f[7].to_string(),
        });
    }
    rows
}

/// Fails with every mismatch, one per line.
#[track_caller]
fn report(what: &str, mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{what}: {} mismatch(es)\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn the_manifest_lists_every_corpus_file_and_explains_every_difference() {
    let rows = manifest();
    let mut problems = Vec::new();
    let mut on_disk = Vec::new();
    for dir in ["valid", "broken"] {
        for e in fs::read_dir(corpus().join(dir)).expect("read the corpus") {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".zone") {
                on_disk.push(format!("{dir}/{name}"));
            }
        }
    }
    for f in &on_disk {
        match rows.iter().filter(|r| &r.file == f).count() {
            1 => {}
            0 => problems.push(format!("{f}: not in MANIFEST")),
            n => problems.push(format!("{f}: in MANIFEST {n} times")),
        }
    }
    for r in &rows {
        let here = format!("MANIFEST:{} {}", r.line, r.file);
        if !on_disk.contains(&r.file) {
            problems.push(format!("{here}: no such corpus file"));
        }
        let expected = if r.file.starts_with("valid/") {
            Verdict::Ok
        } else {
            Verdict::Error
        };
        if r.gslb != expected {
            problems.push(format!(
                "{here}: gslb's verdict is {}, but the file is under {}",
                r.gslb,
                r.file.split('/').next().unwrap_or("")
            ));
        }
        match (r.gslb, &r.at, r.fragment.is_empty()) {
            (Verdict::Error, Some(_), false) | (Verdict::Ok, None, true) => {}
            (Verdict::Error, ..) => problems.push(format!(
                "{here}: a broken file needs a position and a fragment"
            )),
            (Verdict::Ok, ..) => {
                problems.push(format!("{here}: a valid file has no position or fragment"))
            }
        }
        let differs = r.gslb != r.knot || r.gslb != r.nsd;
        if differs && r.rule.is_empty() {
            problems.push(format!(
                "{here}: gslb says {} where kzonecheck says {} and nsd-checkzone {}: name the rule",
                r.gslb, r.knot, r.nsd
            ));
        }
        if !differs && !r.rule.is_empty() {
            problems.push(format!(
                "{here}: all three agree, so there is no gslb-specific rule to give"
            ));
        }
    }
    report("MANIFEST", &problems);
}

/// What a checker did with a file: its exit code (or why it has none) and what it printed
/// (stdout, then stderr).
struct Outcome {
    code: Result<i32, String>,
    output: String,
}

impl Outcome {
    /// A checker's verdict: exit 0 is `ok`, any other exit `error`; a crash or a timeout is
    /// neither.
    fn verdict(&self) -> Result<Verdict, String> {
        match self.code {
            Ok(0) => Ok(Verdict::Ok),
            Ok(_) => Ok(Verdict::Error),
            Err(ref e) => Err(e.clone()),
        }
    }
}

/// Runs `cmd` (in `cwd`) to its end, at most `PATIENCE`. Output goes through files, so a
/// checker that prints much never blocks on a full pipe while it is being waited for.
fn run(mut cmd: Command, cwd: &Path) -> Outcome {
    let out = tempfile::tempfile().expect("temp file");
    let err = tempfile::tempfile().expect("temp file");
    let mut child = cmd
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let code = match wait_for(PATIENCE, || child.try_wait().unwrap().ok_or(())) {
        Err(()) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("is still running after {PATIENCE:?}"))
        }
        Ok(s) => s
            .code()
            .ok_or_else(|| format!("was ended by a signal ({s})")),
    };
    let read = |mut f: fs::File| {
        use std::io::{Read, Seek};
        let mut s = String::new();
        f.rewind().unwrap();
        f.read_to_string(&mut s).unwrap();
        s
    };
    let mut output = read(out);
    output.push_str(&read(err));
    Outcome { code, output }
}

/// At most the first `n` lines of a checker's output, indented, for a message.
fn excerpt(output: &str, n: usize) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let mut s: String = lines
        .iter()
        .take(n)
        .map(|l| format!("\n    | {l}"))
        .collect();
    if lines.len() > n {
        s.push_str(&format!("\n    | … {} more lines", lines.len() - n));
    }
    s
}

#[test]
fn knot_and_nsd_still_give_the_recorded_verdicts() {
    let tools: Vec<_> = [("kzonecheck", "knot-dnssecutils"), ("nsd-checkzone", "nsd")]
        .into_iter()
        .map(|(tool, package)| (tool, package, which(tool)))
        .collect();
    let missing: Vec<String> = tools
        .iter()
        .filter(|(.., path)| path.is_none())
        .map(|(tool, package, _)| format!("{tool} (Debian package {package})"))
        .collect();
    assert!(
        missing.is_empty(),
        "the differential zone corpus needs {}: install it (.ci/run does) and run again",
        missing.join(" and ")
    );
    let (kzonecheck, nsd_checkzone) = (tools[0].2.clone().unwrap(), tools[1].2.clone().unwrap());
    let mut mismatches = Vec::new();
    for r in manifest() {
        let path = r.path();
        // Both run beside the file: NSD reads `$INCLUDE` paths from its working directory, Knot
        // from the zone file's.
        let dir = path.parent().unwrap();
        let name = path.file_name().unwrap();
        let mut knot = Command::new(&kzonecheck);
        knot.arg("-o").arg(&r.origin).arg(name);
        let mut nsd = Command::new(&nsd_checkzone);
        nsd.arg(&r.origin).arg(name);
        for (tool, cmd, recorded) in [("kzonecheck", knot, r.knot), ("nsd-checkzone", nsd, r.nsd)] {
            let o = run(cmd, dir);
            let verdict = o.verdict();
            if verdict != Ok(recorded) {
                let got = verdict.map_or_else(|e| e, |v| v.to_string());
                mismatches.push(format!(
                    "{} (MANIFEST:{}): {tool} says {got}, MANIFEST records {recorded}{}",
                    r.file,
                    r.line,
                    excerpt(&o.output, 6)
                ));
            }
        }
    }
    report("kzonecheck and nsd-checkzone against MANIFEST", &mismatches);
}

/// A problem line of `gslb check`: `file:line:col: message`, its file relative to the zones
/// directory.
#[derive(Debug)]
struct Problem {
    file: String,
    line: usize,
    col: usize,
    message: String,
}

fn problems(stdout: &str, zones: &Path) -> Vec<Problem> {
    let prefix = format!("{}/", zones.display());
    stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.strip_prefix(&prefix)?.splitn(4, ':');
            let file = parts.next()?.to_string();
            let line = parts.next()?.parse().ok()?;
            let col = parts.next()?.parse().ok()?;
            let message = parts.next()?.trim_start().to_string();
            Some(Problem {
                file,
                line,
                col,
                message,
            })
        })
        .collect()
}

/// The corpus's `$INCLUDE`d pieces beside `dir`'s zones (its `inc/` directory, nested folders
/// included), as (path relative to `dir`, text).
fn pieces(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut todo = vec![PathBuf::from("inc")];
    while let Some(rel) = todo.pop() {
        let Ok(entries) = fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let sub = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                todo.push(sub);
            } else {
                let text = fs::read_to_string(e.path()).unwrap();
                found.push((sub.to_str().unwrap().to_string(), text));
            }
        }
    }
    found
}

#[test]
fn gslb_check_gives_the_recorded_verdicts_positions_and_messages() {
    let mut mismatches = Vec::new();
    for r in manifest() {
        let path = r.path();
        let dir = path.parent().unwrap();
        let zone_name = format!("{}zone", r.origin);
        let text = fs::read_to_string(&path).unwrap();
        let mut zones = vec![(zone_name.clone(), text)];
        zones.extend(pieces(dir));
        let zones: Vec<(&str, &str)> = zones
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let (tmp, config) = config_dir(CONFIG, &zones);
        let mut cmd = Command::new(GSLB_BIN);
        cmd.arg("check")
            .arg("-c")
            .arg(&config)
            .env("RUST_LOG", "warn");
        let o = run(cmd, tmp.path());
        let here = format!("{} (MANIFEST:{})", r.file, r.line);
        // The output with the temp dir's paths as the corpus's.
        let zones_dir = tmp.path().join("zones");
        let shown = o
            .output
            .replace(&format!("{}/{zone_name}", zones_dir.display()), &r.file)
            .replace(&format!("{}/", zones_dir.display()), "");
        // `gslb check` exits 1 when it reports problems; anything else (a panic is 101) is a
        // failure of its own.
        let verdict = match o.code {
            Ok(0) => Verdict::Ok,
            Ok(1) => Verdict::Error,
            Ok(n) => {
                mismatches.push(format!(
                    "{here}: gslb check exited {n}{}",
                    excerpt(&shown, 6)
                ));
                continue;
            }
            Err(e) => {
                mismatches.push(format!("{here}: gslb check {e}{}", excerpt(&shown, 6)));
                continue;
            }
        };
        match (r.gslb, verdict) {
            (Verdict::Ok, Verdict::Ok) if o.output.contains(": ok (1 zones") => {}
            (Verdict::Ok, _) => mismatches.push(format!(
                "{here}: gslb check should accept it as one zone{}",
                excerpt(&shown, 6)
            )),
            (Verdict::Error, Verdict::Ok) => mismatches.push(format!(
                "{here}: gslb check accepts it; MANIFEST expects an error at {} with {:?}",
                r.at.as_ref().unwrap(),
                r.fragment
            )),
            (Verdict::Error, Verdict::Error) => {
                let at = r.at.as_ref().unwrap();
                let file = at.file.as_deref().unwrap_or(&zone_name);
                let fragment = r.fragment.to_lowercase();
                let wanted = problems(&o.output, &zones_dir).iter().any(|p| {
                    p.file == file
                        && p.line == at.line
                        && p.col == at.col
                        && p.message.to_lowercase().contains(&fragment)
                });
                if !wanted {
                    mismatches.push(format!(
                        "{here}: wanted an error at {at} containing {:?}; gslb check said:{}",
                        r.fragment,
                        excerpt(&shown, 6)
                    ));
                }
            }
        }
    }
    report("gslb check against MANIFEST", &mismatches);
}
