//! Fuzz target `zonefile`: every input is a zone file (`example.com.zone`, with `$INCLUDE`-able
//! pieces beside it) loaded by `gslb::zone::file::load_file`: Ok or diagnostics, never a panic;
//! a zone that loads is queried at its apex and below. Must not: leave its scratch directory
//! behind when the run ends normally.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use gslb_fuzz::{ZoneFixture, check_zonefile, scratch_dir};
use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<PathBuf> = OnceLock::new();
static FIXTURE: OnceLock<ZoneFixture> = OnceLock::new();

unsafe extern "C" {
    fn atexit(f: extern "C" fn()) -> i32;
}

/// libFuzzer ends a bounded run with exit(): the scratch directory goes with it.
extern "C" fn remove_scratch() {
    if let Some(d) = DIR.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

fuzz_target!(|data: &[u8]| {
    let fx = FIXTURE.get_or_init(|| {
        let dir = DIR.get_or_init(|| scratch_dir("zonefile"));
        // SAFETY: registers a plain function with the C runtime; it only removes a directory.
        unsafe { atexit(remove_scratch) };
        ZoneFixture::new(dir)
    });
    check_zonefile(fx, data);
});
