//! `stormwatch db`: update, import and inspect the advisory database.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use stormwatch_db::update::{Outcome, Source, UpdateOptions, UpdateReport};
use stormwatch_osv::{bundled::bundled, LoadOptions};
use stormwatch_policy::Policy;

use crate::advisories::{age_days, describe_age, last_update, DEFAULT_MAX_AGE};
use crate::cli::{DbCommand, FetchArgs, StatusFormat};

pub fn run(cmd: DbCommand) -> Result<bool> {
    match cmd {
        DbCommand::Import {
            path,
            db,
            skip_invalid,
            force,
        } => {
            let dest = db.unwrap_or_else(stormwatch_db::default_path);
            let start = Instant::now();
            let canonical = path.canonicalize().unwrap_or(path.clone());
            // Records go from the source to the database as they are read, never all held.
            let mut loaded = stormwatch_osv::Loaded::default();
            let summary = stormwatch_db::import_with(
                &canonical.display().to_string(),
                &dest,
                stormwatch_db::ImportOptions {
                    force,
                    ..Default::default()
                },
                |put| {
                    loaded = stormwatch_osv::stream_path(
                        &path,
                        LoadOptions { skip_invalid },
                        &mut |adv| put(&adv),
                    )?;
                    Ok(stormwatch_db::Tally {
                        files: loaded.files,
                        other_ecosystems: loaded.other_ecosystems,
                    })
                },
            )
            .with_context(|| {
                format!(
                    "import refused; the existing database (if any) at {} is unchanged",
                    dest.display()
                )
            })?;
            for err in &loaded.invalid {
                eprintln!(
                    "warning: skipped {}",
                    stormwatch_report::escape_controls(&err.to_string())
                );
            }
            for warning in &loaded.warnings {
                eprintln!(
                    "warning: {}",
                    stormwatch_report::escape_controls(&warning.to_string())
                );
            }
            if loaded.problems_not_kept > 0 {
                eprintln!(
                    "warning: {} more problems not listed",
                    loaded.problems_not_kept
                );
            }
            say!(
                "Imported {} advisories for {} packages from {} files into {} in {:.2}s",
                summary.advisories,
                summary.packages,
                summary.files,
                dest.display(),
                start.elapsed().as_secs_f64()
            );
            say!(
                "  {} withdrawn (kept, never reported); {} records for other ecosystems skipped{}",
                summary.withdrawn,
                summary.other_ecosystems,
                if loaded.invalid_count == 0 {
                    String::new()
                } else {
                    format!("; {} invalid records skipped", loaded.invalid_count)
                }
            );
            Ok(false)
        }
        DbCommand::Update(args) => {
            let policy = stormwatch_policy::discover(Path::new("."), args.config.as_deref())?;
            let dest = args.db.clone().unwrap_or_else(stormwatch_db::default_path);
            let start = Instant::now();
            let report = update(&dest, &args.fetch, policy.as_ref(), !args.quiet)?;
            if !args.quiet {
                print_update(&report, &dest, start.elapsed().as_secs_f64());
            }
            Ok(false)
        }
        DbCommand::Status { db, format, config } => {
            let policy = stormwatch_policy::discover(Path::new("."), config.as_deref())?;
            let path = db.unwrap_or_else(stormwatch_db::default_path);
            let max_age = policy
                .and_then(|p| p.advisories.max_age)
                .unwrap_or(DEFAULT_MAX_AGE);
            let status = status(&path, max_age)?;
            match format {
                StatusFormat::Json => say!(
                    "{}",
                    serde_json::to_string_pretty(&status).expect("status serializes")
                ),
                StatusFormat::Table => print_status(&status),
            }
            Ok(false)
        }
    }
}

/// The sources an update reads: the command line's, else the policy's (local paths relative
/// to the policy file), else the default.
fn sources(fetch: &FetchArgs, policy: Option<&Policy>) -> Vec<Source> {
    if !fetch.sources.is_empty() {
        return fetch.sources.iter().map(|s| Source::parse(s)).collect();
    }
    let Some(policy) = policy.filter(|p| !p.advisories.sources.is_empty()) else {
        return vec![Source::parse("default")];
    };
    let base = policy
        .path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    policy
        .advisories
        .sources
        .iter()
        .map(|s| match Source::parse(s) {
            Source::Path(p) if p.is_relative() => Source::Path(base.join(p)),
            other => other,
        })
        .collect()
}

