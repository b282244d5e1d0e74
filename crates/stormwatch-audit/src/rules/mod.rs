//! The dependency audit's own rules: findings that are not a single advisory. A finding
//! about a vulnerable pin carries the advisory's id instead. One rule per file, its
//! documentation beside it; ids are stable.

pub use stormwatch_findings::RuleInfo;

pub mod unauditable;
pub mod unpinned;

/// Every rule of the dependency audit, by id.
pub const ALL: &[&RuleInfo] = &[&unpinned::RULE, &unauditable::RULE];
