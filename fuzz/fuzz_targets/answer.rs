//! Fuzz target `answer`: every input is a query packet, answered over UDP and TCP from one
//! snapshot (zones with delegations, wildcards and CNAME chains, a balanced name per policy)
//! through `gslb::dns::handler::handle`; a response must parse, echo the ID and fit its limit.
//! Must not: build anything per input (the fixture is built once).
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use gslb_fuzz::{AnswerFixture, check_answer, scratch_dir};
use libfuzzer_sys::fuzz_target;

static FIXTURE: OnceLock<AnswerFixture> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let fx = FIXTURE.get_or_init(|| {
        let dir = scratch_dir("answer");
        let fx = AnswerFixture::new(&dir, &Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
        // Loaded into memory; the files are not read again.
        let _ = std::fs::remove_dir_all(&dir);
        fx
    });
    check_answer(fx, data);
});
