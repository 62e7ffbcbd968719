//! The status page (`GET /` of the admin API) in a real browser: headless Chromium loads it from
//! a running server, runs its script (which fetches `/v1/status`), and the test reads the DOM a
//! person would see: the balanced name's table with an endpoint that was taken down (its
//! backend stopped) shown as down, a drained one as drained, the rest up, and the transition in
//! "Recent changes". Also a screenshot, which must be a PNG of the requested size. And the five
//! views of failing open (DNS, `/v1/status`, the metric, explain, the page) agreeing, with every
//! endpoint drained (not failing open: NODATA) and with every endpoint down (failing open).
//!
//! The alerting part is driven over the DevTools protocol by `tests/browser/status-page.mjs`
//! (Node, standard library only): at 1280×900 the banner at the top names the degraded name,
//! which is listed first; a click on a drain button (answering the token prompt) drains the
//! endpoint, which the test checks through `/v1/status`. The screenshot is kept in
//! `<target dir>/test-artifacts/status-page.png`.
//!
//! Needs Chromium (Debian: `apt-get install chromium`; or set `GSLB_CHROMIUM` to a Chrome or
//! Chromium binary) and Node (`nodejs`, or `GSLB_NODE`); without them the tests fail, saying
//! what to install (`.ci/run` installs both).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// The browser to drive, if there is one.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GSLB_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::iter::once(PathBuf::from("/usr/bin"))
        .chain(std::env::split_paths(&path))
        .collect();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// The browser. A missing browser fails the test (with what to install): the status page would
/// otherwise go untested unnoticed. `.ci/run` installs it.
fn require_chromium() -> PathBuf {
    chromium().unwrap_or_else(|| {
        panic!(
            "status page test: no Chromium found (looked for GSLB_CHROMIUM, /usr/bin/chromium, \
             chromium, chromium-browser, google-chrome in PATH): install Debian's `chromium` \
             package (.ci/run does) or set GSLB_CHROMIUM"
        )
    })
}

/// Node, which runs the DevTools-protocol script `tests/browser/status-page.mjs`: `GSLB_NODE`,
/// else `node` in PATH. Missing, it fails the test with what to install.
fn require_node() -> PathBuf {
    if let Some(p) = std::env::var_os("GSLB_NODE") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("node"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "status page test: no `node` in PATH (needed to drive Chromium over the DevTools \
                 protocol): install Debian's `nodejs` package (.ci/run does) or set GSLB_NODE"
            )
        })
}

/// Where test artifacts go: `<target dir>/test-artifacts/` (the test binary is
/// `<target dir>/<profile>/deps/it-…`).
fn artifacts_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on `url` with `args` added; returns its stdout. Fails if it does not
/// finish within 90 s or exits unsuccessfully.
async fn browse(bin: &Path, url: String, args: Vec<String>) -> String {
    let bin = bin.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().unwrap();
        let out_path = profile.path().join("stdout");
        let err_path = profile.path().join("stderr");
        let child = Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=5000",
            ])
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("p").display()
            ))
            .args(&args)
            .arg(&url)
            .env("HOME", profile.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        // Killed when dropped, so a browser that does not finish is not left running.
        let status = Guard(child).wait_exit(
            Duration::from_secs(90),
            &format!("chromium to finish on {url}"),
        );
        let out = std::fs::read_to_string(&out_path).unwrap();
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert!(status.success(), "chromium failed ({status}): {err}");
        out
    })
    .await
    .unwrap()
}

/// The text between the first `start` and the next `end` after it.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// The value of attribute `name` in the first tag of `html`.
fn attr<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let tag = &html[..html.find('>')?];
    between(tag, &format!(" {name}=\""), "\"")
}

/// Text content: tags removed, the few entities the serializer writes decoded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
}

