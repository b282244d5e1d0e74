//! What `stormwatch fix` reads and rewrites: package-index pages (HTML and JSON, from any
//! server the user points at) and the pins it edits in place (requirements, TOML) from the
//! scanned repository, and the pip-compile header whose options are filtered through an
//! allow-list. Edits must never panic, whatever the text and line.
#![no_main]

mod common;

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use pep440_rs::Version;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let old = Version::from_str("1.0").unwrap();
    let new = Version::from_str("1.0.1").unwrap();
    let line = (selector as usize >> 2) % 8;
    match selector % 4 {
        0 => {
            let r = stormwatch_fix::index::parse_html("tornado", text);
            let _ = r.candidates(Some((3, 11)));
        }
        1 => {
            if let Ok(r) = stormwatch_fix::index::parse_json("tornado", text) {
                let _ = r.hashes(&old);
            }
        }
        2 => {
            let hashes = vec!["ab".repeat(32)];
            let _ = stormwatch_fix::edit::requirements(text, line, "tornado", &old, &new, Some(&hashes));
            let _ = stormwatch_fix::edit::requirements(text, line, "tornado", &old, &new, None);
            // A compiled file's header: only allow-listed options, the output the lock itself.
            let options = stormwatch_fix::lock::LockOptions::default();
            let path = std::path::Path::new("requirements.txt");
            let format = stormwatch_manifest::Format::Requirements;
            if let Some(jobs) =
                stormwatch_fix::lock::jobs(path, format, text, "tornado", &new, true, &options)
            {
                for job in &jobs {
                    assert!(job.args.contains(&"--output-file=requirements.txt".to_string()));
                    assert!(!job.args.iter().any(|a| a.starts_with("--pip-args=--")
                        && a != "--pip-args=--only-binary=:all:"));
                }
            }
        }
        _ => {
            let _ = stormwatch_fix::edit::toml(text, line, "tornado", &old, &new);
        }
    }
});
