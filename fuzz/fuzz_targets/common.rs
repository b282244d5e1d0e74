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
