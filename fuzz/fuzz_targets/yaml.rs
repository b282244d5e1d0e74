//! The positioned YAML reader on arbitrary text: documents or an error, never a panic,
//! a hang or unbounded memory (nesting and alias expansion are capped).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = stormwatch_yaml::parse(text);
    }
});
