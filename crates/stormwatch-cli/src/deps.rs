//! `stormwatch deps`: the dependency audit.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use stormwatch_audit::{audit, AuditOptions};
use stormwatch_findings::{Audit, Detail, Finding, Notice};
use stormwatch_manifest::{discover_checked, file_format, parse_in, Inputs};

use crate::cli::{AdvisoryArgs, DepsArgs};
use crate::output::{finish, load_policy};

/// Where a file named on the command line may include from: the current directory when the
/// file is inside it (`requirements/prod.txt` with `-r ../base.txt`), else the file's own
/// directory. A named file that is a symbolic link out of that directory is not read either.
fn include_root(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let cwd = std::env::current_dir().ok();
    match (
        parent.canonicalize(),
        cwd.as_ref().and_then(|c| c.canonicalize().ok()),
    ) {
        (Ok(p), Some(c)) if p.starts_with(&c) => c,
        (Ok(p), _) => p,
        _ => parent,
    }
}

/// Drops the pins whose environment markers cannot hold on the deployment target, with one
/// notice saying how many and which.
fn leave_out_other_targets(
    inputs: &mut Inputs,
    target: &stormwatch_manifest::markers::Target,
) -> Option<Notice> {
    if target.is_open() {
        return None;
    }
    let mut dropped: Vec<String> = Vec::new();
    inputs.dependencies.retain(|d| {
        let keep = d.marker.as_deref().is_none_or(|m| target.admits(m));
        if !keep {
            dropped.push(format!(
                "{} {} ({})",
                d.name,
                d.spec.text(),
                d.marker.as_deref().unwrap_or_default()
            ));
        }
        keep
    });
    if dropped.is_empty() {
        return None;
    }
    let mut on = Vec::new();
    if let Some((major, minor)) = target.python {
        on.push(format!("Python {major}.{minor}"));
    }
    if let Some(p) = target.platform {
        on.push(p.to_string());
    }
    let shown: Vec<&str> = dropped.iter().take(5).map(String::as_str).collect();
    Some(Notice::new(format!(
        "{} pin{} left out: {} marker{} cannot hold on {}: {}{}",
        dropped.len(),
        if dropped.len() == 1 { "" } else { "s" },
        if dropped.len() == 1 { "its" } else { "their" },
        if dropped.len() == 1 { "" } else { "s" },
        on.join(" / "),
        shown.join("; "),
        if dropped.len() > shown.len() {
            "; ..."
        } else {
            ""
        }
    )))
}

/// One finding per package, version and advisory (and environment marker): a version
/// declared in several places (pinned in pyproject.toml, locked in uv.lock) is one
/// vulnerability to fix, reported at its first place with every place in `declared`.
fn one_per_advisory(findings: &mut Vec<Finding>) {
    type Key = (String, String, String, Option<String>);
    let mut first: HashMap<Key, usize> = HashMap::new();
    let mut keep = vec![true; findings.len()];
    for i in 0..findings.len() {
        let Detail::Dependency(d) = &findings[i].detail else {
            continue;
        };
        let key = (
            d.package.clone(),
            d.version.clone(),
            findings[i].id.clone(),
            d.marker.clone(),
        );
        let Some(&j) = first.get(&key) else {
            first.insert(key, i);
            continue;
        };
        keep[i] = false;
        let here = findings[i].location.clone();
        let there = findings[j].location.clone();
        if let Detail::Dependency(d) = &mut findings[j].detail {
            if d.declared.is_empty() {
                d.declared.push(there);
            }
            if !d.declared.contains(&here) {
                d.declared.push(here);
            }
        }
    }
    let mut kept = keep.into_iter();
    findings.retain(|_| kept.next().unwrap_or(true));
}

