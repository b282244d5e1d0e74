//! The local advisory database.
//!
//! A single SQLite file holds every imported advisory as its OSV JSON, plus an index from
//! PEP 503 package name to advisory id, so an audit reads only the advisories of the
//! packages it has. Imports build a fresh file beside the target and rename it into place:
//! readers never see a half-written database, and a failed import leaves the previous one
//! untouched.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::sync::Arc;

use stormwatch_osv::{Advisory, AdvisorySet, CompiledAdvisory};

pub mod update;
mod write;

pub use write::{import, import_with, ImportOptions, Tally};

/// Bumped whenever the table layout changes; older files must be re-imported.
/// 2: compiled advisories carry their publication date.
/// 3: publication dates in their own column; each import's changes are recorded.
/// 4: a range whose version does not parse is kept at its widest (fix unknown), not dropped.
pub const SCHEMA_VERSION: i64 = 4;

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
    #[error(transparent)]
    Osv(#[from] stormwatch_osv::OsvError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DbError {
    pub(crate) fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> DbError + '_ {
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

/// A read-only connection. Reads go through a memory map instead of one pread per page (and
/// so need no large page cache of their own).
pub(crate) fn connect(path: &Path) -> Result<Connection, DbError> {
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
mod tests;
