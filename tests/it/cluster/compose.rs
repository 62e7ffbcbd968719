//! The docker-compose NS set (docker/ns1, docker/ns2): both configurations pass `gslb check`,
//! and they differ only in the instance's identity (and the comments naming the file), so the
//! two instances' config hashes agree.

use std::path::Path;

use crate::harness::*;

/// The lines of a config that are not comments or blank.
fn settings(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[tokio::test]
async fn the_compose_instances_pass_check_and_differ_only_in_identity() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for ns in ["ns1", "ns2"] {
        let path = repo.join("docker").join(ns).join("gslb.toml");
        let (code, out, err) = run_gslb(vec![
            "check".into(),
            "-c".into(),
            path.display().to_string(),
        ])
        .await;
        assert_eq!(code, 0, "gslb check {}: {out}{err}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("identity = \"{ns}\"")),
            "{} does not name itself {ns}",
            path.display()
        );
        assert!(
            text.contains("[cluster]"),
            "{} has no [cluster]",
            path.display()
        );
        texts.push(text);
    }
    let (a, b) = (settings(&texts[0]), settings(&texts[1]));
    assert_eq!(a.len(), b.len(), "ns1 and ns2 have different settings");
    let differ: Vec<(&str, &str)> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| (*x, *y))
        .collect();
    assert_eq!(
        differ,
        [("identity = \"ns1\"", "identity = \"ns2\"")],
        "docker/ns1 and docker/ns2 must differ only in identity"
    );
}
