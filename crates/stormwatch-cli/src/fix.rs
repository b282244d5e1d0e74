//! `stormwatch fix`: plan, apply, verify, keep or restore, record.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stormwatch_report::escape_controls as esc;

use anyhow::{bail, Context as _, Result};
use pep440_rs::Version;
use stormwatch_fix::apply::{self, Context};
use stormwatch_fix::choose::{MaxBump, Target};
use stormwatch_fix::index::Releases;
use stormwatch_fix::journal::{self, State};
use stormwatch_fix::plan::{self, PackageFix, Remaining};
use stormwatch_fix::run::{self, Ended};
use stormwatch_fix::txn::Txn;
use stormwatch_manifest::Format;

use crate::cli::{BumpArg, FixArgs, StatusFormat, ToArg};

mod audited;
mod report;
use report::{print, Fixed, Report, Skipped, Verify};

fn rel(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn fixed_of(fix: &PackageFix, files: &[PathBuf], root: &Path) -> Fixed {
    Fixed {
        package: fix.package.clone(),
        from: fix.from.iter().map(|v| v.to_string()).collect(),
        to: fix.to.to_string(),
        advisories: fix.advisories.clone(),
        files: files.iter().map(|f| rel(f, root)).collect(),
    }
}

fn remaining_of(fix: &PackageFix, reason: String, command: Option<String>) -> Remaining {
    Remaining {
        package: fix.package.clone(),
        version: fix.from_text(),
        location: fix
            .edits
            .iter()
            .map(|e| e.path.display().to_string())
            .chain(fix.relocks.iter().map(|r| r.path.display().to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        reason,
        command,
    }
}

/// Restores everything and ends the process: the user interrupted.
fn interrupted(txn: &Txn) -> ! {
    let restored = txn.restore();
    match restored {
        Ok(()) => {
            txn.discard();
            eprintln!("interrupted: every file stormwatch changed is restored")
        }
        Err(e) => eprintln!(
            "interrupted; restoring failed: {} (`stormwatch fix --rollback` restores from the journal)",
            esc(&e.to_string())
        ),
    }
    std::process::exit(130)
}

/// A journal in the project tree (as older versions wrote) is never trusted: say so.
fn note_legacy_journal(root: &Path) {
    if std::fs::symlink_metadata(root.join(journal::LEGACY_IN_TREE)).is_ok() {
        eprintln!(
            "note: {} in the project is ignored: fix journals are kept in the user's state directory",
            journal::LEGACY_IN_TREE
        );
    }
}

/// Why `fix` must not write the files of `fix`: one is outside `root`, or reached through
/// a symbolic link, or not a regular file.
fn unsafe_target(fix: &PackageFix, root: &Path, canonical: &Path) -> Option<String> {
    let paths = fix.edits.iter().map(|e| &e.path).chain(
        fix.relocks
            .iter()
            .flat_map(|r| std::iter::once(&r.path).chain(r.jobs.iter().flat_map(|j| &j.touches))),
    );
    for path in paths {
        let rel = path.strip_prefix(root).unwrap_or(path);
        let rel = rel.to_string_lossy();
        if let Err(why) = journal::inside(canonical, &rel) {
            return Some(format!(
                "{}: {why}; stormwatch does not write there",
                path.display()
            ));
        }
    }
    None
}

pub fn run(args: FixArgs) -> Result<bool> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    note_legacy_journal(&root);
    if args.rollback {
        let done = journal::rollback(&root)?;
        let journal = done.journal;
        if done.interrupted {
            say!(
                "Rolled back the interrupted fix of {}: every file it had taken is as before",
                esc(&journal.created)
            );
        } else {
            say!(
                "Rolled back the fix of {}: {}",
                esc(&journal.created),
                esc(&journal.fixes.join("; "))
            );
        }
        for f in &journal.files {
            say!("  restored {}", esc(&f.path));
        }
        return Ok(false);
    }
    let canonical = root
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", root.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot watch for Ctrl-C")?;
    }

    let inputs = crate::deps::read_dir(&root)?;
    let formats: BTreeMap<PathBuf, Format> = inputs.files.iter().cloned().collect();
    let mut names: Vec<&str> = inputs
        .dependencies
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let today = time::OffsetDateTime::now_utc().date();
    let loaded = crate::advisories::load(&args.advisories, &names, None, today)?;
    let mut warnings: Vec<String> = Vec::new();

    let index = args
        .index_url
        .clone()
        .or_else(|| {
            std::env::var("PIP_INDEX_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| (!args.offline).then(|| "https://pypi.org/simple".to_string()));
    let client = if args.offline {
        None
    } else {
        Some(stormwatch_http::Client::new(stormwatch_http::Options {
            timeout: Duration::from_secs(20),
            attempts: 2,
            max_bytes: 64 * 1024 * 1024,
            ..Default::default()
        })?)
    };
    let mut cache: HashMap<String, Option<Releases>> = HashMap::new();
    let mut releases = |package: &str| -> Option<Releases> {
        let index = index.as_deref()?;
        cache
            .entry(package.to_string())
            .or_insert_with(|| match stormwatch_fix::index::fetch(index, package, client.as_ref()) {
                Ok(r) => Some(r),
                Err(e) => {
                    warnings.push(format!(
                        "{package}: the index could not be read ({e}); the advisory data's fixed versions are used"
                    ));
                    None
                }
            })
            .clone()
    };
    let options = plan::Options {
        bump: match args.max_bump {
            BumpArg::Patch => MaxBump::Patch,
            BumpArg::Minor => MaxBump::Minor,
            BumpArg::Major => MaxBump::Major,
        },
        target: match args.to {
            ToArg::Smallest => Target::Smallest,
            ToArg::LatestSafe => Target::LatestSafe,
        },
        packages: args
            .package
            .iter()
            .map(|p| stormwatch_manifest::normalize_name(p))
            .collect(),
        python: args.python_version,
        lock: stormwatch_fix::lock::LockOptions {
            index: args.index_url.clone(),
            only_binary: args.only_binary,
        },
    };
    for p in &options.packages {
        if !inputs.dependencies.iter().any(|d| &d.name == p) {
            bail!("--package {p}: no such dependency in {}", root.display());
        }
    }
    let mut plan = plan::plan(
        &inputs.dependencies,
        &formats,
        &loaded.set,
        &mut releases,
        &options,
    );
    let skipped: Vec<Skipped> = inputs
        .unread
        .iter()
        .map(|n| Skipped {
            path: n.source.to_string(),
            reason: n.message.clone(),
        })
        .collect();
    let mut refused = Vec::new();
    plan.fixes
        .retain(|fix| match unsafe_target(fix, &root, &canonical) {
            Some(why) => {
                refused.push(remaining_of(fix, why, None));
                false
            }
            None => true,
        });
    plan.remaining.extend(refused);
    // What the plan does not take but the audit still finds vulnerable stays, and says so.
    let untaken = plan.not_taken(&inputs.dependencies, &options);
    plan.remaining.extend(audited::remaining(
        &untaken,
        &loaded.set,
        stormwatch_audit::AuditOptions {
            ignore_unpinned: args.ignore_unpinned,
        },
    ));
    for fix in &plan.fixes {
        for job in fix.relocks.iter().flat_map(|r| &r.jobs) {
            if !job.dropped.is_empty() {
                warnings.push(format!(
                    "{}: options of the file's header not used (not on the allow-list): {}",
                    fix.relocks
                        .iter()
                        .find(|r| r.jobs.contains(job))
                        .map_or(String::new(), |r| r.path.display().to_string()),
                    job.dropped.join(" ")
                ));
            }
        }
    }
    let hash_cache = cache.clone();
    let hashes = move |package: &str, version: &Version| -> Option<Vec<String>> {
        hash_cache.get(package)?.as_ref()?.hashes(version)
    };
    let ctx = Context {
        stop: &stop,
        tool_timeout: Duration::from_secs(args.tool_timeout.max(1)),
        hashes: &hashes,
    };
    let mut report = Report {
        version: 1,
        dry_run: args.dry_run,
        fixed: Vec::new(),
        remaining: plan.remaining.clone(),
        skipped,
        verify: None,
        commands: Vec::new(),
        journal: None,
        commit: None,
        warnings,
    };

    if args.dry_run {
        let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
        for fix in &plan.fixes {
            let before = files.clone();
            match apply::edited(fix, &mut files, &ctx) {
                Ok(()) => {
                    let touched: Vec<PathBuf> = fix.edits.iter().map(|e| e.path.clone()).collect();
                    report.fixed.push(fixed_of(fix, &touched, &root));
                    for r in &fix.relocks {
                        for j in &r.jobs {
                            report.commands.push(format!(
                                "(in {}) {}",
                                j.dir.display(),
                                j.display()
                            ));
                        }
                    }
                }
                Err(f) => {
                    files = before;
                    report
                        .remaining
                        .push(remaining_of(fix, f.reason, f.command));
                }
            }
        }
        if args.format == StatusFormat::Table {
            for (path, new) in &files {
                let old = std::fs::read_to_string(path).unwrap_or_default();
                // Escaped before it joins the diff: a newline in a name must not start a line.
                let name = esc(&rel(path, &root)).into_owned();
                let diff = similar::TextDiff::from_lines(&old, new);
                let text = diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
                    .to_string();
                // Names and contents come from the tree: each line shown escaped.
                for line in text.lines() {
                    say!("{}", esc(line));
                }
            }
        }
        print(&report, args.format);
        return Ok(!report.remaining.is_empty() || !report.skipped.is_empty());
    }

    // A killed fix left files half-changed: undo it before anything else.
    let state = State::of(&root)?;
    if let Some((dir, j)) = state.interrupted() {
        bail!(
            "the fix of {} was interrupted and not rolled back (journal in {}): run `stormwatch fix --rollback` first",
            j.created,
            dir.display()
        );
    }
    // Apply, package by package; journalled before the first change.
    let mut txn = if plan.fixes.is_empty() {
        Txn::default()
    } else {
        Txn::journalled(&state)?
    };
    let mut applied: Vec<(&PackageFix, Vec<PathBuf>)> = Vec::new();
    for fix in &plan.fixes {
        if stop.load(Ordering::SeqCst) {
            interrupted(&txn);
        }
        match apply::apply(fix, &mut txn, &ctx) {
            Ok(files) => applied.push((fix, files)),
            Err(f) if f.interrupted => interrupted(&txn),
            Err(f) => report
                .remaining
                .push(remaining_of(fix, f.reason, f.command)),
        }
    }
    if stop.load(Ordering::SeqCst) {
        interrupted(&txn);
    }

    let mut verify_failed = false;
    if let (Some(command), false) = (&args.verify, applied.is_empty()) {
        let timeout = Duration::from_secs(args.verify_timeout.max(1));
        let outcome = run::shell(command, &root, timeout, &stop)?;
        match outcome.ended {
            Ended::Interrupted => interrupted(&txn),
            Ended::Passed => {
                report.verify = Some(Verify {
                    command: command.clone(),
                    result: "passed".into(),
                    tail: String::new(),
                })
            }
            failed => {
                let result = if failed == Ended::TimedOut {
                    "timed-out"
                } else {
                    "failed"
                };
                txn.restore()?;
                txn = txn.child();
                if args.bisect {
                    // One package at a time, on top of those already kept.
                    let all = std::mem::take(&mut applied);
                    for (fix, _) in all {
                        let mut mine = txn.child();
                        match apply::apply(fix, &mut mine, &ctx) {
                            Ok(files) => {
                                let alone = run::shell(command, &root, timeout, &stop)?;
                                match alone.ended {
                                    Ended::Passed => {
                                        txn.absorb(mine);
                                        applied.push((fix, files));
                                    }
                                    Ended::Interrupted => {
                                        mine.restore()?;
                                        interrupted(&txn)
                                    }
                                    _ => {
                                        mine.restore()?;
                                        report.remaining.push(remaining_of(
                                            fix,
                                            format!(
                                                "the tests fail with this upgrade: {}",
                                                alone.tail.lines().last().unwrap_or_default()
                                            ),
                                            None,
                                        ));
                                    }
                                }
                            }
                            Err(f) if f.interrupted => interrupted(&txn),
                            Err(f) => report
                                .remaining
                                .push(remaining_of(fix, f.reason, f.command)),
                        }
                    }
                    report.verify = Some(Verify {
                        command: command.clone(),
                        result: if applied.is_empty() {
                            format!("{result}; bisect kept nothing")
                        } else {
                            format!(
                                "{result} with every upgrade; bisect kept {} that pass",
                                applied.len()
                            )
                        },
                        tail: outcome.tail,
                    });
                    verify_failed = applied.is_empty();
                } else {
                    for (fix, _) in std::mem::take(&mut applied) {
                        report.remaining.push(remaining_of(
                            fix,
                            format!(
                                "the tests {}; every file was restored",
                                if result == "failed" {
                                    "failed"
                                } else {
                                    "timed out"
                                }
                            ),
                            None,
                        ));
                    }
                    report.verify = Some(Verify {
                        command: command.clone(),
                        result: result.into(),
                        tail: outcome.tail,
                    });
                    verify_failed = true;
                }
            }
        }
    }

    for (fix, files) in &applied {
        report.fixed.push(fixed_of(fix, files, &root));
    }
    if !applied.is_empty() {
        let summary: Vec<String> = applied
            .iter()
            .map(|(f, _)| format!("{} {} -> {}", f.package, f.from_text(), f.to))
            .collect();
        report.journal = txn.finish(&summary)?.map(|d| d.display().to_string());
        if args.commit {
            report.commit = Some(commit(&root, &txn, &applied)?);
        }
    } else {
        txn.discard();
    }
    print(&report, args.format);
    Ok(!report.remaining.is_empty() || !report.skipped.is_empty() || verify_failed)
}

/// One commit of exactly the files the fix changed; returns its id.
fn commit(root: &Path, txn: &Txn, applied: &[(&PackageFix, Vec<PathBuf>)]) -> Result<String> {
    let files: Vec<PathBuf> = txn.changed();
    let mut message = String::from("stormwatch fix: upgrade vulnerable dependencies\n\n");
    for (fix, _) in applied {
        message.push_str(&format!(
            "- {} {} -> {}: {}\n",
            fix.package,
            fix.from_text(),
            fix.to,
            fix.advisories.join(", ")
        ));
    }
    let git = |args: &[&str], files: &[PathBuf]| -> Result<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .args(files)
            .output()
            .context("git is not available for --commit")?;
        if !out.status.success() {
            bail!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let abs: Vec<PathBuf> = files
        .iter()
        .map(|f| f.canonicalize().unwrap_or_else(|_| f.clone()))
        .collect();
    git(&["add", "--"], &abs)?;
    git(&["commit", "--quiet", "-m", &message, "--only", "--"], &abs)?;
    git(&["rev-parse", "HEAD"], &[])
}
