//! The Tornado configuration audit: parses a repository's Python with a real parser,
//! follows how settings reach `tornado.web.Application`, and applies the [`rules`].

use rayon::prelude::*;
use std::path::Path;

use stormwatch_findings::{ConfigFinding, Location, TraceStep};

mod engine;
mod eval;
mod imports;
pub mod roles;
pub mod rules;
mod source;
mod value;
mod walk;

pub use source::{python_files, SkippedFile};

/// What a configuration audit found.
#[derive(Debug, Default)]
pub struct ConfigAudit {
    pub findings: Vec<ConfigFinding>,
    /// Deployment files read, with their kind and whether they are for development.
    pub deployment_files: Vec<(String, &'static str, bool)>,
    /// Files that could not be read or parsed (reported, not fatal).
    pub skipped: Vec<SkippedFile>,
    /// Other things the user should know, with their place (e.g. a suppression comment
    /// without a reason, which is not honoured).
    pub warnings: Vec<SkippedFile>,
    pub files: usize,
    pub lines: usize,
}

/// Rule selection: `select` (empty = all) minus `ignore`, by id; and which deployment files
/// count as the target environment.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub target: rules::Target,
    /// Report findings in tests, examples, vendored code and the like at their full severity
    /// (by default they are info, with the reason).
    pub all_code: bool,
}

impl Selection {
    fn enabled(&self, id: &str) -> bool {
        let listed = |v: &[String]| v.iter().any(|s| s.eq_ignore_ascii_case(id));
        (self.select.is_empty() || listed(&self.select)) && !listed(&self.ignore)
    }
}

fn display(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Audits every Python file under `root` (or the single file `root`).
pub fn audit(root: &Path, selection: &Selection) -> ConfigAudit {
    let paths = source::python_files(root);
    let (mut files, mut skipped) = source::parse_all(root, &paths);
    let config_files = source::config_files(root, &files);
    if !config_files.is_empty() {
        let (more, bad) = source::parse_all(root, &config_files);
        files.extend(more);
        skipped.extend(bad);
    }
    let result = analyze(root, selection, &files, skipped);
    // Freeing the syntax trees of a large code base takes a noticeable share of the run;
    // nothing waits for it. Dropping a tree recurses into it, so the thread gets a stack as
    // deep as the ones that built it (a long operator chain is a deep tree).
    let freeing = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || drop(files));
    if let Err(e) = freeing {
        // Not enough address space for another thread: nothing is lost by not freeing early.
        drop(e);
    }
    result
}

