//! The local advisory database.
//!
//! A single SQLite file holds every imported advisory as its OSV JSON, plus an index from
//! PEP 503 package name to advisory id, so an audit reads only the advisories of the
//! packages it has. Imports build a fresh file beside the target and rename it into place:
//! readers never see a half-written database, and a failed import leaves the previous one
//! untouched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::sync::Arc;

use stormwatch_osv::{Advisory, AdvisorySet, CompiledAdvisory, Loaded};

pub mod update;

/// Bumped whenever the table layout changes; older files must be re-imported.
/// 2: compiled advisories carry their publication date.
/// 3: publication dates in their own column; each import's changes are recorded.
pub const SCHEMA_VERSION: i64 = 3;

/// The environment variable that overrides the default database location.
pub const DB_ENV: &str = "STORMWATCH_DB";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: database error: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DbError {
    fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> DbError + '_ {
        move |source| DbError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where the database lives when neither `--db` nor `STORMWATCH_DB` says otherwise:
/// the platform data directory (`~/.local/share/stormwatch/advisories.db` on Linux).
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os(DB_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("stormwatch")
        .join("advisories.db")
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub advisories: usize,
    pub packages: usize,
    pub withdrawn: usize,
    pub other_ecosystems: usize,
    pub files: usize,
    /// What changed against the database it replaced (everything is new on a first import).
    pub changes: Changes,
}

/// The advisory ids an import added, changed, withdrew or dropped, against the database
/// it replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Changes {
    pub new: Vec<String>,
    pub modified: Vec<String>,
    pub withdrawn: Vec<String>,
    /// In the old database, absent from the new data.
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.new.is_empty()
            && self.modified.is_empty()
            && self.withdrawn.is_empty()
            && self.removed.is_empty()
    }
}

/// One recorded import: when, from where, and what it changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportRecord {
    pub at: String,
    pub source: String,
    pub changes: Changes,
}

/// Imports remembered in a database (each new one carries the older ones over).
const IMPORTS_KEPT: i64 = 30;

/// Metadata shown by `stormwatch db status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub path: PathBuf,
    pub source: String,
    pub imported_at: String,
    /// The most recent `modified` timestamp among the advisories: how fresh the data is.
    pub newest_modified: String,
    pub advisories: usize,
    pub packages: usize,
    pub withdrawn: usize,
    pub other_ecosystems: usize,
    pub bytes: u64,
}

/// How careful an import is about what it replaces.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Replace the database even when the new data holds far fewer advisories.
    pub force: bool,
    /// Extra `meta` entries to store (e.g. the sources an update fetched).
    pub meta: Vec<(String, String)>,
}

/// An import that yields fewer than this share of the current database's advisories is
/// refused without `force`: a truncated download or the wrong directory, not a real change.
const SHRINK_LIMIT: f64 = 0.5;

/// Temporary files of killed imports older than this are removed by the next import.
const STALE_TEMP_SECS: u64 = 6 * 3600;

