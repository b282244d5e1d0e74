//! Writing a database. Records stream from their source straight into a private file
//! beside the target, in batched transactions, so memory does not grow with the number of
//! records; the new data is then judged against the database it would replace (by SQL over
//! both files, not by loading either) and renamed into place.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use stormwatch_osv::{Advisory, CompiledAdvisory, Loaded};

use crate::{Changes, Database, DbError, ImportSummary, IMPORTS_KEPT, SCHEMA_VERSION};

/// How careful an import is about what it replaces.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Replace the database even when the new data covers far less than the current one.
    pub force: bool,
    /// Extra `meta` entries to store (e.g. the sources an update fetched).
    pub meta: Vec<(String, String)>,
}

/// What a source held besides the records it handed on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub files: usize,
    pub other_ecosystems: usize,
}

/// An import that keeps fewer than this share of the current advisories, or of the
/// packages that have one, is refused without `force`: a truncated download, the wrong
/// directory or a hostile feed, not a real change.
const SHRINK_LIMIT: f64 = 0.5;

/// A package whose advisories vanishing is refused on its own: the one this tool watches.
const WATCHED_PACKAGE: &str = "tornado";

/// Records written per transaction.
const RECORDS_PER_TRANSACTION: usize = 5000;

/// Temporary files of killed imports older than this are removed by the next import.
const STALE_TEMP_SECS: u64 = 6 * 3600;

/// A sink for records: [`import_with`] hands one to its source.
pub type Put<'a> = dyn FnMut(&Advisory) -> Result<(), DbError> + 'a;

/// Writes the advisories of `loaded` to a new database at `dest` (see [`import_with`]).
pub fn import(
    loaded: &Loaded,
    source: &str,
    dest: &Path,
    options: ImportOptions,
) -> Result<ImportSummary, DbError> {
    import_with(source, dest, options, |put| {
        for adv in &loaded.advisories {
            put(adv)?;
        }
        Ok(Tally {
            files: loaded.files,
            other_ecosystems: loaded.other_ecosystems,
        })
    })
}