fn analyze(
    root: &Path,
    selection: &Selection,
    files: &[source::PyFile],
    skipped: Vec<SkippedFile>,
) -> ConfigAudit {
    // Paths are reported relative to the scanned directory, as the user named it.
    let base = if root.is_dir() { root } else { Path::new("") };
    let lines = files.par_iter().map(|f| f.text.lines().count()).sum();
    let project = engine::Project::new(files);
    let (apps, calls) = project.sites();
    let deployment = stormwatch_deploy::scan(root);
    let rels: Vec<&Path> = files.iter().map(|f| f.rel.as_path()).collect();
    let mut roles = roles::Roles::new(&rels, deployment.commands.iter().map(|c| c.full()));
    // What the project's declared entry points (deployment commands, packaging scripts)
    // reach through imports runs in production, wherever it lives.
    let packaged = if root.is_dir() {
        roles::packaging_entry_points(root)
    } else {
        Vec::new()
    };
    let mut entries: Vec<usize> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| roles.started_by_deployment(&f.rel, &f.module))
        .map(|(i, _)| i)
        .collect();
    entries.extend(packaged.iter().filter_map(|m| project.module_file(m)));
    if !entries.is_empty() {
        let reached = project.reachable(&entries);
        roles.set_reached(
            files
                .iter()
                .zip(reached)
                .filter(|(_, r)| *r)
                .map(|(f, _)| f.rel.clone()),
        );
    }
    let mut hits = rules::check(&project, &apps, &calls, &roles);
    hits.extend(rules::check_deployment(
        &project,
        &apps,
        &deployment,
        selection.target,
    ));
    let mut skipped = skipped;
    skipped.extend(deployment.unread.iter().map(|u| SkippedFile {
        path: u.path.clone(),
        line: u.line,
        message: u.message.clone(),
    }));
    let deployment_files = deployment
        .files
        .iter()
        .map(|f| {
            let rel = f.path.strip_prefix(base).unwrap_or(&f.path);
            (
                display(rel),
                f.kind.label(),
                f.stage == stormwatch_deploy::Stage::Development,
            )
        })
        .collect();
    let mut findings: Vec<ConfigFinding> = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: std::collections::HashMap<(String, String, usize, usize, String), usize> =
        Default::default();
    let by_path: std::collections::HashMap<&Path, &source::PyFile> =
        files.iter().map(|f| (f.path.as_path(), f)).collect();
    for mut hit in hits {
        if !selection.enabled(hit.rule.id) {
            continue;
        }
        // Code that does not run in production: judged where the value reaches the
        // application (the end of its trace), or where the finding is.
        let base_message = hit.message.clone();
        if hit.stage.is_none() && !selection.all_code {
            let sink = hit.trace.last().map_or(&hit.step.file, |s| &s.file);
            let role = by_path
                .get(sink.as_path())
                .and_then(|f| roles.of(&f.rel, &f.module));
            if let Some(role) = role {
                if hit.severity > stormwatch_findings::Severity::Info {
                    hit.severity = stormwatch_findings::Severity::Info;
                    hit.message.push_str(&format!(
                        " ({}; reported for information, --all-code to judge it)",
                        role.reason()
                    ));
                }
            }
        }
        let display = |p: &Path| display(p.strip_prefix(base).unwrap_or(p));
        let suppression = match by_path.get(hit.step.file.as_path()) {
            Some(f) => suppression(&f.text, hit.step.line, hit.rule.id),
            None => std::fs::read_to_string(&hit.step.file)
                .ok()
                .and_then(|t| suppression(&t, hit.step.line, hit.rule.id)),
        };
        let suppressed = match suppression {
            Some(Ok(reason)) => Some(reason),
            Some(Err(())) => {
                warnings.push(SkippedFile {
                    path: hit.step.file.clone(),
                    line: hit.step.line,
                    message: format!(
                        "suppression of {} without a reason is not honoured; write `# stormwatch: ignore[{}] why`",
                        hit.rule.id, hit.rule.id
                    ),
                });
                None
            }
            None => None,
        };
        let finding = ConfigFinding {
            rule: hit.rule.id.to_string(),
            severity: hit.severity,
            path: display(&hit.step.file),
            line: hit.step.line,
            column: hit.step.column.max(1),
            message: hit.message,
            trace: hit
                .trace
                .iter()
                .filter(|s| s.line > 0)
                .map(|s| TraceStep {
                    location: Location {
                        file: display(&s.file),
                        line: s.line,
                    },
                    note: s.note.clone(),
                })
                .collect(),
            suppressed,
        };
        // One value feeding several applications is one place to fix: one finding, at the
        // severity of the application where it matters most.
        let key = (
            finding.rule.clone(),
            finding.path.clone(),
            finding.line,
            finding.column,
            base_message,
        );
        match seen.get(&key) {
            Some(&i) => {
                if finding.severity > findings[i].severity {
                    findings[i] = finding;
                }
            }
            None => {
                seen.insert(key, findings.len());
                findings.push(finding);
            }
        }
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.path.cmp(&b.path))
            .then(a.line.cmp(&b.line))
            .then_with(|| a.rule.cmp(&b.rule))
    });
    // Notices name files the way findings do: relative to the scanned directory.
    let relative = |mut s: SkippedFile| {
        if let Ok(rel) = s.path.strip_prefix(base) {
            s.path = rel.to_path_buf();
        }
        s
    };
    ConfigAudit {
        findings,
        warnings: warnings.into_iter().map(relative).collect(),
        deployment_files,
        skipped: skipped.into_iter().map(relative).collect(),
        files: files.len(),
        lines,
    }
}

/// `# stormwatch: ignore[TW001] reason` on the finding's line: `Ok(reason)`, or `Err` when
/// the comment names the rule but gives no reason (not honoured).
fn suppression(text: &str, line: usize, rule: &str) -> Option<Result<String, ()>> {
    let src = text.lines().nth(line.checked_sub(1)?)?;
    let comment = &src[src.find('#')?..];
    let rest = comment.split_once("stormwatch: ignore[")?.1;
    let (ids, reason) = rest.split_once(']')?;
    if !ids
        .split(',')
        .any(|id| id.trim().eq_ignore_ascii_case(rule))
    {
        return None;
    }
    let reason = reason.trim();
    Some(if reason.is_empty() {
        Err(())
    } else {
        Ok(reason.to_string())
    })
}
