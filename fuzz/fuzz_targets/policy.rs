//! The policy file (stormwatch.toml and [tool.stormwatch] in pyproject.toml) and baselines:
//! both come from the scanned repository.
#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match selector % 3 {
        0 => {
            let _ = stormwatch_policy::parse(text, Path::new("stormwatch.toml"), false);
        }
        1 => {
            let _ = stormwatch_policy::parse(text, Path::new("pyproject.toml"), true);
        }
        _ => {
            let _ = stormwatch_policy::baseline::parse(text, Path::new("baseline.json"));
        }
    }
});
