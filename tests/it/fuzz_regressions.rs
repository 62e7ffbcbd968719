//! The fuzz corpora, replayed: every seed in `fuzz/corpus/<target>/` and every input that once
//! crashed a target, kept in `fuzz/regressions/<target>/`, goes once through the very checks the
//! fuzz targets run (`fuzz/src/lib.rs`, included here as a module), so `cargo test` keeps them
//! passing without cargo-fuzz. Also holds the generator of the answer target's query seeds:
//! `GSLB_WRITE_SEEDS=1 cargo test --test it fuzz_regressions` rewrites them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[allow(unreachable_pub, dead_code)]
#[path = "../../fuzz/src/lib.rs"]
mod checks;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of the corpus and the regressions of `target`, sorted; at least `min` corpus files.
fn inputs(target: &str, min: usize) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    for (kind, at_least) in [("corpus", min), ("regressions", 0)] {
        let dir = fuzz_dir().join(kind).join(target);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(d) => d
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file() && !p.ends_with("README.md"))
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        assert!(
            files.len() >= at_least,
            "{} holds {} inputs, expected at least {at_least}",
            dir.display(),
            files.len()
        );
        all.extend(files.into_iter().map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        }));
    }
    all
}

/// Runs `check` on every input, and fails naming every input that panicked.
fn replay(inputs: &[(PathBuf, Vec<u8>)], mut check: impl FnMut(&[u8])) {
    let mut failed = Vec::new();
    for (path, data) in inputs {
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(data))) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{}: {why}", path.display()));
        }
    }
    assert!(failed.is_empty(), "inputs failing:\n{}", failed.join("\n"));
}

#[test]
fn answer_seeds_are_the_generated_ones() {
    let dir = fuzz_dir().join("corpus/answer");
    let seeds = checks::answer_seeds();
    assert!(seeds.len() >= 100, "only {} seeds", seeds.len());
    if std::env::var_os("GSLB_WRITE_SEEDS").is_some() {
        for (name, data) in &seeds {
            std::fs::write(dir.join(name), data).unwrap();
        }
    }
    for (name, data) in &seeds {
        let on_disk = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("seed {name}: {e} (GSLB_WRITE_SEEDS=1 writes them)"));
        assert_eq!(&on_disk, data, "seed {name} differs from its generator");
    }
}

#[test]
fn answer_corpus_and_regressions_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = checks::AnswerFixture::new(tmp.path(), Path::new(env!("CARGO_MANIFEST_DIR")));
    replay(&inputs("answer", 100), |d| checks::check_answer(&fx, d));
}

#[test]
fn zonefile_corpus_and_regressions_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = checks::ZoneFixture::new(tmp.path());
    replay(&inputs("zonefile", 20), |d| checks::check_zonefile(&fx, d));
}

#[test]
fn config_corpus_and_regressions_replay() {
    let path = Path::new("/nonexistent/gslb.toml");
    replay(&inputs("config", 15), |d| checks::check_config(path, d));
}

/// The checks have teeth: a real answer passes them, the same answer with another ID, cut
/// short, or over the UDP limit does not.
#[test]
fn the_answer_checks_refuse_a_broken_response() {
    use gslb::dns::handler::{Transport, handle};
    let tmp = tempfile::tempdir().unwrap();
    let fx = checks::AnswerFixture::new(tmp.path(), Path::new(env!("CARGO_MANIFEST_DIR")));
    let snap = fx.snapshot();
    let seeds = checks::answer_seeds();
    let query = &seeds
        .iter()
        .find(|(n, _)| n == "big.example.com-16-edns")
        .unwrap()
        .1;
    let peer = "127.0.0.1".parse().unwrap();
    let mut out = Vec::new();
    let outcome = handle(snap, query, peer, Transport::Tcp, &mut out);
    assert!(
        out.len() > 512,
        "the TXT set is bigger than 512 ({} bytes)",
        out.len()
    );
    checks::check_response(snap, query, Transport::Tcp, outcome, &out);
    let fails = |out: &[u8], transport| {
        catch_unwind(AssertUnwindSafe(|| {
            checks::check_response(snap, query, transport, outcome, out)
        }))
        .is_err()
    };
    let mut other_id = out.clone();
    other_id[1] ^= 1;
    assert!(fails(&other_id, Transport::Tcp), "a wrong ID is caught");
    assert!(
        fails(&out[..out.len() - 3], Transport::Tcp),
        "a cut answer is caught"
    );
    let mut no_opt = out.clone();
    no_opt.truncate(no_opt.len() - 11);
    no_opt[11] = 0;
    assert!(
        fails(&no_opt, Transport::Udp),
        "over 512 without EDNS is caught"
    );
}