/// Reads every input named on the command line; with `--allow-empty`, a directory without
/// dependency files is a notice instead of an error.
pub fn collect_inputs(args: &DepsArgs) -> Result<(Inputs, Vec<Notice>)> {
    let mut inputs = Inputs::default();
    let mut empty = Vec::new();
    let mut paths = args.paths.clone();
    if paths.is_empty() && args.python.is_none() && args.site_packages.is_none() {
        paths.push(PathBuf::from("."));
    }
    for path in &paths {
        let meta = std::fs::metadata(path);
        if meta.as_ref().is_ok_and(|m| m.is_dir()) {
            match read_dir_if_any(path)? {
                Some(found) => inputs.extend(found),
                None if args.allow_empty => empty.push(Notice::new(format!(
                    "{} (--allow-empty)",
                    no_dependency_files(path)
                ))),
                None => return Err(no_dependency_files(path)),
            }
        } else {
            let format = file_format(path)?;
            inputs.extend(parse_in(path, format, &include_root(path))?);
        }
    }
    if let Some(python) = &args.python {
        inputs.extend(stormwatch_manifest::python_site_packages(python)?);
    }
    if let Some(dir) = &args.site_packages {
        let dir_inputs = stormwatch_manifest::read_site_packages(dir)?;
        if dir_inputs.dependencies.is_empty() {
            bail!(
                "{}: no installed distributions (*.dist-info, *.egg-info) found",
                dir.display()
            );
        }
        inputs.extend(dir_inputs);
    }
    Ok((inputs, empty))
}

/// Every dependency file found under `dir`; an error when there is none.
pub fn read_dir(dir: &Path) -> Result<Inputs> {
    read_dir_if_any(dir)?.ok_or_else(|| no_dependency_files(dir))
}

/// [`read_dir`], or `None` when nothing under `dir` is named like a dependency file (one
/// walk of the tree either way). Files named like one that cannot be read (a FIFO, a
/// device) and nothing else are an error, as in [`read_dir`].
pub fn read_dir_if_any(dir: &Path) -> Result<Option<Inputs>> {
    let (found, skipped) = discover_checked(dir);
    if found.is_empty() {
        return if skipped.is_empty() {
            Ok(None)
        } else {
            Err(no_dependency_files(dir))
        };
    }
    let mut inputs = Inputs::default();
    inputs.unread.extend(skipped);
    for (file, format) in found {
        inputs.extend(parse_in(&file, format, dir)?);
    }
    Ok(Some(inputs))
}

fn no_dependency_files(dir: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "nothing to audit in {}: no dependency files found (looked for requirements*.txt, pyproject.toml, \
         poetry.lock, Pipfile, Pipfile.lock, uv.lock, pdm.lock, pylock.toml)",
        dir.display()
    )
}

pub fn run(args: DepsArgs) -> Result<bool> {
    // The project whose policy applies: the one directory named, else the current one.
    let root = match args.paths.as_slice() {
        [one] if one.is_dir() => one.clone(),
        _ => PathBuf::from("."),
    };
    let policy = load_policy(&root, &args.output)?;
    let (inputs, empty) = collect_inputs(&args)?;
    let mut audit = audit_inputs(
        inputs,
        args.ignore_unpinned,
        &args.target.target(),
        &args.advisories,
        policy.as_ref(),
        crate::output::today(&args.output),
    )?;
    audit.notices.extend(empty);
    finish(audit, &args.output, &root, policy.as_ref())
}

/// The dependency audit of `inputs`, not yet rendered: pins that cannot apply on `target`
/// left out (with a notice), the rest matched against the advisories `data` selects; also
/// every id of those advisories (to tell an unused ignore from an unknown id, and a fixed
/// finding from an advisory the data no longer holds).
pub fn audit_inputs(
    mut inputs: Inputs,
    ignore_unpinned: bool,
    target: &stormwatch_manifest::markers::Target,
    data: &AdvisoryArgs,
    policy: Option<&stormwatch_policy::Policy>,
    today: time::Date,
) -> Result<Audit> {
    let left_out = leave_out_other_targets(&mut inputs, target);
    let names: BTreeSet<&str> = inputs
        .dependencies
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    let names: Vec<&str> = names.into_iter().collect();
    let max_age = policy.and_then(|p| p.advisories.max_age);
    let advisories = crate::advisories::load(data, &names, max_age, today)?;
    let result = audit(
        &inputs.dependencies,
        &advisories.set,
        AuditOptions { ignore_unpinned },
    );
    let mut out = result.into_audit(&inputs);
    one_per_advisory(&mut out.findings);
    for name in &names {
        for adv in advisories.set.for_package(name) {
            out.advisory_ids.extend(adv.all_ids().map(str::to_string));
        }
    }
    out.advisory_data = Some(advisories.data);
    out.ran.dependencies = true;
    let mut notices = advisories.notices;
    notices.append(&mut out.notices);
    notices.extend(left_out);
    out.notices = notices;
    // Released with the process: freeing thousands of advisories and dependencies one by
    // one only delays the exit.
    std::mem::forget(advisories.set);
    std::mem::forget(inputs);
    Ok(out)
}
