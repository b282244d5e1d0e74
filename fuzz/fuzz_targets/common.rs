//! Shared by the targets: a scratch directory per fuzzing process, and a selector byte.
#![allow(dead_code)]

use std::path::PathBuf;

/// A directory private to this process, emptied of nothing: each input overwrites the files
/// it names.
pub fn scratch(target: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stormwatch-fuzz-{target}-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The first byte chooses among `n` variants; the rest is the input.
pub fn select(data: &[u8], n: usize) -> Option<(usize, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((first as usize % n, rest))
}

/// libfuzzer-sys aborts on every panic through its panic hook, even one the library catches
/// on purpose (a panic inside `toml_edit` on some invalid documents, turned into an error).
/// A silent hook leaves those caught; an uncaught panic still reaches libfuzzer-sys's own
/// `catch_unwind`, which aborts, so it is still reported as a crash.
pub fn report_only_uncaught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}
