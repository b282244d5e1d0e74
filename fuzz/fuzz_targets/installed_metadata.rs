//! Installed distributions: the input is a `*.dist-info/METADATA`, an `*.egg-info/PKG-INFO`
//! and a single-file `*.egg-info`, read from a site-packages directory.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let sp = common::scratch("installed");
    let files = [
        ("pkg-1.0.dist-info", Some("METADATA")),
        ("old.egg-info", Some("PKG-INFO")),
        ("single.egg-info", None),
    ];
    for (dir, file) in files {
        let path = match file {
            Some(f) => {
                let _ = std::fs::create_dir_all(sp.join(dir));
                sp.join(dir).join(f)
            }
            None => sp.join(dir),
        };
        if std::fs::write(path, data).is_err() {
            return;
        }
    }
    let _ = stormwatch_manifest::read_site_packages(&sp);
});
