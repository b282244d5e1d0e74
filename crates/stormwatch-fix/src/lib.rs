//! `stormwatch fix`: move each vulnerable pin to the smallest safe version and prove it.
//!
//! - [`choose`]: the version, from the advisory data and a package index.
//! - [`edit`]: byte-preserving edits of the pins written by hand (requirements files,
//!   `pyproject.toml`, `Pipfile`), hashes included.

pub mod choose;
pub mod edit;
pub mod txn;
pub mod run;
pub mod index;
pub mod lock;