/// Writes the records `fill` hands to its sink to a new database at `dest`, atomically
/// replacing any existing file. Refuses to replace a file that is not a stormwatch
/// database, to write a database with no current PyPI advisories, and (unless `force`) to
/// replace the current database with data that drops more than half of its advisories, or
/// of the packages it has advisories for, or every advisory of Tornado.
pub fn import_with(
    source: &str,
    dest: &Path,
    options: ImportOptions,
    fill: impl FnOnce(&mut Put<'_>) -> Result<Tally, DbError>,
) -> Result<ImportSummary, DbError> {
    let refuse = |message: String| DbError::Invalid {
        path: dest.to_path_buf(),
        message,
    };
    crate::update::remove_stale_downloads(dest);
    let mut previous = false;
    if let Ok(meta) = std::fs::symlink_metadata(dest) {
        if !meta.is_file() || meta.len() > 0 {
            Database::open(dest).map_err(|_| {
                refuse(
                    "exists and is not a stormwatch advisory database; refusing to overwrite it \
                     (choose another --db path, or remove the file first)"
                        .into(),
                )
            })?;
            previous = true;
        }
    }
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "advisories.db".into());
    remove_stale_temp_files(dir, &file_name);
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = write_db(source, &tmp, dest, previous, &options, fill).and_then(|summary| {
        std::fs::rename(&tmp, dest).map_err(|source| DbError::Io {
            path: dest.to_path_buf(),
            source,
        })?;
        Ok(summary)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes `.NAME.tmp-PID` files left by imports that were killed: those whose process is
/// gone (where the system says so) or that are older than [`STALE_TEMP_SECS`].
fn remove_stale_temp_files(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let dead =
            proc_fs && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > STALE_TEMP_SECS);
        if dead || old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

const SCHEMA: &str = "PRAGMA journal_mode = OFF;
     PRAGMA synchronous = OFF;
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE advisory (
         id TEXT PRIMARY KEY,
         modified TEXT NOT NULL,
         published TEXT NOT NULL,
         withdrawn INTEGER NOT NULL,
         compiled BLOB NOT NULL
     );
     CREATE TABLE import_log (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, source TEXT NOT NULL);
     CREATE TABLE change (seq INTEGER NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL);
     -- Full records live apart: audits read only the small compiled form, and SQLite
     -- would otherwise walk each large record's overflow pages to reach it.
     CREATE TABLE record (id TEXT PRIMARY KEY, json TEXT NOT NULL);
     CREATE TABLE affected (package TEXT NOT NULL, advisory_id TEXT NOT NULL);
     -- A later copy of a record replaces the earlier one's rows.
     CREATE INDEX affected_advisory ON affected(advisory_id);";

/// Inserts one record; of two with the same id (e.g. a JSON and a YAML copy) the newest
/// wins, the first on a tie.
fn insert(conn: &Connection, adv: &Advisory) -> rusqlite::Result<()> {
    let modified = adv.modified.clone().unwrap_or_default();
    let known: Option<String> = conn
        .prepare_cached("SELECT modified FROM advisory WHERE id = ?1")?
        .query_row([&adv.id], |r| r.get(0))
        .optional()?;
    match known {
        Some(m) if modified <= m => return Ok(()),
        Some(_) => {
            conn.prepare_cached("DELETE FROM affected WHERE advisory_id = ?1")?
                .execute([&adv.id])?;
        }
        None => {}
    }
    let compiled = CompiledAdvisory::from_advisory(adv);
    let record = serde_json::to_string(adv).expect("advisories serialize");
    let compiled_bytes = postcard::to_stdvec(&compiled).expect("advisories serialize");
    conn.prepare_cached(
        "INSERT OR REPLACE INTO advisory (id, modified, published, withdrawn, compiled)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        adv.id,
        modified,
        adv.published.as_deref().unwrap_or_default(),
        adv.is_withdrawn() as i64,
        compiled_bytes
    ])?;
    conn.prepare_cached("INSERT OR REPLACE INTO record (id, json) VALUES (?1, ?2)")?
        .execute(params![adv.id, record])?;
    let mut names: Vec<&str> = compiled.packages().collect();
    names.sort_unstable();
    names.dedup();
    let mut ins =
        conn.prepare_cached("INSERT INTO affected (package, advisory_id) VALUES (?1, ?2)")?;
    for name in names {
        ins.execute(params![name, adv.id])?;
    }
    Ok(())
}

fn count(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n as usize)
}

fn ids(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Current (not withdrawn) advisories per package, in database `db`.
fn covered(db: &str) -> String {
    format!(
        "SELECT DISTINCT f.package FROM {db}.affected f JOIN {db}.advisory a ON a.id = f.advisory_id
         WHERE a.withdrawn = 0"
    )
}

/// Why the new data (`main`) may not replace the current database (`prev`), if it may not.
fn shrinks(conn: &Connection, current: usize) -> rusqlite::Result<Option<String>> {
    let before = count(
        conn,
        "SELECT COUNT(*) FROM prev.advisory WHERE withdrawn = 0",
    )?;
    if (current as f64) < before as f64 * SHRINK_LIMIT {
        return Ok(Some(format!(
            "the new data holds {current} current advisories, fewer than half of the {before} \
             in the existing database"
        )));
    }
    let lost_sql = format!(
        "{} AND NOT EXISTS (SELECT 1 FROM main.affected g JOIN main.advisory b
         ON b.id = g.advisory_id WHERE g.package = f.package AND b.withdrawn = 0)",
        covered("prev")
    );
    let packages = count(conn, &format!("SELECT COUNT(*) FROM ({})", covered("prev")))?;
    let lost = count(conn, &format!("SELECT COUNT(*) FROM ({lost_sql})"))?;
    let watched_lost = conn
        .query_row(
            &format!("SELECT 1 FROM ({lost_sql}) WHERE package = ?1"),
            [WATCHED_PACKAGE],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if (lost as f64) <= packages as f64 * SHRINK_LIMIT && !watched_lost {
        return Ok(None);
    }
    let mut examples = ids(
        conn,
        &format!("SELECT package FROM ({lost_sql}) ORDER BY package LIMIT 5"),
    )?;
    if watched_lost && !examples.iter().any(|p| p == WATCHED_PACKAGE) {
        examples.insert(0, WATCHED_PACKAGE.to_string());
    }
    Ok(Some(format!(
        "{lost} of the {packages} packages with advisories in the existing database would have \
         none (e.g. {})",
        examples.join(", ")
    )))
}

fn write_db(
    source: &str,
    path: &Path,
    dest: &Path,
    previous: bool,
    options: &ImportOptions,
    fill: impl FnOnce(&mut Put<'_>) -> Result<Tally, DbError>,
) -> Result<ImportSummary, DbError> {
    let e = DbError::sqlite(path);
    let conn = Connection::open(path).map_err(&e)?;
    // The file is private until renamed into place, so durability is only needed at the end.
    conn.execute_batch(SCHEMA).map_err(&e)?;
    conn.execute_batch("BEGIN").map_err(&e)?;
    let mut pending = 0usize;
    let tally = fill(&mut |adv| {
        insert(&conn, adv).map_err(&e)?;
        pending += 1;
        if pending >= RECORDS_PER_TRANSACTION {
            conn.execute_batch("COMMIT; BEGIN").map_err(&e)?;
            pending = 0;
        }
        Ok(())
    })?;
    conn.execute_batch(
        "COMMIT;
         CREATE INDEX affected_package ON affected(package);",
    )
    .map_err(&e)?;

    let current = count(&conn, "SELECT COUNT(*) FROM advisory WHERE withdrawn = 0").map_err(&e)?;
    let withdrawn =
        count(&conn, "SELECT COUNT(*) FROM advisory WHERE withdrawn = 1").map_err(&e)?;
    if current == 0 {
        return Err(DbError::Invalid {
            path: dest.to_path_buf(),
            message: format!(
                "{source} holds no current PyPI advisories ({} files read, {withdrawn} withdrawn, \
                 {} for other ecosystems); nothing imported, the existing database is unchanged",
                tally.files, tally.other_ecosystems
            ),
        });
    }
    let mut seq = 1;
    let changes = if previous {
        conn.execute("ATTACH DATABASE ?1 AS prev", [dest.to_string_lossy()])
            .map_err(&e)?;
        if !options.force {
            if let Some(why) = shrinks(&conn, current).map_err(&e)? {
                return Err(DbError::Invalid {
                    path: dest.to_path_buf(),
                    message: format!(
                        "{why}; refusing to replace it (a truncated download, the wrong \
                         directory or the wrong feed?). Use --force if this is intended"
                    ),
                });
            }
        }
        let changes = Changes {
            new: ids(
                &conn,
                "SELECT id FROM main.advisory n WHERE withdrawn = 0
                 AND NOT EXISTS (SELECT 1 FROM prev.advisory o WHERE o.id = n.id) ORDER BY id",
            )
            .map_err(&e)?,
            modified: ids(
                &conn,
                "SELECT n.id FROM main.advisory n JOIN prev.advisory o ON o.id = n.id
                 WHERE o.modified != n.modified AND NOT (o.withdrawn = 0 AND n.withdrawn = 1)
                 ORDER BY n.id",
            )
            .map_err(&e)?,
            withdrawn: ids(
                &conn,
                "SELECT n.id FROM main.advisory n JOIN prev.advisory o ON o.id = n.id
                 WHERE o.withdrawn = 0 AND n.withdrawn = 1 ORDER BY n.id",
            )
            .map_err(&e)?,
            removed: ids(
                &conn,
                "SELECT id FROM prev.advisory o
                 WHERE NOT EXISTS (SELECT 1 FROM main.advisory n WHERE n.id = o.id) ORDER BY id",
            )
            .map_err(&e)?,
        };
        // Earlier imports' records are carried over, the oldest dropped past IMPORTS_KEPT.
        seq = conn
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM prev.import_log",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(&e)?;
        conn.execute(
            "INSERT INTO main.import_log SELECT seq, at, source FROM prev.import_log WHERE seq > ?1",
            [seq - IMPORTS_KEPT],
        )
        .map_err(&e)?;
        conn.execute(
            "INSERT INTO main.change SELECT seq, id, kind FROM prev.change WHERE seq > ?1",
            [seq - IMPORTS_KEPT],
        )
        .map_err(&e)?;
        conn.execute_batch("DETACH DATABASE prev").map_err(&e)?;
        changes
    } else {
        Changes {
            new: ids(
                &conn,
                "SELECT id FROM advisory WHERE withdrawn = 0 ORDER BY id",
            )
            .map_err(&e)?,
            ..Changes::default()
        }
    };
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let advisories = count(&conn, "SELECT COUNT(*) FROM advisory").map_err(&e)?;
    let packages = count(&conn, "SELECT COUNT(DISTINCT package) FROM affected").map_err(&e)?;
    let newest_modified: String = conn
        .query_row(
            "SELECT COALESCE(MAX(modified), '') FROM advisory",
            [],
            |r| r.get(0),
        )
        .map_err(&e)?;
    conn.execute_batch("BEGIN").map_err(&e)?;
    conn.execute(
        "INSERT INTO import_log (seq, at, source) VALUES (?1, ?2, ?3)",
        params![seq, now, source],
    )
    .map_err(&e)?;
    {
        let mut change = conn
            .prepare("INSERT INTO change (seq, id, kind) VALUES (?1, ?2, ?3)")
            .map_err(&e)?;
        for (kind, list) in [
            ("new", &changes.new),
            ("modified", &changes.modified),
            ("withdrawn", &changes.withdrawn),
            ("removed", &changes.removed),
        ] {
            for id in list {
                change.execute(params![seq, id, kind]).map_err(&e)?;
            }
        }
        let mut meta = conn
            .prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")
            .map_err(&e)?;
        for (k, v) in [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("source", source.to_string()),
            ("imported_at", now),
            ("newest_modified", newest_modified),
            ("other_ecosystems", tally.other_ecosystems.to_string()),
            ("files", tally.files.to_string()),
            // Counted here so that every audit does not scan the tables to report them.
            ("advisory_count", advisories.to_string()),
            ("package_count", packages.to_string()),
            ("withdrawn_count", withdrawn.to_string()),
        ] {
            meta.execute(params![k, v]).map_err(&e)?;
        }
        for (k, v) in &options.meta {
            meta.execute(params![k, v]).map_err(&e)?;
        }
    }
    conn.execute_batch(
        "CREATE INDEX change_seq ON change(seq);
         COMMIT;
         PRAGMA synchronous = FULL;
         VACUUM;",
    )
    .map_err(&e)?;
    conn.close().map_err(|(_, err)| e(err))?;
    Ok(ImportSummary {
        advisories,
        packages,
        withdrawn,
        other_ecosystems: tally.other_ecosystems,
        files: tally.files,
        changes,
    })
}
