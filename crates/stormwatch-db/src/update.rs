//! `db update`: fetch every source, rebuild the database only when one changed.
//!
//! Downloads are kept beside the database (`advisories.sources/`): the next update sends
//! their validators back (ETag / Last-Modified) and, when any source changed, rebuilds from
//! all of them, so an unchanged source costs one round trip and no download. A new
//! download replaces the kept copy only after the database built from it is in place; on
//! any failure the database and the kept copies are left exactly as they were.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use stormwatch_http::{Client, Fetched, Validators};
use stormwatch_osv::LoadOptions;

use crate::{import_with, Database, DbError, ImportOptions, ImportSummary, Tally};

/// The OSV export of every PyPI advisory.
pub const DEFAULT_SOURCE: &str = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip";

/// Where advisory data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An OSV zip over HTTP(S).
    Url(String),
    /// A local directory, zip or OSV file.
    Path(PathBuf),
}

impl Source {
    /// `default` is the OSV PyPI export; `http://` and `https://` are downloads; anything
    /// else is a local path.
    pub fn parse(text: &str) -> Source {
        let lower = text.to_ascii_lowercase();
        if text == "default" {
            Source::Url(DEFAULT_SOURCE.to_string())
        } else if lower.starts_with("https://") || lower.starts_with("http://") {
            Source::Url(text.to_string())
        } else {
            Source::Path(PathBuf::from(text))
        }
    }

    /// How the source is named in messages and in the state.
    pub fn name(&self) -> String {
        match self {
            Source::Url(u) => u.clone(),
            Source::Path(p) => p.canonicalize().unwrap_or(p.clone()).display().to_string(),
        }
    }
}

/// What is remembered about one source between updates.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceState {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// When the kept copy was downloaded (or the local source last changed).
    #[serde(default)]
    pub fetched_at: String,
    /// When the source was last found current.
    #[serde(default)]
    pub checked_at: String,
    #[serde(default)]
    pub bytes: u64,
    /// A local source's size and modification times, to tell whether it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The state file of every source of one database.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SourcesState {
    #[serde(default)]
    pub sources: Vec<SourceState>,
    /// When the last update that reached every source finished.
    #[serde(default)]
    pub updated_at: String,
}

/// The directory that holds a database's downloads and source state.
pub fn sources_dir(db: &Path) -> PathBuf {
    db.with_extension("sources")
}

