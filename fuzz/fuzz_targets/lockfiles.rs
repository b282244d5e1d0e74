//! Every lockfile reader: the first byte chooses poetry.lock, uv.lock, pdm.lock,
//! pylock.toml, Pipfile or Pipfile.lock; the rest is the file.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use stormwatch_manifest::Format;

const FORMATS: [(&str, Format); 6] = [
    ("poetry.lock", Format::PoetryLock),
    ("uv.lock", Format::UvLock),
    ("pdm.lock", Format::PdmLock),
    ("pylock.toml", Format::Pylock),
    ("Pipfile", Format::Pipfile),
    ("Pipfile.lock", Format::PipfileLock),
];

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let Some((which, body)) = common::select(data, FORMATS.len()) else {
        return;
    };
    let (name, format) = FORMATS[which];
    let path = common::scratch("lockfiles").join(name);
    if std::fs::write(&path, body).is_ok() {
        let _ = stormwatch_manifest::parse_as(&path, format);
    }
});
