//! The Tornado configuration audit: parses a repository's Python with a real parser,
//! follows how settings reach `tornado.web.Application`, and applies the [`rules`].

use rayon::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use stormwatch_findings::{
    Audit, ConfigFinding, Detail, Finding, Location, Notice, Suppression, SuppressionKind,
    TraceStep,
};
use stormwatch_manifest::text::{LineIndex, MAX_INPUT_BYTES};

mod bindings;
mod boolops;
mod call_args;
mod calls;
mod classes;
mod cookies;
mod data_files;
mod deploy_paths;
mod dict_writes;
mod engine;
mod env_prefix;
mod environ;
mod eval;
mod imports;
mod option_writes;
pub mod roles;
mod routes;
pub mod rules;
mod sites;
mod source;
mod summary;
mod templates;
pub mod undetermined;
mod unpack;
mod value;
mod vendored;
mod walk;

pub use source::{python_files, SkippedFile};

/// What a configuration audit found.
#[derive(Debug, Default)]
pub struct ConfigAudit {
    pub findings: Vec<Finding>,
    /// Deployment files read, with their kind and whether they are for development.
    pub deployment_files: Vec<(String, &'static str, bool)>,
    /// Files that could not be read or parsed (reported, not fatal).
    pub skipped: Vec<SkippedFile>,
    /// Other things the user should know, with their place (e.g. a suppression comment
    /// without a reason, which is not honoured).
    pub warnings: Vec<SkippedFile>,
    pub files: usize,
    pub lines: usize,
    /// Where a `tornado.web.Application` is constructed (file relative to the root, line).
    pub applications: Vec<(String, usize)>,
    /// Settings that could not be determined: (setting, file, line, why).
    pub undetermined: Vec<undetermined::Undetermined>,
}

impl ConfigAudit {
    /// Whether there was anything to audit: Python code, deployment files, or files that
    /// could not be read.
    pub fn found_anything(&self) -> bool {
        self.files > 0 || !self.skipped.is_empty() || !self.deployment_files.is_empty()
    }