/// Writes `loaded` to a new database at `dest`, atomically replacing any existing file.
/// Refuses to replace a file that is not a stormwatch database, to write a database with no
/// current PyPI advisories, and (unless `force`) to shrink the current database to less
/// than half its advisories.
pub fn import(
    loaded: &Loaded,
    source: &str,
    dest: &Path,
    options: ImportOptions,
) -> Result<ImportSummary, DbError> {
    let refuse = |message: String| DbError::Invalid {
        path: dest.to_path_buf(),
        message,
    };
    let current = loaded
        .advisories
        .iter()
        .filter(|a| !a.is_withdrawn())
        .count();
    if current == 0 {
        return Err(refuse(format!(
            "{source} holds no current PyPI advisories ({} files read, {} withdrawn, {} for other \
             ecosystems); nothing imported, the existing database is unchanged",
            loaded.files, loaded.withdrawn, loaded.other_ecosystems
        )));
    }
    let mut previous = None;
    if let Ok(meta) = std::fs::symlink_metadata(dest) {
        if !meta.is_file() || meta.len() > 0 {
            let existing = Database::open(dest).map_err(|_| {
                refuse(
                    "exists and is not a stormwatch advisory database; refusing to overwrite it \
                     (choose another --db path, or remove the file first)"
                        .into(),
                )
            })?;
            let before = existing
                .status()
                .map(|s| s.advisories.saturating_sub(s.withdrawn))
                .unwrap_or(0);
            previous = existing.previous().ok();
            drop(existing);
            if !options.force && (current as f64) < before as f64 * SHRINK_LIMIT {
                return Err(refuse(format!(
                    "the import holds {current} current advisories, fewer than half of the \
                     {before} in the existing database; refusing to replace it (a truncated \
                     download or the wrong directory?). Use --force if this is intended"
                )));
            }
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
    let result = write_db(loaded, source, &tmp, &options, previous).and_then(|summary| {
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

/// What an import needs from the database it replaces.
struct Previous {
    /// id -> (modified, withdrawn)
    advisories: HashMap<String, (String, bool)>,
    imports: Vec<(i64, ImportRecord)>,
}

fn changes_against(previous: Option<&Previous>, newest: &HashMap<&str, &Advisory>) -> Changes {
    let mut changes = Changes::default();
    let empty = HashMap::new();
    let old = previous.map_or(&empty, |p| &p.advisories);
    for (id, adv) in newest {
        let modified = adv.modified.as_deref().unwrap_or_default();
        match old.get(*id) {
            None if adv.is_withdrawn() => {}
            None => changes.new.push(id.to_string()),
            Some((_, false)) if adv.is_withdrawn() => changes.withdrawn.push(id.to_string()),
            Some((m, _)) if m != modified => changes.modified.push(id.to_string()),
            Some(_) => {}
        }
    }
    changes.removed = old
        .keys()
        .filter(|id| !newest.contains_key(id.as_str()))
        .cloned()
        .collect();
    for list in [
        &mut changes.new,
        &mut changes.modified,
        &mut changes.withdrawn,
        &mut changes.removed,
    ] {
        list.sort_unstable();
    }
    changes
}

fn write_db(
    loaded: &Loaded,
    source: &str,
    path: &Path,
    options: &ImportOptions,
    previous: Option<Previous>,
) -> Result<ImportSummary, DbError> {
    let e = DbError::sqlite(path);
    let mut conn = Connection::open(path).map_err(&e)?;
    // The file is private until renamed into place, so durability is only needed at the end.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
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
         CREATE TABLE affected (package TEXT NOT NULL, advisory_id TEXT NOT NULL);",
    )
    .map_err(&e)?;

    // The same id may appear twice (e.g. a JSON and a YAML copy); the newest record wins.
    let mut newest: HashMap<&str, &Advisory> = HashMap::new();
    for adv in &loaded.advisories {
        let keep = match newest.get(adv.id.as_str()) {
            Some(old) => adv.modified > old.modified,
            None => true,
        };
        if keep {
            newest.insert(&adv.id, adv);
        }
    }
    let mut ids: Vec<&str> = newest.keys().copied().collect();
    ids.sort_unstable();
    let changes = changes_against(previous.as_ref(), &newest);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();

    let tx = conn.transaction().map_err(&e)?;
    let mut packages = std::collections::HashSet::new();
    let mut withdrawn = 0;
    let mut newest_modified = String::new();
    {
        let mut ins_adv = tx
            .prepare(
                "INSERT INTO advisory (id, modified, published, withdrawn, compiled)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(&e)?;
        let mut ins_rec = tx
            .prepare("INSERT INTO record (id, json) VALUES (?1, ?2)")
            .map_err(&e)?;
        let mut ins_aff = tx
            .prepare("INSERT INTO affected (package, advisory_id) VALUES (?1, ?2)")
            .map_err(&e)?;
        for id in ids {
            let adv = newest[id];
            let compiled = CompiledAdvisory::from_advisory(adv);
            let record = serde_json::to_string(adv).expect("advisories serialize");
            let compiled_bytes = postcard::to_stdvec(&compiled).expect("advisories serialize");
            let modified = adv.modified.clone().unwrap_or_default();
            if modified > newest_modified {
                newest_modified = modified.clone();
            }
            if adv.is_withdrawn() {
                withdrawn += 1;
            }
            ins_adv
                .execute(params![
                    id,
                    modified,
                    adv.published.as_deref().unwrap_or_default(),
                    adv.is_withdrawn() as i64,
                    compiled_bytes
                ])
                .map_err(&e)?;
            ins_rec.execute(params![id, record]).map_err(&e)?;
            let mut names: Vec<&str> = compiled.packages().collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                packages.insert(name.to_string());
                ins_aff.execute(params![name, id]).map_err(&e)?;
            }
        }
        let mut log = tx
            .prepare("INSERT INTO import_log (seq, at, source) VALUES (?1, ?2, ?3)")
            .map_err(&e)?;
        let mut change = tx
            .prepare("INSERT INTO change (seq, id, kind) VALUES (?1, ?2, ?3)")
            .map_err(&e)?;
        let mut records = previous.map(|p| p.imports).unwrap_or_default();
        let seq = records.last().map_or(1, |(seq, _)| seq + 1);
        records.push((
            seq,
            ImportRecord {
                at: now.clone(),
                source: source.to_string(),
                changes: changes.clone(),
            },
        ));
        let skip = records.len().saturating_sub(IMPORTS_KEPT as usize);
        for (seq, record) in records.iter().skip(skip) {
            log.execute(params![seq, record.at, record.source])
                .map_err(&e)?;
            for (kind, ids) in [
                ("new", &record.changes.new),
                ("modified", &record.changes.modified),
                ("withdrawn", &record.changes.withdrawn),
                ("removed", &record.changes.removed),
            ] {
                for id in ids {
                    change.execute(params![seq, id, kind]).map_err(&e)?;
                }
            }
        }
        let mut meta = tx
            .prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")
            .map_err(&e)?;
        for (k, v) in [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("source", source.to_string()),
            ("imported_at", now),
            ("newest_modified", newest_modified.clone()),
            ("other_ecosystems", loaded.other_ecosystems.to_string()),
            ("files", loaded.files.to_string()),
            // Counted here so that every audit does not scan the tables to report them.
            ("advisory_count", newest.len().to_string()),
            ("package_count", packages.len().to_string()),
            ("withdrawn_count", withdrawn.to_string()),
        ] {
            meta.execute(params![k, v]).map_err(&e)?;
        }
        for (k, v) in &options.meta {
            meta.execute(params![k, v]).map_err(&e)?;
        }
    }
    tx.execute_batch(
        "CREATE INDEX affected_package ON affected(package);
         CREATE INDEX change_seq ON change(seq);",
    )
    .map_err(&e)?;
    tx.commit().map_err(&e)?;
    conn.execute_batch("PRAGMA synchronous = FULL; VACUUM;")
        .map_err(&e)?;
    conn.close().map_err(|(_, err)| e(err))?;
    Ok(ImportSummary {
        advisories: newest.len(),
        packages: packages.len(),
        withdrawn,
        other_ecosystems: loaded.other_ecosystems,
        files: loaded.files,
        changes,
    })
}

/// A read-only connection. Reads go through a memory map instead of one pread per page (and
/// so need no large page cache of their own).
fn connect(path: &Path) -> Result<Connection, DbError> {
    let e = DbError::sqlite(path);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(&e)?;
    conn.execute_batch("PRAGMA mmap_size = 268435456;")
        .map_err(&e)?;
    Ok(conn)
}

fn decode(path: &Path, bytes: &[u8]) -> Result<CompiledAdvisory, DbError> {
    postcard::from_bytes(bytes).map_err(|err| DbError::Invalid {
        path: path.to_path_buf(),
        message: format!("corrupt advisory record: {err}; re-import the database"),
    })
}

/// Decodes the compiled advisories of `packages` into `sink`, each once.
fn load_chunk(
    path: &Path,
    conn: &Connection,
    packages: &[&str],
    sink: &mut dyn FnMut(CompiledAdvisory),
) -> Result<(), DbError> {
    let e = DbError::sqlite(path);
    let mut stmt = conn
        .prepare_cached(
            "SELECT a.id, a.compiled FROM affected f JOIN advisory a ON a.id = f.advisory_id
             WHERE f.package = ?1",
        )
        .map_err(&e)?;
    // One read transaction for all lookups: otherwise each query takes and releases the
    // file lock and checks for a hot journal (several system calls per package).
    conn.execute_batch("BEGIN").map_err(&e)?;
    let mut seen = foldhash::HashSet::default();
    for name in packages {
        let mut rows = stmt.query([name]).map_err(&e)?;
        while let Some(row) = rows.next().map_err(&e)? {
            let id = row
                .get_ref(0)
                .map_err(&e)?
                .as_str()
                .map_err(|err| e(err.into()))?;
            if !seen.insert(id.to_string()) {
                continue;
            }
            let bytes = row
                .get_ref(1)
                .map_err(&e)?
                .as_blob()
                .map_err(|err| e(err.into()))?;
            sink(decode(path, bytes)?);
        }
    }
    drop(stmt);
    conn.execute_batch("COMMIT").map_err(&e)?;
    Ok(())
}

/// Above this many packages, the names the database knows are read first.
const KNOWN_PACKAGES_FIRST: usize = 2000;

/// Below this many packages one connection loads faster than several.
const PARALLEL_LOAD_MIN: usize = 200;

/// A read-only handle on an imported database.
pub struct Database {
    path: PathBuf,
    conn: Connection,
}

impl Database {
    /// Opens an existing database, refusing files that are not stormwatch databases or were
    /// written by an incompatible version.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        if !path.is_file() {
            return Err(DbError::Invalid {
                path: path.to_path_buf(),
                message: "no advisory database here; run `stormwatch db update` (or `stormwatch db import PATH`) first".into(),
            });
        }
        let conn = connect(path)?;
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|_| DbError::Invalid {
                path: path.to_path_buf(),
                message: "not a stormwatch advisory database".into(),
            })?;
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(DbError::Invalid {
                    path: path.to_path_buf(),
                    message: format!(
                        "database schema {v} is not supported by this stormwatch (expects {SCHEMA_VERSION}); re-import it"
                    ),
                })
            }
            None => {
                return Err(DbError::Invalid {
                    path: path.to_path_buf(),
                    message: "not a stormwatch advisory database".into(),
                })
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn meta(&self, key: &str) -> Result<String, DbError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(DbError::sqlite(&self.path))
    }

    pub fn status(&self) -> Result<Status, DbError> {
        let e = DbError::sqlite(&self.path);
        // Counts recorded at import; databases written before they were are counted.
        let count = |key: &str, sql: &str| -> Result<usize, DbError> {
            if let Ok(n) = self.meta(key)?.parse() {
                return Ok(n);
            }
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .map_err(&e)
        };
        Ok(Status {
            path: self.path.clone(),
            source: self.meta("source")?,
            imported_at: self.meta("imported_at")?,
            newest_modified: self.meta("newest_modified")?,
            advisories: count("advisory_count", "SELECT COUNT(*) FROM advisory")?,
            packages: count(
                "package_count",
                "SELECT COUNT(DISTINCT package) FROM affected",
            )?,
            withdrawn: count(
                "withdrawn_count",
                "SELECT COUNT(*) FROM advisory WHERE withdrawn = 1",
            )?,
            other_ecosystems: self.meta("other_ecosystems")?.parse().unwrap_or(0),
            bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
        })
    }

    /// The advisories of the given packages (PEP 503 names), ready for matching. Reads
    /// only the forms compiled at import time. Large package lists are split across one
    /// connection per core: decoding the compiled forms is most of the cost.
    pub fn load_for<'a>(
        &self,
        packages: impl IntoIterator<Item = &'a str>,
        into: &mut AdvisorySet,
    ) -> Result<(), DbError> {
        let mut packages: Vec<&str> = packages.into_iter().collect();
        if packages.len() > KNOWN_PACKAGES_FIRST {
            // Most packages of a large lockfile have no advisory: one scan of the index
            // costs less than a lookup for each of them.
            let known = self.packages()?;
            packages.retain(|p| known.contains(*p));
        }
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(packages.len() / PARALLEL_LOAD_MIN)
            .max(1);
        let mut add = |a: CompiledAdvisory| {
            if into.get(&a.id).is_none() {
                into.insert_compiled(Arc::new(a));
            }
        };
        if threads == 1 {
            return load_chunk(&self.path, &self.conn, &packages, &mut add);
        }
        let path = self.path.as_path();
        let chunk = packages.len().div_ceil(threads);
        // On the shared thread pool (the audit that follows uses it too); a connection is
        // not Sync, so each reader opens its own.
        let loaded: Vec<Result<Vec<CompiledAdvisory>, DbError>> = packages
            .par_chunks(chunk)
            .map(|names| {
                let conn = connect(path)?;
                let mut out = Vec::new();
                load_chunk(path, &conn, names, &mut |a| out.push(a))?;
                Ok(out)
            })
            .collect();
        for part in loaded {
            part?.into_iter().for_each(&mut add);
        }
        Ok(())
    }

    /// Every package (PEP 503 name) that has an advisory.
    pub fn packages(&self) -> Result<foldhash::HashSet<String>, DbError> {
        let e = DbError::sqlite(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT package FROM affected")
            .map_err(&e)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&e)?
            .collect::<Result<_, _>>()
            .map_err(&e)?;
        Ok(names)
    }

    /// Every advisory in the database.
    pub fn load_all(&self, into: &mut AdvisorySet) -> Result<(), DbError> {
        let e = DbError::sqlite(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT compiled FROM advisory")
            .map_err(&e)?;
        let mut rows = stmt.query([]).map_err(&e)?;
        while let Some(row) = rows.next().map_err(&e)? {
            let bytes = row
                .get_ref(0)
                .map_err(&e)?
                .as_blob()
                .map_err(|err| e(err.into()))?;
            into.insert_compiled(Arc::new(decode(&self.path, bytes)?));
        }
        Ok(())
    }

    /// A `meta` value, empty when absent.
    pub fn meta_value(&self, key: &str) -> Result<String, DbError> {
        self.meta(key)
    }

    /// The advisories and import history an import carries over.
    fn previous(&self) -> Result<Previous, DbError> {
        let e = DbError::sqlite(&self.path);
        let mut advisories = HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT id, modified, withdrawn FROM advisory")
            .map_err(&e)?;
        let mut rows = stmt.query([]).map_err(&e)?;
        while let Some(row) = rows.next().map_err(&e)? {
            let id: String = row.get(0).map_err(&e)?;
            let modified: String = row.get(1).map_err(&e)?;
            let withdrawn: i64 = row.get(2).map_err(&e)?;
            advisories.insert(id, (modified, withdrawn != 0));
        }
        Ok(Previous {
            advisories,
            imports: self.imports(IMPORTS_KEPT)?,
        })
    }

    /// The most recent imports, oldest first, with their changes.
    fn imports(&self, limit: i64) -> Result<Vec<(i64, ImportRecord)>, DbError> {
        let e = DbError::sqlite(&self.path);
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, source FROM import_log ORDER BY seq DESC LIMIT ?1")
            .map_err(&e)?;
        let mut out: Vec<(i64, ImportRecord)> = stmt
            .query_map([limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ImportRecord {
                        at: r.get(1)?,
                        source: r.get(2)?,
                        changes: Changes::default(),
                    },
                ))
            })
            .map_err(&e)?
            .collect::<Result<_, _>>()
            .map_err(&e)?;
        out.reverse();
        let mut stmt = self
            .conn
            .prepare("SELECT id, kind FROM change WHERE seq = ?1 ORDER BY id")
            .map_err(&e)?;
        for (seq, record) in &mut out {
            let rows = stmt
                .query_map([*seq], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(&e)?;
            for row in rows {
                let (id, kind) = row.map_err(&e)?;
                let c = &mut record.changes;
                match kind.as_str() {
                    "new" => c.new.push(id),
                    "modified" => c.modified.push(id),
                    "withdrawn" => c.withdrawn.push(id),
                    _ => c.removed.push(id),
                }
            }
        }
        Ok(out)
    }

    /// The last `n` imports, newest first.
    pub fn recent_imports(&self, n: usize) -> Result<Vec<ImportRecord>, DbError> {
        let mut all = self.imports(n as i64)?;
        all.reverse();
        Ok(all.into_iter().map(|(_, r)| r).collect())
    }

    /// The most recently published current advisory of `package`: (id, published).
    pub fn newest_of(&self, package: &str) -> Result<Option<(String, String)>, DbError> {
        self.conn
            .query_row(
                "SELECT a.id, a.published FROM affected f JOIN advisory a ON a.id = f.advisory_id
                 WHERE f.package = ?1 AND a.withdrawn = 0 AND a.published != ''
                 ORDER BY a.published DESC LIMIT 1",
                [package],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(DbError::sqlite(&self.path))
    }

    /// The full OSV record of one advisory, as imported.
    pub fn record(&self, id: &str) -> Result<Option<Advisory>, DbError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT json FROM record WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(DbError::sqlite(&self.path))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|err| DbError::Invalid {
                path: self.path.clone(),
                message: format!("corrupt advisory record: {err}"),
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stormwatch_osv::LoadOptions;

    fn write_vulns(dir: &Path, fixed: &str) {
        std::fs::create_dir_all(dir.join("tornado")).unwrap();
        std::fs::write(
            dir.join("tornado/PYSEC-1.yaml"),
            format!(
                "id: PYSEC-1\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package: {{name: Tornado, ecosystem: PyPI}}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n    - fixed: '{fixed}'\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("tornado/PYSEC-2.yaml"),
            "id: PYSEC-2\nmodified: '2025-05-05T00:00:00Z'\nwithdrawn: '2025-06-01T00:00:00Z'\naffected:\n- package: {name: tornado, ecosystem: PyPI}\n  versions: ['1.0']\n",
        )
        .unwrap();
    }

    #[test]
    fn import_query_status_and_atomic_failure() {
        let dir = tempfile::tempdir().unwrap();
        let vulns = dir.path().join("vulns");
        write_vulns(&vulns, "6.3.2");
        let db_path = dir.path().join("data/advisories.db");
        let loaded = stormwatch_osv::load_path(&vulns, LoadOptions::default()).unwrap();
        let summary = import(&loaded, "test", &db_path, ImportOptions::default()).unwrap();
        assert_eq!(
            summary.changes.new,
            ["PYSEC-1"],
            "withdrawn records are not news"
        );
        assert_eq!(summary.advisories, 2);
        assert_eq!(summary.packages, 1);
        assert_eq!(summary.withdrawn, 1);

        let db = Database::open(&db_path).unwrap();
        let status = db.status().unwrap();
        assert_eq!(status.advisories, 2);
        assert_eq!(status.withdrawn, 1);
        assert_eq!(status.newest_modified, "2025-05-05T00:00:00Z");
        assert_eq!(status.source, "test");
        let mut set = AdvisorySet::new();
        db.load_for(["tornado", "nothing"], &mut set).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(
            set.get("PYSEC-1").unwrap().fixed_versions("tornado")[0].to_string(),
            "6.3.2"
        );
        assert!(set.get("PYSEC-2").unwrap().withdrawn);
        assert_eq!(db.record("PYSEC-1").unwrap().unwrap().id, "PYSEC-1");
        assert!(db.record("NOPE").unwrap().is_none());
        drop(db);

        // A failing import (here: the destination is a directory) leaves the old file.
        let before = std::fs::read(&db_path).unwrap();
        let bad_dest = dir.path().join("data");
        assert!(import(&loaded, "test", &bad_dest, ImportOptions::default()).is_err());
        assert_eq!(std::fs::read(&db_path).unwrap(), before);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
    }

    /// Each import records what changed against the database it replaced, and carries the
    /// older records over.
    #[test]
    fn imports_record_their_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("advisories.db");
        let write = |records: &[(&str, &str, bool)]| {
            let vulns = dir.path().join("v");
            let _ = std::fs::remove_dir_all(&vulns);
            std::fs::create_dir_all(&vulns).unwrap();
            for (id, modified, withdrawn) in records {
                let w = if *withdrawn {
                    ",\"withdrawn\":\"2025-01-01T00:00:00Z\""
                } else {
                    ""
                };
                std::fs::write(
                    vulns.join(format!("{id}.json")),
                    format!("{{\"id\":\"{id}\",\"modified\":\"{modified}\",\"published\":\"2024-0{}-01T00:00:00Z\"{w},\"affected\":[{{\"package\":{{\"name\":\"tornado\",\"ecosystem\":\"PyPI\"}},\"versions\":[\"1.0\"]}}]}}", modified.len() % 9 + 1),
                )
                .unwrap();
            }
            let loaded = stormwatch_osv::load_path(&vulns, LoadOptions::default()).unwrap();
            import(&loaded, "t", &db_path, ImportOptions::default()).unwrap()
        };
        let first = write(&[
            ("A", "2024-01-01", false),
            ("B", "2024-01-01", false),
            ("C", "2024-01-01", false),
        ]);
        assert_eq!(first.changes.new, ["A", "B", "C"]);
        let second = write(&[
            ("A", "2024-01-01", false),
            ("B", "2024-02-02", false),
            ("C", "2024-03-03", true),
            ("D", "2024-01-01", false),
        ]);
        assert_eq!(
            second.changes,
            Changes {
                new: vec!["D".into()],
                modified: vec!["B".into()],
                withdrawn: vec!["C".into()],
                removed: vec![],
            }
        );
        let third = write(&[
            ("A", "2024-01-01", false),
            ("B", "2024-02-02", false),
            ("D", "2024-01-01", false),
        ]);
        assert_eq!(third.changes.removed, ["C"]);
        let db = Database::open(&db_path).unwrap();
        let history = db.recent_imports(10).unwrap();
        assert_eq!(history.len(), 3, "{history:?}");
        assert_eq!(history[0].changes, third.changes);
        assert_eq!(history[1].changes, second.changes);
        assert_eq!(history[2].changes.new, ["A", "B", "C"]);
        assert!(db.newest_of("tornado").unwrap().is_some());
    }

    #[test]
    fn refuses_non_databases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.db");
        std::fs::write(&p, b"hello, not sqlite at all, definitely not").unwrap();
        let err = Database::open(&p).err().unwrap();
        assert!(err.to_string().contains("x.db"), "{err}");
        let err = Database::open(&dir.path().join("missing.db"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("db import"), "{err}");
    }

    /// Large package lists take the parallel path (one connection per core) and, above
    /// KNOWN_PACKAGES_FIRST, the package-list prefilter: the same advisories either way.
    #[test]
    fn large_package_lists_load_the_same_advisories() {
        let dir = tempfile::tempdir().unwrap();
        let vulns = dir.path().join("vulns");
        std::fs::create_dir_all(&vulns).unwrap();
        let n = 3000;
        for i in 0..n {
            // Every 7th advisory also names the next package: shared advisories load once.
            let second = if i % 7 == 0 {
                format!(
                    ",{{\"package\":{{\"name\":\"pkg-{}\",\"ecosystem\":\"PyPI\"}},\"versions\":[\"2.0\"]}}",
                    i + 1
                )
            } else {
                String::new()
            };
            std::fs::write(
                vulns.join(format!("ADV-{i}.json")),
                format!(
                    "{{\"id\":\"ADV-{i}\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{{\"package\":{{\"name\":\"pkg-{i}\",\"ecosystem\":\"PyPI\"}},\"versions\":[\"1.0\"]}}{second}]}}"
                ),
            )
            .unwrap();
        }
        let db_path = dir.path().join("advisories.db");
        let loaded = stormwatch_osv::load_path(&vulns, LoadOptions::default()).unwrap();
        import(&loaded, "test", &db_path, ImportOptions::default()).unwrap();
        let db = Database::open(&db_path).unwrap();
        assert_eq!(db.packages().unwrap().len(), n);

        for (wanted, unknown) in [(500, 0), (n, 2000)] {
            let names: Vec<String> = (0..wanted)
                .map(|i| format!("pkg-{i}"))
                .chain((0..unknown).map(|i| format!("unknown-{i}")))
                .collect();
            let mut set = AdvisorySet::new();
            db.load_for(names.iter().map(String::as_str), &mut set)
                .unwrap();
            // Each wanted package's own advisory, shared ones once; none for unknown names.
            assert_eq!(set.len(), wanted, "{wanted} packages");
            for i in 0..wanted {
                let ids: Vec<&str> = set
                    .for_package(&format!("pkg-{i}"))
                    .map(|a| a.id())
                    .collect();
                assert!(
                    ids.contains(&format!("ADV-{i}").as_str()),
                    "pkg-{i}: {ids:?}"
                );
                if i > 0 && (i - 1) % 7 == 0 {
                    assert!(
                        ids.contains(&format!("ADV-{}", i - 1).as_str()),
                        "pkg-{i}: {ids:?}"
                    );
                }
            }
        }
    }
}
