//! `stormwatch db`: import and inspect the advisory database.

use std::time::Instant;

use anyhow::{Context, Result};
use stormwatch_osv::{bundled::bundled, LoadOptions};

use crate::advisories::describe_age;
use crate::cli::DbCommand;

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
            let loaded = stormwatch_osv::load_path(&path, LoadOptions { skip_invalid })
                .with_context(|| {
                    format!(
                        "import aborted; the existing database (if any) at {} is unchanged",
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
            let canonical = path.canonicalize().unwrap_or(path.clone());
            let summary = stormwatch_db::import(
                &loaded,
                &canonical.display().to_string(),
                &dest,
                stormwatch_db::ImportOptions { force },
            )
            .with_context(|| {
                format!(
                    "import refused; the existing database (if any) at {} is unchanged",
                    dest.display()
                )
            })?;
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
                if loaded.invalid.is_empty() {
                    String::new()
                } else {
                    format!("; {} invalid records skipped", loaded.invalid.len())
                }
            );
            Ok(false)
        }
        DbCommand::Status { db } => {
            let path = db.unwrap_or_else(stormwatch_db::default_path);
            let bundle = bundled();
            if path.is_file() {
                let status = stormwatch_db::Database::open(&path)?.status()?;
                say!("Database:     {}", status.path.display());
                say!("Source:       {}", status.source);
                say!("Imported:     {}", describe_age(&status.imported_at));
                say!("Newest data:  {}", describe_age(&status.newest_modified));
                say!(
                    "Advisories:   {} for {} packages ({} withdrawn)",
                    status.advisories,
                    status.packages,
                    status.withdrawn
                );
                say!(
                    "Skipped:      {} records for other ecosystems",
                    status.other_ecosystems
                );
                say!("Size:         {} KiB", status.bytes / 1024);
            } else {
                say!("Database:     none at {}", path.display());
                say!("              run `stormwatch db import PATH` to create one");
            }
            say!(
                "Bundled:      {} Tornado advisories, reviewed {}",
                bundle.advisories.len(),
                describe_age(&bundle.as_of)
            );
            Ok(false)
        }
    }
}
