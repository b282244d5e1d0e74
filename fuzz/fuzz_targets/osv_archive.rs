//! Arbitrary bytes read as an OSV zip archive by the streaming reader an import uses:
//! front to back when entries carry their sizes, through the central directory otherwise.
//! Every record that comes out is compiled, as an import would.
#![no_main]

mod common;

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use stormwatch_osv::{CompiledAdvisory, LoadOptions, OsvError};

/// A small total keeps decompression bombs quick; the limit itself is what is tested.
const MAX_TOTAL: u64 = 8 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let skip_invalid = data.first().is_some_and(|b| b & 1 == 1);
    let mut records = 0usize;
    let _ = stormwatch_osv::stream_zip(
        Cursor::new(data),
        Path::new("fuzz.zip"),
        LoadOptions { skip_invalid },
        MAX_TOTAL,
        &mut |adv| {
            records += 1;
            let _ = CompiledAdvisory::from_advisory(&adv);
            Ok::<(), OsvError>(())
        },
    );
});
