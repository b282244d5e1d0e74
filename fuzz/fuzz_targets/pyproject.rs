//! pyproject.toml: PEP 621, PEP 735 groups, Poetry and uv/PDM tables.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let dir = common::scratch("pyproject");
    let path = dir.join("pyproject.toml");
    if std::fs::write(&path, data).is_ok() {
        let _ = stormwatch_manifest::parse_as(&path, stormwatch_manifest::Format::Pyproject);
    }
});
