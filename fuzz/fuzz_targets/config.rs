//! Fuzz target `config`: every UTF-8 input is gslb.toml text validated by
//! `gslb::config::Config::from_str`: a config or diagnostics, never a panic. Must not: touch
//! the file system (the text is never written; the path only names it in diagnostics).
#![no_main]

use std::path::Path;

use gslb_fuzz::check_config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_config(Path::new("/nonexistent/gslb.toml"), data);
});
