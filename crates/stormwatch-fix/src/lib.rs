//! `stormwatch fix`: move each vulnerable pin to the smallest safe version and prove it.
//!
//! - [`choose`]: the version, from the advisory data and a package index.
//! - [`edit`]: byte-preserving edits of the pins written by hand (requirements files,
//!   `pyproject.toml`, `Pipfile`), hashes included.

pub mod apply;
pub mod choose;
pub mod edit;
pub mod index;
pub mod journal;
pub mod lock;
pub mod plan;
pub mod run;
pub mod txn;
