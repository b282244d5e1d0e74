//! Choosing and loading the advisory source for an audit.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stormwatch_findings::{DataSource, Notice};
use stormwatch_osv::{bundled::bundled, AdvisorySet, LoadOptions};

use crate::cli::AdvisoryArgs;

/// The advisories an audit runs against, and what to tell the user about them.
pub struct Loaded {
    pub set: AdvisorySet,
    pub data: DataSource,
    pub notices: Vec<Notice>,
}

/// Whether `--db` names an OSV collection (read directly) rather than a database.
pub fn is_osv_source(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    matches!(ext.as_str(), "zip" | "json" | "yaml" | "yml")
}

/// Days between an ISO date (or timestamp) and today, when it parses.
pub fn age_days(date: &str) -> Option<i64> {
    age_days_on(date, time::OffsetDateTime::now_utc().date())
}

/// Days between an ISO date (or timestamp) and `today`, when it parses.
pub fn age_days_on(date: &str, today: time::Date) -> Option<i64> {
    let day = date.get(..10)?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(day, &format).ok()?;
    Some((today - d).whole_days())
}

pub fn describe_age(raw: &str) -> String {
    // Dates come from the advisory data: shown escaped like every other outside text.
    let date = stormwatch_report::escape_controls(raw);
    match age_days(raw) {
        Some(0) => format!("{date}, today"),
        Some(1) => format!("{date}, 1 day ago"),
        Some(n) if n > 0 => format!("{date}, {n} days ago"),
        _ => date.to_string(),
    }
}

/// Days after which advisory data is reported as stale, unless the policy says otherwise.
pub const DEFAULT_MAX_AGE: i64 = 7;

/// When a database was last updated or found current: the last `db update` that reached
/// its sources, else its import.
pub fn last_update(path: &Path, imported_at: &str) -> String {
    let state = stormwatch_db::update::load_state(path);
    [state.updated_at.as_str(), imported_at]
        .into_iter()
        .filter(|s| !s.is_empty())
        .max()
        .unwrap_or_default()
        .to_string()
}

/// Loads the advisories for `packages`: from `--db` (a database or an OSV collection), else
/// from the default database if one exists, always merged with the bundled Tornado set
/// unless `--no-bundled`. A database older than `max_age` days (the policy's, else
/// [`DEFAULT_MAX_AGE`]) is reported as stale.
pub fn load(
    args: &AdvisoryArgs,
    packages: &[&str],
    max_age: Option<i64>,
    today: time::Date,
) -> Result<Loaded> {
    let mut set = AdvisorySet::new();
    let mut notices = Vec::new();
    let bundle = bundled();
    let bundle_count = bundle.advisories.len();
    let explicit = args.db.is_some();
    let db_path: PathBuf = args.db.clone().unwrap_or_else(stormwatch_db::default_path);

    let mut description;
    let mut as_of = None;
    let mut updated = None;
    let mut age = None;
    let mut stale = false;
    let mut source_packages = None;
    if explicit && is_osv_source(&db_path) {
        let loaded = stormwatch_osv::load_path(&db_path, LoadOptions::default())
            .with_context(|| format!("cannot load advisories from {}", db_path.display()))?;
        let wanted: std::collections::HashSet<&str> = packages.iter().copied().collect();
        let mut covered = std::collections::HashSet::new();
        for warning in &loaded.warnings {
            notices.push(Notice::at(
                stormwatch_findings::Location::new(
                    warning.path.display().to_string(),
                    warning.line,
                ),
                &warning.message,
            ));
        }
        for adv in loaded.advisories {
            covered.extend(adv.affected.iter().filter_map(|a| {
                let p = a.package.as_ref()?;
                Some(stormwatch_manifest::normalize_name(&p.name))
            }));
            let relevant = adv.affected.iter().any(|a| {
                a.package.as_ref().is_some_and(|p| {
                    wanted.contains(stormwatch_manifest::normalize_name(&p.name).as_str())
                })
            });
            if relevant {
                set.insert(adv);
            }
        }
        description = format!("OSV records in {}", db_path.display());
        source_packages = Some(covered.len());
    } else if explicit || db_path.is_file() {
        let db = stormwatch_db::Database::open(&db_path)?;
        db.load_for(packages.iter().copied(), &mut set)?;
        let status = db.status()?;
        description = format!(
            "database {} ({} advisories for {} packages)",
            db_path.display(),
            status.advisories,
            status.packages
        );
        as_of = Some(status.newest_modified.get(..10).unwrap_or("").to_string())
            .filter(|s| !s.is_empty());
        let last = last_update(&db_path, &status.imported_at);
        age = age_days_on(&last, today);
        updated = last.get(..10).map(str::to_string);
        let limit = max_age.unwrap_or(DEFAULT_MAX_AGE);
        if let Some(days) = age.filter(|d| *d > limit) {
            stale = true;
            notices.push(Notice {
                location: None,
                message: format!(
                    "the advisory data was last updated {days} days ago (max-age {limit} days): advisories \
                     published since are missing; run `stormwatch db update`"
                ),
            });
        }
    } else {
        description = "bundled Tornado-only set".to_string();
        as_of = Some(bundle.as_of.clone());
        notices.push(Notice {
            location: None,
            message: format!(
                "no advisory database at {}: only Tornado is audited, with the {} advisories built \
                 into stormwatch; run `stormwatch db update` to audit every package",
                db_path.display(),
                bundle_count
            ),
        });
    }
    let bundled_only = !explicit && !db_path.is_file();
    if args.no_bundled {
        if bundled_only {
            anyhow::bail!(
                "--no-bundled leaves no advisories: no database at {} (use --db or `stormwatch db update`)",
                db_path.display()
            );
        }
    } else {
        if !bundled_only {
            let _ = write!(
                description,
                " + bundled Tornado set ({bundle_count} advisories)"
            );
        }
        // Records the source already has are replaced only by newer bundled copies.
        for adv in bundle.advisories {
            set.insert(adv);
        }
    }
    let advisories = set.len();
    // A date later than today is not a fact to print: shown as today, with the claim.
    let today_text = stormwatch_policy::format_date(today);
    let mut claimed_as_of = None;
    if as_of.as_deref().is_some_and(|d| d > today_text.as_str()) {
        claimed_as_of = as_of.replace(today_text.clone());
        notices.push(Notice::new(format!(
            "the advisory data claims to be current as of {}, later than today ({today_text}): \
             shown as today; check the system clock and the data's dates",
            stormwatch_report::escape_controls(claimed_as_of.as_deref().unwrap_or_default())
        )));
    }
    Ok(Loaded {
        set,
        data: DataSource {
            description,
            as_of,
            claimed_as_of,
            advisories,
            updated,
            age_days: age,
            stale,
            tornado_only: !explicit && !db_path.is_file(),
            packages: source_packages,
        },
        notices,
    })
}
