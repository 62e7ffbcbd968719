//! Build script: the version strings `gslb --version` prints and `gslb_build_info` reports. The
//! commit comes from `git describe` when the source is a git checkout with git installed (not in
//! the docker build, which copies no `.git`): then the package version alone.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    // Rebuild when the checked-out commit moves (HEAD, or the branch it points to).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head}");
        }
        if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
            println!("cargo:rerun-if-changed={common}/packed-refs");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["describe", "--always", "--tags", "--abbrev=12"]);
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    let short = match &commit {
        Some(c) => format!("{version} ({c})"),
        None => version.clone(),
    };
    // Cargo features enabled for this build (the package has none beyond the default build).
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(|f| f.to_lowercase()))
        .collect();
    features.sort();
    let features = if features.is_empty() {
        "none (the default build)".to_string()
    } else {
        features.join(", ")
    };
    println!("cargo:rustc-env=GSLB_VERSION={short}");
    println!(
        "cargo:rustc-env=GSLB_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    println!("cargo:rustc-env=GSLB_PROFILE={profile}");
    println!("cargo:rustc-env=GSLB_TARGET={target}");
    println!("cargo:rustc-env=GSLB_FEATURES={features}");
}