    /// The audit in the shape every report is built from: what was read, the files that
    /// could not be analysed (incomplete), warnings and which deployment files were taken
    /// for the other environment (notices).
    ///
    /// Paths in the audit are relative to the scanned root; `root` is joined in front of
    /// them so that they read like the dependency audit's (relative to where stormwatch
    /// runs). Fingerprints keep the root-relative path: they do not change with the
    /// directory stormwatch is started from.
    pub fn into_audit(mut self, target: rules::Target, root: &Path) -> Audit {
        // A single file was audited relative to its directory.
        let root = match root.parent() {
            Some(dir) if root.is_file() => dir,
            _ => root,
        };
        let rebase = |file: &mut String| {
            if root != Path::new(".") && Path::new(file.as_str()).is_relative() {
                *file = display(&root.join(file.as_str()));
            }
        };
        for f in &mut self.findings {
            rebase(&mut f.location.file);
            if let Detail::Config(c) = &mut f.detail {
                for step in &mut c.trace {
                    rebase(&mut step.location.file);
                }
            }
        }
        for s in self.skipped.iter_mut().chain(self.warnings.iter_mut()) {
            if s.path.is_relative() && root != Path::new(".") {
                s.path = root.join(&s.path);
            }
        }
        for (path, _, _) in &mut self.deployment_files {
            rebase(path);
        }
        for (path, _) in &mut self.applications {
            rebase(path);
        }
        for u in &mut self.undetermined {
            rebase(&mut u.file);
        }
        let (incomplete, undetermined) = undetermined::notices(&self.undetermined);
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let inputs = vec![format!(
            "{} ({}) and {}",
            plural(self.files, "Python file"),
            plural(self.lines, "line"),
            plural(self.deployment_files.len(), "deployment file")
        )];
        let (other, production) = match target {
            rules::Target::Production => ("development", true),
            rules::Target::Development => ("production", false),
        };
        let off_target: Vec<&str> = self
            .deployment_files
            .iter()
            .filter(|(_, _, dev)| *dev == production)
            .map(|(p, _, _)| p.as_str())
            .collect();
        let notice =
            |s: &SkippedFile| Notice::at(Location::new(display(&s.path), s.line), &s.message);
        let mut notices: Vec<Notice> = self.warnings.iter().map(notice).collect();
        if !off_target.is_empty() {
            notices.push(Notice::new(format!(
                "treated as {other} files (findings there are info only): {}",
                off_target.join(", ")
            )));
        }
        let deployment_files = self
            .deployment_files
            .iter()
            .map(|(p, _, _)| p.clone())
            .collect();
        Audit {
            deployment_files,
            incomplete: self.skipped.iter().map(notice).chain(incomplete).collect(),
            undetermined,
            findings: self.findings,
            inputs,
            notices,
            applications: self
                .applications
                .into_iter()
                .map(|(file, line)| Location::new(file, line))
                .collect(),
            ..Audit::default()
        }
    }
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

/// Source bytes whose syntax trees are kept from the first parse until their group is
/// analysed; past it, a tree is parsed again when its group comes (a tree takes about fifteen
/// bytes per byte of text, so this keeps a small repository to one parse and a huge one under
/// a fixed amount of memory: 2 MiB of text is about 30 MiB of trees, alive beside every
/// group; re-parsing what is past it costs less than a tenth of a second).
const RETAINED_SOURCE_BYTES: usize = 2 << 20;

/// A file after the first parse: its text, its summary, and maybe its syntax tree.
struct Loaded {
    source: Arc<source::Source>,
    summary: summary::Summary,
    ast: Mutex<Option<ruff_python_ast::ModModule>>,
}

/// Parses and summarises files in parallel, keeping trees within the budget.
fn load(sources: Vec<source::Source>, retained: &AtomicUsize) -> (Vec<Loaded>, Vec<SkippedFile>) {
    let results: Vec<Result<Loaded, SkippedFile>> = sources
        .into_par_iter()
        .map(|s| {
            let file = source::parse(Arc::new(s))?;
            let summary = summary::Summary::of(&file);
            let size = file.text.len();
            let keep = retained.fetch_add(size, Ordering::Relaxed) + size <= RETAINED_SOURCE_BYTES;
            if !keep {
                retained.fetch_sub(size, Ordering::Relaxed);
            }
            let source::PyFile { source, ast } = file;
            Ok(Loaded {
                source,
                summary,
                ast: Mutex::new(keep.then_some(ast)),
            })
        })
        .collect();
    source::split(results)
}

/// Audits every Python file under `root` (or the single file `root`).
pub fn audit(root: &Path, selection: &Selection) -> ConfigAudit {
    // Deployment files are read while the Python is parsed: alone, the scan leaves a core idle.
    let (deployment, (loaded, skipped)) =
        rayon::join(|| stormwatch_deploy::scan(root), || load_python(root));
    analyze(root, selection, &loaded, skipped, deployment)
}

/// Reads and parses the Python files under `root`, and the configuration files they name.
fn load_python(root: &Path) -> (Vec<Loaded>, Vec<SkippedFile>) {
    let paths = source::python_files(root);
    let (sources, mut skipped) = source::read_all(root, &paths);
    let retained = AtomicUsize::new(0);
    let (mut loaded, bad) = load(sources, &retained);
    skipped.extend(bad);
    let config_paths = {
        let known: HashSet<&Path> = loaded.iter().map(|l| l.source.path.as_path()).collect();
        let callers = loaded
            .iter()
            .filter(|l| !l.summary.config_literals.is_empty())
            .map(|l| {
                (
                    l.source.path.as_path(),
                    l.summary.config_literals.as_slice(),
                )
            });
        source::config_files(root, &known, callers)
    };
    if !config_paths.is_empty() {
        let (sources, bad) = source::read_all(root, &config_paths);
        skipped.extend(bad);
        let (more, bad) = load(sources, &retained);
        skipped.extend(bad);
        loaded.extend(more);
    }
    (loaded, skipped)
}

/// What the analysis of one group of files found.
struct GroupResult {
    hits: Vec<rules::Hit>,
    apps: Vec<engine::AppSite>,
    options: Vec<String>,
    command_line_options: bool,
}

/// Parses (or takes the kept trees of) one group of files, analyses it and frees the trees.
fn analyse_group(
    group: &[usize],
    loaded: &[Loaded],
    sources: &[&source::Source],
    roles: &roles::Roles,
    deployed_env: &HashSet<&str>,
) -> GroupResult {
    let files: Vec<source::PyFile> = group
        .par_iter()
        .filter_map(|&i| {
            let l = &loaded[i];
            let kept = l.ast.lock().ok().and_then(|mut a| a.take());
            match kept {
                Some(ast) => Some(source::PyFile {
                    source: l.source.clone(),
                    ast,
                }),
                // It parsed the first time: the same text parses again.
                None => source::parse(l.source.clone()).ok(),
            }
        })
        .collect();
    let mut project = engine::Project::new(&files, sources);
    project.apply_env_prefix_writes(deployed_env);
    let (apps, calls) = project.sites();
    let hits = rules::check(&project, &apps, &calls, roles);
    let result = GroupResult {
        hits,
        apps,
        options: project.option_names(),
        command_line_options: project.command_line_options,
    };
    drop((project, calls));
    // Freeing a large group's trees takes as long as analysing it: on every core.
    files.into_par_iter().for_each(drop);
    result
}

fn analyze(
    root: &Path,
    selection: &Selection,
    loaded: &[Loaded],
    skipped: Vec<SkippedFile>,
    deployment: stormwatch_deploy::Deployment,
) -> ConfigAudit {
    // Paths are reported relative to the scanned directory, as the user named it.
    let base = if root.is_dir() {
        root
    } else {
        root.parent().unwrap_or(Path::new(""))
    };
    let sources: Vec<&source::Source> = loaded.iter().map(|l| &*l.source).collect();
    let summaries: Vec<&summary::Summary> = loaded.iter().map(|l| &l.summary).collect();
    let lines = sources.par_iter().map(|f| f.text.lines().count()).sum();
    let rels: Vec<&Path> = sources.iter().map(|f| f.rel.as_path()).collect();
    // Scripts named by their path in the image (`/srv/server.py`) are linked to the file.
    let rel_set: std::collections::HashSet<&Path> = rels.iter().copied().collect();
    let started: Vec<Vec<String>> = deployment
        .commands
        .iter()
        .filter(|c| !roles::deploys_a_demo(c.file.strip_prefix(base).unwrap_or(&c.file)))
        .map(|c| deploy_paths::resolved_args(c, base, &rel_set))
        .collect();
    let mut roles = roles::Roles::new(
        &rels,
        started
            .iter()
            .map(|c| c.iter().map(String::as_str).collect()),
    );
    if root.is_dir() {
        let literals = sources
            .iter()
            .zip(&summaries)
            .filter(|(_, s)| !s.sys_path.is_empty())
            .map(|(f, s)| (f.rel.as_path(), s.sys_path.as_slice()));
        let sys_path = vendored::sys_path_dirs(&rels, literals);
        roles.add_vendored(vendored::directories(root, &rels, &sys_path));
    }
    // What the project's declared entry points (deployment commands, packaging scripts)
    // reach through imports runs in production, wherever it lives.
    let packaged = if root.is_dir() {
        roles::packaging_entry_points(root)
    } else {
        Vec::new()
    };
    let mut entries: Vec<usize> = sources
        .iter()
        .enumerate()
        .filter(|(_, f)| roles.started_by_deployment(&f.rel, &f.module))
        .map(|(i, _)| i)
        .collect();
    let modules = summary::ModuleIndex::new(&sources);
    entries.extend(packaged.iter().filter_map(|m| modules.first(m)));
    if !entries.is_empty() {
        let reached = summary::reachable(&summaries, &modules, &entries);
        roles.set_reached(
            sources
                .iter()
                .zip(reached)
                .filter(|(_, r)| *r)
                .map(|(f, _)| f.rel.clone()),
        );
    }
    // Each group of files that can reach each other is analysed on its own, so that only
    // the syntax trees of the groups in progress are alive.
    let library: Vec<Option<PathBuf>> = sources.iter().map(|f| roles.library(&f.rel)).collect();
    let groups = summary::components(&sources, &summaries, &modules, &library);
    drop(library);
    let deployed_env: HashSet<&str> = deployment.env.iter().map(|e| e.var.as_str()).collect();
    let results: Vec<GroupResult> = groups
        .par_iter()
        .map(|g| analyse_group(g, loaded, &sources, &roles, &deployed_env))
        .collect();
    let mut facts = rules::Facts::default();
    let mut hits = Vec::new();
    let mut apps = Vec::new();
    for r in results {
        hits.extend(r.hits);
        apps.extend(r.apps);
        facts.options.extend(r.options);
        facts.command_line_options |= r.command_line_options;
    }
    hits.extend(rules::check_deployment(
        &facts,
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
    let mut applications: Vec<(String, usize)> = apps
        .iter()
        .map(|a| {
            (
                display(a.path.strip_prefix(base).unwrap_or(&a.path)),
                a.line,
            )
        })
        .collect();
    applications.sort();
    applications.dedup();
    let undetermined = undetermined::of(&apps, |p| display(p.strip_prefix(base).unwrap_or(p)));
    let mut findings: Vec<Finding> = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: std::collections::HashMap<(String, String, usize, usize, String), usize> =
        Default::default();
    let by_path: std::collections::HashMap<&Path, &source::Source> =
        sources.iter().map(|f| (f.path.as_path(), *f)).collect();
    // Deployment and data files a finding points at, read once each for suppression comments.
    let mut other_files: std::collections::HashMap<PathBuf, Option<(LineIndex, String)>> =
        Default::default();
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
            Some(f) => f
                .lines
                .line_text(&f.text, hit.step.line)
                .and_then(|l| suppression(l, hit.rule.id)),
            None => {
                let file = other_files.entry(hit.step.file.clone()).or_insert_with(|| {
                    stormwatch_manifest::text::read_capped(&hit.step.file, MAX_INPUT_BYTES)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .map(|t| (LineIndex::new(&t), t))
                });
                file.as_ref()
                    .and_then(|(lines, t)| lines.line_text(t, hit.step.line))
                    .and_then(|l| suppression(l, hit.rule.id))
            }
        };
        let suppression = match suppression {
            Some(Ok(reason)) => Some(Suppression {
                kind: SuppressionKind::Inline,
                reason,
                expires: None,
                expired: false,
            }),
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
        let path = display(&hit.step.file);
        let column = hit.step.column.max(1);
        // The setting or call the finding is about is what its message names (messages
        // never carry line numbers): edits elsewhere in the file leave it unchanged.
        let parts = ["config", hit.rule.id, path.as_str(), base_message.as_str()];
        let location = Location::new(path.clone(), hit.step.line).with_column(column);
        let detail = Detail::Config(ConfigFinding {
            message: hit.message,
            trace: hit
                .trace
                .iter()
                .filter(|s| s.line > 0)
                .map(|s| TraceStep {
                    location: Location::new(display(&s.file), s.line),
                    note: s.note.clone(),
                })
                .collect(),
        });
        let mut finding = Finding::new(detail, hit.rule.id, hit.severity, location, &parts);
        finding.suppression = suppression;
        // One value feeding several applications is one place to fix: one finding, at the
        // severity of the application where it matters most.
        let key = (
            finding.id.clone(),
            finding.location.file.clone(),
            finding.location.line,
            finding.location.column,
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
            .then_with(|| a.location.file.cmp(&b.location.file))
            .then(a.location.line.cmp(&b.location.line))
            .then_with(|| a.id.cmp(&b.id))
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
        files: sources.len(),
        lines,
        applications,
        undetermined,
    }
}

/// `# stormwatch: ignore[TW001] reason` on the finding's line: `Ok(reason)`, or `Err` when
/// the comment names the rule but gives no reason (not honoured).
fn suppression(src: &str, rule: &str) -> Option<Result<String, ()>> {
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
