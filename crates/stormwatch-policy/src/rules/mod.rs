//! The policy's own rules: findings about how the scanned code tries to bend the policy.
//! One rule per file, its documentation beside it; ids are stable.

pub use stormwatch_findings::RuleInfo;

pub mod inline_suppression;

/// Every rule of the policy, by id.
pub const ALL: &[&RuleInfo] = &[&inline_suppression::RULE];