/// The remembered state of a database's sources (empty when never updated).
pub fn load_state(db: &Path) -> SourcesState {
    std::fs::read(sources_dir(db).join("state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(db: &Path, state: &SourcesState) -> Result<(), DbError> {
    let dir = sources_dir(db);
    let path = dir.join("state.json");
    let tmp = dir.join(format!(".state.json.tmp-{}", std::process::id()));
    let io = |source| DbError::Io {
        path: path.clone(),
        source,
    };
    let text = serde_json::to_string_pretty(state).expect("state serializes");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateOptions {
    /// Use only what is on this machine: kept downloads and local sources.
    pub offline: bool,
    /// Replace the database even when the new data holds far fewer advisories.
    pub force: bool,
    /// Skip records that do not parse (each is reported) instead of refusing the update.
    pub skip_invalid: bool,
}

/// What happened to one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Downloaded (or, for a local source, changed since the last update).
    Changed { bytes: u64 },
    /// The server said the kept copy is current (or the local source did not change).
    Unchanged,
    /// `--offline`: the kept copy was used without asking.
    Offline,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceReport {
    pub source: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What an update did.
#[derive(Debug)]
pub struct UpdateReport {
    pub sources: Vec<SourceReport>,
    /// `None` when nothing changed and the database was left as it was.
    pub imported: Option<ImportSummary>,
    /// Problems in individual records that did not stop the update.
    pub warnings: Vec<String>,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// FNV-1a 64: names and signatures that do not depend on the process.
fn fnv64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// A stable file name for a URL's kept copy.
fn cache_name(url: &str) -> String {
    format!("{:016x}.zip", fnv64(url.bytes()))
}

/// Sizes and modification times of a local source (changes when any file does), and its
/// size in bytes.
fn signature(path: &Path) -> Result<(String, u64), DbError> {
    let io = |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let stamp = |m: &std::fs::Metadata| {
        let t = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        format!("{}:{}.{}", m.len(), t.as_secs(), t.subsec_nanos())
    };
    if !meta.is_dir() {
        return Ok((stamp(&meta), meta.len()));
    }
    let mut bytes = 0;
    let mut parts = BTreeMap::new();
    for entry in walkdir::WalkDir::new(path).follow_links(false) {
        let entry = entry.map_err(|e| DbError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if entry.file_type().is_file() {
            if let Ok(m) = entry.metadata() {
                bytes += m.len();
                parts.insert(entry.path().to_path_buf(), stamp(&m));
            }
        }
    }
    let h = fnv64(parts.iter().flat_map(|(p, s)| {
        p.to_string_lossy()
            .into_owned()
            .into_bytes()
            .into_iter()
            .chain(s.bytes())
    }));
    Ok((format!("{} files:{h:016x}", parts.len()), bytes))
}

const DOWNLOAD_PREFIX: &str = ".download-";

/// A new download file in `dir`: a random name (with `.zip`: the loader tells archives by
/// their extension), created exclusively, and locked for as long as this run holds it so
/// that another run can tell it from a killed run's leftover.
fn download_file(dir: &Path) -> Result<tempfile::NamedTempFile, DbError> {
    let file = tempfile::Builder::new()
        .prefix(DOWNLOAD_PREFIX)
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|source| DbError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    lock(file.as_file(), true);
    Ok(file)
}

/// Takes an exclusive advisory lock on `file`, waiting for it or not; whether it was taken.
/// (The same `flock` the monitor's state lock takes, through the same crate.)
fn lock(file: &std::fs::File, wait: bool) -> bool {
    use fs4::FileExt;
    if wait {
        FileExt::lock(file).is_ok()
    } else {
        FileExt::try_lock(file).is_ok()
    }
}

/// Removes the download files of killed runs beside database `db`: those no live run
/// holds locked. A run's own files are locked until they are kept or removed.
pub fn remove_stale_downloads(db: &Path) {
    let dir = sources_dir(db);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(DOWNLOAD_PREFIX) {
            continue;
        }
        let path = entry.path();
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        let unlocked = !regular || std::fs::File::open(&path).is_ok_and(|f| lock(&f, false));
        if unlocked {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// One source, ready to load: where its data is and what to remember about it.
struct Ready {
    data: PathBuf,
    state: SourceState,
    /// A fresh download to move into the kept copy once the database is in place (removed
    /// when dropped before that).
    pending: Option<(tempfile::NamedTempFile, PathBuf)>,
    changed: bool,
}

/// Fetches every source and, when any changed (or the database is missing or was built
/// from other sources), rebuilds the database at `db` from all of them. `client` is
/// `None` only offline.
pub fn update(
    db: &Path,
    sources: &[Source],
    client: Option<&Client>,
    options: UpdateOptions,
) -> Result<UpdateReport, DbError> {
    if sources.is_empty() {
        return Err(DbError::Invalid {
            path: db.to_path_buf(),
            message: "no advisory sources to update from".into(),
        });
    }
    let dir = sources_dir(db);
    std::fs::create_dir_all(&dir).map_err(|source| DbError::Io {
        path: dir.clone(),
        source,
    })?;
    remove_stale_downloads(db);
    let previous = load_state(db);
    let mut ready: Vec<Ready> = Vec::new();
    for source in sources {
        let name = source.name();
        let known = previous
            .sources
            .iter()
            .find(|s| s.source == name)
            .cloned()
            .unwrap_or_default();
        match prepare(source, &name, known, &dir, client, options) {
            Ok(r) => ready.push(r),
            Err(e) => return Err(e),
        }
    }
    let names: Vec<&str> = ready.iter().map(|r| r.state.source.as_str()).collect();
    let description = names.join(", ");
    let current = Database::open(db)
        .ok()
        .and_then(|d| d.meta_value("source").ok());
    let rebuild = ready.iter().any(|r| r.changed) || current.as_deref() != Some(&description);
    let mut report = UpdateReport {
        sources: ready
            .iter()
            .map(|r| SourceReport {
                source: r.state.source.clone(),
                outcome: if r.changed {
                    Outcome::Changed {
                        bytes: r.state.bytes,
                    }
                } else if options.offline {
                    Outcome::Offline
                } else {
                    Outcome::Unchanged
                },
            })
            .collect(),
        imported: None,
        warnings: Vec::new(),
    };
    if rebuild {
        match build(db, &ready, &description, options, &mut report.warnings) {
            Ok(summary) => report.imported = Some(summary),
            Err(e) => return Err(e),
        }
    }
    for r in &mut ready {
        if let Some((tmp, kept)) = r.pending.take() {
            tmp.persist(&kept).map_err(|e| DbError::Io {
                path: kept.clone(),
                source: e.error,
            })?;
        }
    }
    let mut state = SourcesState {
        sources: ready.into_iter().map(|r| r.state).collect(),
        updated_at: previous.updated_at,
    };
    if !options.offline {
        state.updated_at = now();
    }
    save_state(db, &state)?;
    Ok(report)
}

fn prepare(
    source: &Source,
    name: &str,
    known: SourceState,
    dir: &Path,
    client: Option<&Client>,
    options: UpdateOptions,
) -> Result<Ready, DbError> {
    let stamp = now();
    match source {
        Source::Path(path) => {
            let (sig, bytes) = signature(path)?;
            let changed = known.signature.as_deref() != Some(&sig);
            Ok(Ready {
                data: path.clone(),
                changed,
                pending: None,
                state: SourceState {
                    source: name.to_string(),
                    fetched_at: if changed {
                        stamp.clone()
                    } else {
                        known.fetched_at
                    },
                    checked_at: stamp,
                    bytes,
                    signature: Some(sig),
                    ..SourceState::default()
                },
            })
        }
        Source::Url(url) => {
            let kept = dir.join(cache_name(url));
            let have_copy = kept.is_file() && known.source == name;
            if options.offline {
                if !have_copy {
                    return Err(DbError::Invalid {
                        path: kept,
                        message: format!(
                            "--offline, and {url} has never been downloaded: nothing to use"
                        ),
                    });
                }
                return Ok(Ready {
                    data: kept,
                    changed: false,
                    pending: None,
                    state: known,
                });
            }
            let client = client.expect("a client when online");
            let validators = if have_copy {
                Validators {
                    etag: known.etag.clone(),
                    last_modified: known.last_modified.clone(),
                }
            } else {
                Validators::default()
            };
            let tmp = download_file(dir)?;
            let fetched = client
                .download(url, &validators, tmp.as_file())
                .map_err(|e| DbError::Invalid {
                    path: PathBuf::from(url),
                    message: format!(
                        "download failed: {}",
                        e.to_string().trim_start_matches(&format!("{url}: "))
                    ),
                })?;
            match fetched {
                Fetched::NotModified => Ok(Ready {
                    data: kept,
                    changed: false,
                    pending: None,
                    state: SourceState {
                        checked_at: stamp,
                        ..known
                    },
                }),
                Fetched::Downloaded { bytes, validators } => Ok(Ready {
                    data: tmp.path().to_path_buf(),
                    changed: true,
                    pending: Some((tmp, kept)),
                    state: SourceState {
                        source: name.to_string(),
                        etag: validators.etag,
                        last_modified: validators.last_modified,
                        fetched_at: stamp.clone(),
                        checked_at: stamp,
                        bytes,
                        signature: None,
                    },
                }),
            }
        }
    }
}

/// Streams every source (all of it must parse) into a new database: the union.
fn build(
    db: &Path,
    ready: &[Ready],
    description: &str,
    options: UpdateOptions,
    warnings: &mut Vec<String>,
) -> Result<ImportSummary, DbError> {
    let sources: Vec<&SourceState> = ready.iter().map(|r| &r.state).collect();
    let import_options = ImportOptions {
        force: options.force,
        meta: vec![(
            "sources".into(),
            serde_json::to_string(&sources).expect("state serializes"),
        )],
    };
    import_with(description, db, import_options, |put| {
        let mut tally = Tally::default();
        for r in ready {
            let loaded = stormwatch_osv::stream_path(
                &r.data,
                LoadOptions {
                    skip_invalid: options.skip_invalid,
                },
                &mut |adv| put(&adv),
            )
            .map_err(|e| match e {
                DbError::Osv(e) => DbError::Invalid {
                    path: PathBuf::from(&r.state.source),
                    message: format!(
                        "the data does not load, nothing was replaced: {}",
                        e.to_string().replace(&r.data.display().to_string(), "")
                    ),
                },
                other => other,
            })?;
            warnings.extend(loaded.invalid.iter().map(|e| format!("skipped {e}")));
            warnings.extend(loaded.warnings.iter().map(ToString::to_string));
            if loaded.problems_not_kept > 0 {
                warnings.push(format!(
                    "{}: {} more problems not listed",
                    r.state.source, loaded.problems_not_kept
                ));
            }
            tally.files += loaded.files;
            tally.other_ecosystems += loaded.other_ecosystems;
        }
        Ok(tally)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(Source::parse("default"), Source::Url(DEFAULT_SOURCE.into()));
        assert_eq!(
            Source::parse("HTTPS://mirror/x.zip"),
            Source::Url("HTTPS://mirror/x.zip".into())
        );
        assert_eq!(
            Source::parse("./vulns"),
            Source::Path(PathBuf::from("./vulns"))
        );
        assert_ne!(cache_name("a"), cache_name("b"));
        assert!(cache_name("a").ends_with(".zip"));
    }

    /// A local source is rebuilt only when it changed, and the state says when it was
    /// last checked.
    #[test]
    fn local_sources_rebuild_only_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let vulns = dir.path().join("vulns");
        std::fs::create_dir_all(&vulns).unwrap();
        let write = |id: &str| {
            std::fs::write(
                vulns.join(format!("{id}.json")),
                format!("{{\"id\":\"{id}\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{{\"package\":{{\"name\":\"tornado\",\"ecosystem\":\"PyPI\"}},\"versions\":[\"1.0\"]}}]}}"),
            )
            .unwrap();
        };
        write("A");
        let db = dir.path().join("advisories.db");
        let sources = [Source::Path(vulns.clone())];
        let first = update(&db, &sources, None, UpdateOptions::default()).unwrap();
        assert_eq!(first.imported.unwrap().changes.new, ["A"]);
        let bytes = std::fs::read(&db).unwrap();
        let second = update(&db, &sources, None, UpdateOptions::default()).unwrap();
        assert!(second.imported.is_none());
        assert_eq!(second.sources[0].outcome, Outcome::Unchanged);
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "an unchanged source rewrites nothing"
        );
        write("B");
        let third = update(&db, &sources, None, UpdateOptions::default()).unwrap();
        assert_eq!(third.imported.unwrap().changes.new, ["B"]);
        assert!(!load_state(&db).sources[0].checked_at.is_empty());
    }
}
