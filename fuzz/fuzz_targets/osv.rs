//! OSV records as JSON (first byte even) or YAML (odd), then compiled for matching and
//! matched against a few versions, as an import and an audit would.
#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let Some((which, body)) = common::select(data, 2) else {
        return;
    };
    let name = if which == 0 { "record.json" } else { "record.yaml" };
    let Ok(records) = stormwatch_osv::load::parse_records(Path::new(name), body) else {
        return;
    };
    let mut set = stormwatch_osv::AdvisorySet::new();
    for adv in records {
        let _ = adv.problems();
        let _ = adv.headline();
        set.insert(adv);
    }
    for version in ["0", "1.0", "6.4.2", "2.0.0rc1", "1!2.0.post1.dev3+local"] {
        let parsed = version.parse().ok();
        let probe = stormwatch_osv::Probe::new(parsed.as_ref(), version);
        for adv in set.for_package("tornado") {
            let _ = adv.affects_probe("tornado", &probe);
        }
    }
});