/// The HTTP client the fetch options ask for (timeouts, attempts, size cap).
pub fn client(fetch: &FetchArgs, progress: bool) -> Result<stormwatch_http::Client> {
    Ok(stormwatch_http::Client::new(stormwatch_http::Options {
        timeout: Duration::from_secs(fetch.timeout.max(1)),
        attempts: fetch.retries,
        max_bytes: fetch.max_download.saturating_mul(1024 * 1024),
        progress,
        deadline: Duration::from_secs(fetch.download_deadline),
        allow_http: fetch.allow_http,
        ..Default::default()
    })?)
}

/// Runs `db update` into `dest`, reporting record problems as warnings.
pub fn update(
    dest: &Path,
    fetch: &FetchArgs,
    policy: Option<&Policy>,
    progress: bool,
) -> Result<UpdateReport> {
    let sources = sources(fetch, policy);
    let client = if fetch.offline {
        None
    } else {
        Some(client(fetch, progress)?)
    };
    let report = stormwatch_db::update::update(
        dest,
        &sources,
        client.as_ref(),
        UpdateOptions {
            offline: fetch.offline,
            force: fetch.force,
            skip_invalid: fetch.skip_invalid,
        },
    )
    .with_context(|| {
        format!(
            "update failed; the advisory database at {} is unchanged",
            dest.display()
        )
    })?;
    for warning in &report.warnings {
        eprintln!("warning: {}", stormwatch_report::escape_controls(warning));
    }
    Ok(report)
}

fn print_update(report: &UpdateReport, dest: &Path, seconds: f64) {
    for s in &report.sources {
        let what = match &s.outcome {
            Outcome::Changed { bytes } => format!("new data ({} KiB)", bytes.div_ceil(1024)),
            Outcome::Unchanged => "unchanged".to_string(),
            Outcome::Offline => "offline: the earlier download was used".to_string(),
        };
        say!("{}: {what}", stormwatch_report::escape_controls(&s.source));
    }
    match &report.imported {
        None => say!(
            "The advisory database at {} is current; nothing to rebuild ({seconds:.2}s)",
            dest.display()
        ),
        Some(summary) => {
            say!(
                "Imported {} advisories for {} packages into {} in {seconds:.2}s",
                summary.advisories,
                summary.packages,
                dest.display()
            );
            let c = &summary.changes;
            say!(
                "  changes: {} new, {} modified, {} withdrawn, {} removed",
                c.new.len(),
                c.modified.len(),
                c.withdrawn.len(),
                c.removed.len()
            );
        }
    }
}

/// Everything `db status` shows.
#[derive(serde::Serialize)]
struct StatusView {
    database: Option<DatabaseView>,
    path: String,
    bundled: BundledView,
}

#[derive(serde::Serialize)]
struct DatabaseView {
    sources: Vec<stormwatch_db::update::SourceState>,
    imported_at: String,
    /// When the data was last updated or found current.
    updated: String,
    age_days: Option<i64>,
    max_age: i64,
    stale: bool,
    newest_modified: String,
    advisories: usize,
    packages: usize,
    withdrawn: usize,
    other_ecosystems: usize,
    bytes: u64,
    recent_changes: Vec<ChangesView>,
}

/// One import's changes, with at most [`IDS_SHOWN`] ids of each kind.
#[derive(serde::Serialize)]
struct ChangesView {
    at: String,
    source: String,
    new: usize,
    modified: usize,
    withdrawn: usize,
    removed: usize,
    ids: stormwatch_db::Changes,
}

const IDS_SHOWN: usize = 50;

impl From<stormwatch_db::ImportRecord> for ChangesView {
    fn from(r: stormwatch_db::ImportRecord) -> Self {
        let c = r.changes;
        let cap = |mut v: Vec<String>| {
            v.truncate(IDS_SHOWN);
            v
        };
        ChangesView {
            at: r.at,
            source: r.source,
            new: c.new.len(),
            modified: c.modified.len(),
            withdrawn: c.withdrawn.len(),
            removed: c.removed.len(),
            ids: stormwatch_db::Changes {
                new: cap(c.new),
                modified: cap(c.modified),
                withdrawn: cap(c.withdrawn),
                removed: cap(c.removed),
            },
        }
    }
}

#[derive(serde::Serialize)]
struct BundledView {
    advisories: usize,
    as_of: String,
    /// A Tornado advisory in the database published after the bundled set was reviewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    newer_in_database: Option<NewerView>,
}

#[derive(serde::Serialize)]
struct NewerView {
    id: String,
    published: String,
}

