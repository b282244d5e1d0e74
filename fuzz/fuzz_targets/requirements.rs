//! pip requirements with includes: the input is both `requirements.txt` and the `base.txt`
//! and `constraints.txt` it may include, so include chains and cycles are exercised.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let dir = common::scratch("requirements");
    for name in ["requirements.txt", "base.txt", "constraints.txt"] {
        if std::fs::write(dir.join(name), data).is_err() {
            return;
        }
    }
    let _ = stormwatch_manifest::parse_in(
        &dir.join("requirements.txt"),
        stormwatch_manifest::Format::Requirements,
        &dir,
    );
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = stormwatch_manifest::parse_requirements_str(&dir.join("requirements.txt"), text);
    }
});
