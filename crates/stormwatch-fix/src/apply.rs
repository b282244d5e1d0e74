//! Applying one package's upgrade: edit its pins, run its lock tools, read every file back.
//! A package whose upgrade fails at any step has all of its files restored; the others
//! keep theirs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use pep440_rs::Version;
use stormwatch_manifest::{Format, Spec};

use crate::edit::{self, EditError};
use crate::plan::{Edit, PackageFix};
use crate::run::{self, Ended};
use crate::txn::Txn;

pub struct Context<'a> {
    pub stop: &'a AtomicBool,
    /// Longest a lock tool may run.
    pub tool_timeout: Duration,
    /// The sha256 of every file of a release (for hash-pinned requirements), when known.
    pub hashes: &'a dyn Fn(&str, &Version) -> Option<Vec<String>>,
}

/// Why a package was not upgraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    /// What the user can run instead.
    pub command: Option<String>,
    /// Stopped by the user: the whole fix must end.
    pub interrupted: bool,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            command: None,
            interrupted: false,
        }
    }
}

/// One edit on `text`: at the line the pin was read from, else (an earlier edit moved it)
/// wherever the pin is.
fn edit_text(
    text: &str,
    e: &Edit,
    package: &str,
    to: &Version,
    hashes: Option<&[String]>,
) -> Result<String, EditError> {
    let once = |line: usize| match e.format {
        Format::Requirements => edit::requirements(text, line, package, &e.from, to, hashes),
        _ => edit::toml(text, line, package, &e.from, to),
    };
    match once(e.line) {
        Err(EditError::PinNotFound { .. }) => {
            let lines = text.lines().count();
            (1..=lines)
                .map(once)
                .find(|r| !matches!(r, Err(EditError::PinNotFound { .. })))
                .unwrap_or_else(|| once(e.line))
        }
        other => other,
    }
}

/// The new contents of the files `fix` edits, from `files` (read from disk when absent).
pub fn edited(
    fix: &PackageFix,
    files: &mut BTreeMap<PathBuf, String>,
    ctx: &Context,
) -> Result<(), Failure> {
    for e in &fix.edits {
        let text = match files.get(&e.path) {
            Some(t) => t.clone(),
            None => std::fs::read_to_string(&e.path)
                .map_err(|err| Failure::new(format!("{}: {err}", e.path.display())))?,
        };
        let hashes = (ctx.hashes)(&fix.package, &fix.to);
        let new = edit_text(&text, e, &fix.package, &fix.to, hashes.as_deref()).map_err(|err| {
            let mut f = Failure::new(format!("{}: {err}", e.path.display()));
            if matches!(err, EditError::HashesNeeded { .. }) {
                f.command = Some(format!(
                    "set {}=={} in {} and run `pip-compile --generate-hashes` (or `pip hash`)",
                    fix.package,
                    fix.to,
                    e.path.display()
                ));
            }
            f
        })?;
        files.insert(e.path.clone(), new);
    }
    Ok(())
}

/// The versions of `package` a file pins, read back.
fn pinned_versions(path: &Path, format: Format, package: &str) -> Result<Vec<Version>, String> {
    let inputs = stormwatch_manifest::parse_as(path, format).map_err(|e| e.to_string())?;
    Ok(versions_of(&inputs.dependencies, package))
}

/// The exact versions of `package` among `deps`.
pub(crate) fn versions_of(deps: &[stormwatch_manifest::Dependency], package: &str) -> Vec<Version> {
    deps.iter()
        .filter(|d| d.name == package)
        .filter_map(|d| match &d.spec {
            Spec::Pinned {
                parsed: Some(v), ..
            } => Some(v.clone()),
            _ => None,
        })
        .collect()
}

/// Applies `fix`, recording every file in `txn`. On failure the package's files are back
/// as they were (and `txn` does not hold them).
pub fn apply(fix: &PackageFix, txn: &mut Txn, ctx: &Context) -> Result<Vec<PathBuf>, Failure> {
    let mut mine = txn.child();
    let result = apply_into(fix, &mut mine, ctx);
    match result {
        Ok(()) => {
            let changed = mine.changed();
            txn.absorb(mine);
            Ok(changed)
        }
        Err(f) => {
            mine.restore()
                .map_err(|e| Failure::new(format!("{} (and restoring failed: {e})", f.reason)))?;
            Err(f)
        }
    }
}

fn apply_into(fix: &PackageFix, txn: &mut Txn, ctx: &Context) -> Result<(), Failure> {
    let mut files = BTreeMap::new();
    edited(fix, &mut files, ctx)?;
    for (path, text) in &files {
        txn.write(path, text.as_bytes())
            .map_err(|e| Failure::new(e.to_string()))?;
    }
    for e in &fix.edits {
        let now = pinned_versions(&e.path, e.format, &fix.package)
            .map_err(|err| Failure::new(format!("the edited file does not read back: {err}")))?;
        if !now.contains(&fix.to) {
            return Err(Failure::new(format!(
                "{}: the edit did not read back as {}=={}",
                e.path.display(),
                fix.package,
                fix.to
            )));
        }
    }
    for relock in &fix.relocks {
        let commands: Vec<String> = relock.jobs.iter().map(|j| j.display()).collect();
        let instead = || {
            Some(format!(
                "(in {}) {}",
                relock.jobs[0].dir.display(),
                commands.join(" && ")
            ))
        };
        for job in &relock.jobs {
            if !run::on_path(&job.program) {
                return Err(Failure {
                    reason: format!("{} is not installed", job.program),
                    command: instead(),
                    interrupted: false,
                });
            }
            for t in &job.touches {
                txn.keep(t).map_err(|e| Failure::new(e.to_string()))?;
            }
            let out = run::run(
                &job.program,
                &job.args,
                &job.dir,
                ctx.tool_timeout,
                ctx.stop,
            )
            .map_err(|e| Failure::new(format!("{}: {e}", job.program)))?;
            match out.ended {
                Ended::Passed => {}
                Ended::Interrupted => {
                    return Err(Failure {
                        reason: "interrupted".into(),
                        command: None,
                        interrupted: true,
                    })
                }
                Ended::TimedOut => {
                    return Err(Failure {
                        reason: format!("`{}` timed out", job.display()),
                        command: instead(),
                        interrupted: false,
                    })
                }
                Ended::Failed { code } => {
                    return Err(Failure {
                        reason: format!(
                            "`{}` failed (exit {}): {}",
                            job.display(),
                            code.map_or("?".into(), |c| c.to_string()),
                            out.tail.lines().last().unwrap_or_default()
                        ),
                        command: instead(),
                        interrupted: false,
                    })
                }
            }
        }
        // What the tool locked: the chosen version, or versions that were there and are safe.
        let now = pinned_versions(&relock.path, relock.format, &fix.package)
            .map_err(|e| Failure::new(format!("the regenerated lock does not read: {e}")))?;
        let wrong: Vec<String> = now
            .iter()
            .filter(|v| {
                let kept_and_safe = relock.before.contains(v)
                    && !crate::choose::affected(&fix.package, v, &fix.known);
                **v != fix.to && !kept_and_safe
            })
            .map(|v| v.to_string())
            .collect();
        if !now.contains(&fix.to) || !wrong.is_empty() {
            return Err(Failure {
                reason: format!(
                    "{} locked {} {} instead of {}",
                    relock.jobs[0].program,
                    fix.package,
                    if now.is_empty() {
                        "nothing".to_string()
                    } else {
                        now.iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    fix.to
                ),
                command: instead(),
                interrupted: false,
            });
        }
    }
    Ok(())
}