fn status(path: &Path, max_age: i64) -> Result<StatusView> {
    let bundle = bundled();
    let mut view = StatusView {
        database: None,
        path: path.display().to_string(),
        bundled: BundledView {
            advisories: bundle.advisories.len(),
            as_of: bundle.as_of.clone(),
            newer_in_database: None,
        },
    };
    if !path.is_file() {
        return Ok(view);
    }
    let db = stormwatch_db::Database::open(path)?;
    let status = db.status()?;
    let updated = last_update(path, &status.imported_at);
    let age = age_days(&updated);
    let mut sources = stormwatch_db::update::load_state(path).sources;
    if sources.is_empty() {
        sources.push(stormwatch_db::update::SourceState {
            source: status.source.clone(),
            fetched_at: status.imported_at.clone(),
            ..Default::default()
        });
    }
    if let Some((id, published)) = db.newest_of("tornado")? {
        if published.get(..10).unwrap_or(&published) > bundle.as_of.as_str() {
            view.bundled.newer_in_database = Some(NewerView { id, published });
        }
    }
    view.database = Some(DatabaseView {
        sources,
        imported_at: status.imported_at,
        updated,
        age_days: age,
        max_age,
        stale: age.is_some_and(|d| d > max_age),
        newest_modified: status.newest_modified,
        advisories: status.advisories,
        packages: status.packages,
        withdrawn: status.withdrawn,
        other_ecosystems: status.other_ecosystems,
        bytes: status.bytes,
        recent_changes: db
            .recent_imports(5)?
            .into_iter()
            .map(ChangesView::from)
            .collect(),
    });
    Ok(view)
}

fn print_status(view: &StatusView) {
    match &view.database {
        Some(d) => {
            say!("Database:     {}", view.path);
            for s in &d.sources {
                say!(
                    "Source:       {}",
                    stormwatch_report::escape_controls(&s.source)
                );
                if !s.fetched_at.is_empty() {
                    say!("  fetched     {}", describe_age(&s.fetched_at));
                }
                if !s.checked_at.is_empty() {
                    say!("  checked     {}", describe_age(&s.checked_at));
                }
            }
            say!("Imported:     {}", describe_age(&d.imported_at));
            say!(
                "Updated:      {}{}",
                describe_age(&d.updated),
                if d.stale {
                    format!(
                        " -- STALE (max-age {} days): run `stormwatch db update`",
                        d.max_age
                    )
                } else {
                    String::new()
                }
            );
            say!("Newest data:  {}", describe_age(&d.newest_modified));
            say!(
                "Advisories:   {} for {} packages ({} withdrawn)",
                d.advisories,
                d.packages,
                d.withdrawn
            );
            say!(
                "Skipped:      {} records for other ecosystems",
                d.other_ecosystems
            );
            say!("Size:         {} KiB", d.bytes / 1024);
            for r in &d.recent_changes {
                say!(
                    "Changes {}: {} new, {} modified, {} withdrawn, {} removed",
                    r.at.get(..10).unwrap_or(&r.at),
                    r.new,
                    r.modified,
                    r.withdrawn,
                    r.removed
                );
                for (label, list, total) in [
                    ("new", &r.ids.new, r.new),
                    ("modified", &r.ids.modified, r.modified),
                    ("withdrawn", &r.ids.withdrawn, r.withdrawn),
                    ("removed", &r.ids.removed, r.removed),
                ] {
                    if list.is_empty() {
                        continue;
                    }
                    let shown: Vec<&str> = list.iter().take(5).map(String::as_str).collect();
                    let more = if total > shown.len() {
                        format!(" (+{} more)", total - shown.len())
                    } else {
                        String::new()
                    };
                    say!(
                        "  {label:<10}{}{more}",
                        stormwatch_report::escape_controls(&shown.join(" "))
                    );
                }
            }
        }
        None => {
            say!("Database:     none at {}", view.path);
            say!("              run `stormwatch db update` to create one");
        }
    }
    say!(
        "Bundled:      {} Tornado advisories, reviewed {}",
        view.bundled.advisories,
        describe_age(&view.bundled.as_of)
    );
    if let Some(n) = &view.bundled.newer_in_database {
        say!(
            "              older than the newest Tornado advisory in the database ({}, published {}): the \
             bundled set alone would miss it",
            stormwatch_report::escape_controls(&n.id),
            stormwatch_report::escape_controls(n.published.get(..10).unwrap_or(&n.published))
        );
    }
}