/// The body rows of a table's HTML, each as (row HTML, cell texts).
fn rows(table: &str) -> Vec<(String, Vec<String>)> {
    let body = between(table, "<tbody>", "</tbody>").unwrap_or("");
    body.split("<tr")
        .skip(1)
        .map(|r| {
            let cells = r
                .split("<td")
                .skip(1)
                .map(|c| text(&format!("<td{}", c.split("</td>").next().unwrap_or(""))))
                .collect();
            (format!("<tr{r}"), cells)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_what_went_down() {
    let bin = require_chromium();
    let (mut b, s) = start_balanced("all", 3, "none", "").await;
    b[0].stop();
    let (code, body) = admin_post(&s, &format!("/v1/endpoints/{}/drain", EPS[2]), None).await;
    assert_eq!(code, 200, "{body}");
    until_status_state(&s, APP, EPS[0], "down").await;

    let url = format!("http://{}/", s.admin);
    let dom = browse(&bin, url.clone(), vec!["--dump-dom".into()]).await;
    assert!(dom.contains("<title>gslb status</title>"), "{dom}");
    // The script ran and reached the server: no error, a summary instead of "loading…".
    assert_eq!(
        between(&dom, "<span id=\"error\">", "</span>"),
        Some(""),
        "{dom}"
    );
    let summary = between(&dom, "<span id=\"summary\">", "</span>").unwrap();
    assert!(
        summary.starts_with("1 balanced name, 1 zone ·"),
        "{summary}"
    );

    let dcs = between(&dom, "<table id=\"datacenters\">", "</table>").unwrap();
    let dcs: Vec<Vec<String>> = rows(dcs).into_iter().map(|(_, c)| c).collect();
    assert!(dcs.iter().any(|c| c[..2] == ["us-east", "2"]), "{dcs:?}");
    assert!(
        dcs.iter().any(|c| c[..4] == ["eu-west", "1", "0", "1"]),
        "{dcs:?}"
    );

    // The balanced name: a heading and a table with one row per endpoint.
    let heading = between(&dom, &format!("<h3 data-name=\"{APP}\">"), "</h3>").unwrap();
    assert!(text(heading).contains("1/3 up"), "{heading}");
    let table = between(&dom, &format!("<table data-name=\"{APP}\">"), "</table>")
        .unwrap_or_else(|| panic!("no table for {APP}: {dom}"));
    let seen: Vec<(String, String, Vec<String>)> = rows(table)
        .into_iter()
        .map(|(html, cells)| {
            let state = attr(&html, "data-state").unwrap_or("").to_string();
            let class = format!("class=\"state state-{state}\"");
            assert!(html.contains(&class), "{state} row lacks {class}: {html}");
            (
                attr(&html, "data-endpoint").unwrap().to_string(),
                state,
                cells,
            )
        })
        .collect();
    let states: Vec<(&str, &str)> = seen.iter().map(|(e, s, _)| (&e[..], &s[..])).collect();
    assert_eq!(
        states,
        [(EPS[0], "down"), (EPS[1], "up"), (EPS[2], "drained")],
        "{table}"
    );
    // What the eye reads in the cells: address, data center, the state, the failed check.
    let down = &seen[0].2;
    assert_eq!(
        (&down[0][..], &down[1][..], &down[4][..]),
        (EPS[0], "us-east", "down")
    );
    assert!(down[6].starts_with("failed: connect refused"), "{down:?}");
    assert!(seen[1].2[6].starts_with("ok: "), "{:?}", seen[1].2);

    // Recent changes lists the transition with its reason.
    let changes = between(&dom, "<table id=\"transitions\">", "</table>").unwrap();
    let changes: Vec<Vec<String>> = rows(changes).into_iter().map(|(_, c)| c).collect();
    assert!(
        changes
            .iter()
            .any(|c| c[1..] == [EPS[0], "us-east", "up → down", "connect refused"]),
        "{changes:?}"
    );

    // A screenshot of the same page: a PNG of the window size asked for.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("status.png");
    browse(
        &bin,
        url,
        vec![
            format!("--screenshot={}", png.display()),
            "--window-size=1200,900".into(),
        ],
    )
    .await;
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.len() > 1000, "{} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (1200, 900));
    s.stop().await;
}

/// What each of the five views says of `APP` failing open: (DNS answers, /v1/status, the
/// metric, explain, the status page).
async fn failing_open_views(s: &TestServer, bin: &Path) -> (Vec<String>, bool, f64, bool, bool) {
    let dns = addrs(&udp(
        s.udp,
        &query(APP, hickory_proto::rr::RecordType::A, true),
    ));
    let st = status_json(s).await;
    let status = st["balanced"][0]["failing_open"].as_bool().unwrap();
    let (_, metrics) = admin_get(s, "/metrics").await;
    let metric = metric(
        &metrics,
        &format!("gslb_balance_failing_open{{name=\"{APP}\"}}"),
    )
    .unwrap();
    let (_, explain) = admin_get(s, &format!("/v1/explain?name={APP}&type=A")).await;
    let explain = json(&explain)["failing_open"].as_bool().unwrap();
    let dom = browse(
        bin,
        format!("http://{}/", s.admin),
        vec!["--dump-dom".into()],
    )
    .await;
    assert!(dom.contains(&format!("<h3 data-name=\"{APP}\">")), "{dom}");
    let page = dom.contains("class=\"open\"");
    (dns, status, metric, explain, page)
}

#[tokio::test(flavor = "multi_thread")]
async fn all_five_views_agree_on_failing_open() {
    let bin = require_chromium();
    // Every endpoint drained: nothing to fail open to. DNS answers NODATA, and no view may say
    // the name is failing open (they once did: three places decided it, and disagreed).
    let (mut b, s) = start_balanced("all", 3, "all", "").await;
    for ep in EPS {
        let (code, body) = admin_post(&s, &format!("/v1/endpoints/{ep}/drain"), None).await;
        assert_eq!(code, 200, "{body}");
    }
    let (dns, status, metric, explain, page) = failing_open_views(&s, &bin).await;
    assert!(dns.is_empty(), "all drained is NODATA: {dns:?}");
    assert_eq!(
        (status, metric, explain, page),
        (false, 0.0, false, false),
        "status, metric, explain and page when every endpoint is drained"
    );

    // Every endpoint down, none drained, when_all_down = "all": failing open, everywhere.
    for ep in EPS {
        admin_post(&s, &format!("/v1/endpoints/{ep}/undrain"), None).await;
    }
    for backend in &mut b {
        backend.stop();
    }
    for ep in EPS {
        until_status_state(&s, APP, ep, "down").await;
    }
    let (mut dns, status, metric, explain, page) = failing_open_views(&s, &bin).await;
    dns.sort();
    assert_eq!(dns, EPS, "failing open answers every endpoint that is down");
    assert_eq!(
        (status, metric, explain, page),
        (true, 1.0, true, true),
        "status, metric, explain and page when every endpoint is down"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_banner_names_what_is_wrong_and_a_click_drains() {
    let bin = require_chromium();
    let node = require_node();
    let tokdir = tempfile::tempdir().unwrap();
    let tokfile = tokdir.path().join("token");
    std::fs::write(&tokfile, "page-t0ken\n").unwrap();
    // Four healthy names listed before the degraded one, enough that in config order it would
    // be below the fold at 1280×900 (the page must put it first and name it in the banner),
    // each sharing the address 127.0.0.22 with it: us-east has two addresses, used by five names.
    let mut admin = format!(
        "[admin]\ntoken_file = {:?}\n",
        tokfile.display().to_string()
    );
    for n in ["api", "cdn", "img", "static"] {
        admin.push_str(&format!(
            "\n[[balance]]\nname = \"{n}.example.com\"\npolicy = \"all\"\ncheck = \"web\"\n\
             endpoints = [{{ address = \"{}\", datacenter = \"us-east\" }}]\n",
            EPS[1]
        ));
    }
    let (mut b, s) = start_balanced("all", 3, "none", &admin).await;
    b[0].stop();
    until_status_state(&s, APP, EPS[0], "down").await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/status-page.mjs");
    let png = artifacts_dir().join("status-page.png");
    let _ = std::fs::remove_file(&png);
    let args: Vec<String> = vec![
        script.display().to_string(),
        bin.display().to_string(),
        format!("http://{}/", s.admin),
        png.display().to_string(),
        APP.to_string(),
        EPS[2].to_string(),
        "page-t0ken".to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&node)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", node.display()))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser script failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    println!("status page screenshot: {}", png.display());
    let seen = json(stdout.lines().last().unwrap_or(""));
    // The banner says what is wrong, in words, and the token was asked for once.
    let banner = seen["banner"]["text"].as_str().unwrap();
    assert!(banner.contains("Failing over"), "{banner}");
    assert!(banner.contains(&format!("{APP} (1 of 3 down)")), "{banner}");
    for healthy in ["api", "cdn", "img", "static"] {
        assert!(
            !banner.contains(&format!("{healthy}.example.com")),
            "{banner}"
        );
    }
    assert_eq!(seen["prompted"], 1, "{seen}");
    let after = seen["after"]["banner"].as_str().unwrap();
    assert!(
        after.contains("Data centers drained: eu-west (1 endpoint, 1 drained)"),
        "{after}"
    );
    // The click drained the endpoint, as the API tells.
    let st = status_json(&s).await;
    assert_eq!(
        status_state(&st, APP, EPS[2]).as_deref(),
        Some("drained"),
        "{st}"
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (1280, 900));

    // The data center table counts addresses, not rows over names.
    let dom = browse(
        &bin,
        format!("http://{}/", s.admin),
        vec!["--dump-dom".into()],
    )
    .await;
    let dcs = between(&dom, "<table id=\"datacenters\">", "</table>").unwrap();
    let dcs: Vec<Vec<String>> = rows(dcs).into_iter().map(|(_, c)| c).collect();
    assert!(
        dcs.iter()
            .any(|c| c[..6] == ["us-east", "2", "1", "0", "1 down", "5 names"]),
        "{dcs:?}"
    );
    assert!(
        dcs.iter()
            .any(|c| c[..6] == ["eu-west", "1", "0", "1", "drained", "1 name"]),
        "{dcs:?}"
    );
    s.stop().await;
}
