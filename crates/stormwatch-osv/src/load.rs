//! Loading OSV advisories from a directory tree or a zip archive of `.json`/`.yaml` files,
//! in the layouts of the osv.dev export, the GitHub advisory database and the PyPA
//! advisory database.

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::model::Advisory;
use crate::OsvError;

/// Files larger than this are not advisories; refusing them bounds memory use.
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// What a load found, including what it skipped and why.
#[derive(Debug, Default)]
pub struct Loaded {
    pub advisories: Vec<Advisory>,
    pub files: usize,
    /// Records with no PyPI `affected` entry.
    pub other_ecosystems: usize,
    pub withdrawn: usize,
    /// Per-file errors kept when loading with `skip_invalid`.
    pub invalid: Vec<OsvError>,
    /// Fields of loaded records that could not be read as written (see
    /// [`Advisory::problems`]), each with the file.
    pub warnings: Vec<OsvError>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Keep going past unreadable records (each is reported in [`Loaded::invalid`]).
    pub skip_invalid: bool,
}

fn is_record_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Loads a directory (recursively) or a `.zip` file.
pub fn load_path(path: &Path, opts: LoadOptions) -> Result<Loaded, OsvError> {
    let meta = std::fs::metadata(path).map_err(|e| OsvError::io(path, &e))?;
    if meta.is_dir() {
        load_dir(path, opts)
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        load_zip(path, opts)
    } else if is_record_name(&path.to_string_lossy()) {
        let bytes = read_limited(path)?;
        let mut loaded = Loaded::default();
        absorb(&mut loaded, path, parse_records(path, &bytes), opts)?;
        loaded.files = 1;
        Ok(loaded)
    } else {
        Err(OsvError::new(
            path,
            0,
            "not an advisory source: expected a directory, a .zip, or a .json/.yaml OSV file",
        ))
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, OsvError> {
    let meta = std::fs::metadata(path).map_err(|e| OsvError::io(path, &e))?;
    if meta.len() > MAX_RECORD_BYTES {
        return Err(OsvError::new(
            path,
            0,
            format!("{} bytes is too large for an advisory record", meta.len()),
        ));
    }
    std::fs::read(path).map_err(|e| OsvError::io(path, &e))
}

fn load_dir(root: &Path, opts: LoadOptions) -> Result<Loaded, OsvError> {
    let mut files: Vec<PathBuf> = Vec::new();
    // Hidden directories of a checkout (`.git`, `.github`) hold no advisories.
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|e| {
            let p = e.path().unwrap_or(root).to_path_buf();
            OsvError::new(&p, 0, format!("cannot list directory: {e}"))
        })?;
        if entry.file_type().is_file() && is_record_name(&entry.file_name().to_string_lossy()) {
            files.push(entry.into_path());
        }
    }
    files.sort();
    let parsed: Vec<(PathBuf, Result<Vec<Advisory>, OsvError>)> = files
        .into_par_iter()
        .map(|p| {
            let r = read_limited(&p).and_then(|b| parse_records(&p, &b));
            (p, r)
        })
        .collect();
    let mut loaded = Loaded::default();
    for (path, result) in parsed {
        loaded.files += 1;
        absorb(&mut loaded, &path, result, opts)?;
    }
    Ok(loaded)
}

/// All entries of one archive together may decompress to at most this (the osv.dev PyPI
/// export is a few hundred MiB); past it the archive is refused, not read on.
const MAX_ARCHIVE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Entries are decompressed and parsed in batches of about this many bytes, so memory
/// holds one batch of raw records, not the whole archive.
const BATCH_BYTES: usize = 64 * 1024 * 1024;

fn load_zip(path: &Path, opts: LoadOptions) -> Result<Loaded, OsvError> {
    load_zip_capped(path, opts, MAX_ARCHIVE_BYTES)
}

fn load_zip_capped(path: &Path, opts: LoadOptions, max_total: u64) -> Result<Loaded, OsvError> {
    let file = std::fs::File::open(path).map_err(|e| OsvError::io(path, &e))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| OsvError::new(path, 0, format!("not a readable zip archive: {e}")))?;
    let mut loaded = Loaded::default();
    let mut raw: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut batch = 0usize;
    let mut total = 0u64;
    let flush = |raw: &mut Vec<(PathBuf, Vec<u8>)>, loaded: &mut Loaded| -> Result<(), OsvError> {
        let parsed: Vec<(PathBuf, Result<Vec<Advisory>, OsvError>)> = std::mem::take(raw)
            .into_par_iter()
            .map(|(p, b)| {
                let r = parse_records(&p, &b);
                (p, r)
            })
            .collect();
        for (p, result) in parsed {
            loaded.files += 1;
            absorb(loaded, &p, result, opts)?;
        }
        Ok(())
    };
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| OsvError::new(path, 0, format!("corrupt zip entry {i}: {e}")))?;
        // Hidden directories of a repository archive (`.github/workflows/*.yml` in the PyPA
        // database's) hold no advisories.
        let hidden = entry
            .name()
            .split('/')
            .any(|part| part.starts_with('.') && part.len() > 1 && part != "..");
        if !entry.is_file() || !is_record_name(entry.name()) || hidden {
            continue;
        }
        let name = path.join(entry.name());
        if entry.size() > MAX_RECORD_BYTES {
            return Err(OsvError::new(
                &name,
                0,
                "entry too large for an advisory record",
            ));
        }
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry
            .by_ref()
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| OsvError::new(&name, 0, format!("cannot decompress: {e}")))?;
        // The sizes an archive declares are not trusted: count what came out.
        if buf.len() as u64 > MAX_RECORD_BYTES {
            return Err(OsvError::new(
                &name,
                0,
                "entry too large for an advisory record",
            ));
        }
        total += buf.len() as u64;
        if total > max_total {
            return Err(OsvError::new(
                path,
                0,
                format!(
                    "the archive decompresses to more than {} MiB; refused",
                    max_total / (1024 * 1024)
                ),
            ));
        }
        batch += buf.len();
        raw.push((name, buf));
        if batch >= BATCH_BYTES {
            flush(&mut raw, &mut loaded)?;
            batch = 0;
        }
    }
    flush(&mut raw, &mut loaded)?;
    Ok(loaded)
}

fn absorb(
    loaded: &mut Loaded,
    path: &Path,
    result: Result<Vec<Advisory>, OsvError>,
    opts: LoadOptions,
) -> Result<(), OsvError> {
    match result {
        Ok(records) => {
            for adv in records {
                for problem in adv.problems() {
                    loaded
                        .warnings
                        .push(OsvError::new(path, 0, format!("{}: {problem}", adv.id)));
                }
                if adv.is_withdrawn() {
                    loaded.withdrawn += 1;
                }
                if !adv.affected.iter().any(|a| {
                    a.package
                        .as_ref()
                        .is_some_and(|p| p.ecosystem.eq_ignore_ascii_case("pypi"))
                }) {
                    loaded.other_ecosystems += 1;
                    continue;
                }
                // Withdrawn records are kept so that a database can tell "withdrawn" from
                // "unknown"; matching never reports them.
                loaded.advisories.push(adv);
            }
            Ok(())
        }
        Err(e) if opts.skip_invalid => {
            loaded.invalid.push(e);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Parses one file's bytes: a single OSV object or an array of them, in JSON or YAML.
pub fn parse_records(path: &Path, bytes: &[u8]) -> Result<Vec<Advisory>, OsvError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        OsvError::new(path, line, "invalid UTF-8")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| OsvError::new(path, e.line(), format!("invalid JSON: {e}")))?;
        from_value(path, value)
    } else {
        let docs = stormwatch_yaml::parse(text);
        if let Some(e) = docs.error {
            return Err(OsvError::new(
                path,
                e.line,
                format!("invalid YAML (column {}): {}", e.column, e.message),
            ));
        }
        let value = match docs.documents.as_slice() {
            [one] => one.to_json(),
            [] => serde_json::Value::Null,
            _ => {
                return Err(OsvError::new(
                    path,
                    docs.documents[1].line,
                    "several YAML documents; expected one OSV record",
                ))
            }
        };
        from_value(path, value)
    }
}

fn from_value(path: &Path, value: serde_json::Value) -> Result<Vec<Advisory>, OsvError> {
    let items = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .map(|v| {
            serde_json::from_value::<Advisory>(v)
                .map_err(|e| OsvError::new(path, 0, format!("not an OSV advisory: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const YAML: &str = "id: PYSEC-1\naffected:\n- package: {name: tornado, ecosystem: PyPI}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: \"0\"\n    - fixed: 6.3.2\n";
    const JSON_NPM: &str =
        r#"{"id": "GHSA-npm", "affected": [{"package": {"name": "x", "ecosystem": "npm"}}]}"#;
    const JSON_ARRAY: &str = r#"[{"id": "A", "withdrawn": "2024-01-01T00:00:00Z", "affected": [{"package": {"name": "a", "ecosystem": "PyPI"}, "versions": ["1.0"]}]}]"#;

    #[test]
    fn loads_dirs_with_json_yaml_and_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("vulns/tornado")).unwrap();
        std::fs::write(p.join("vulns/tornado/PYSEC-1.yaml"), YAML).unwrap();
        std::fs::write(p.join("npm.json"), JSON_NPM).unwrap();
        std::fs::write(p.join("arr.json"), JSON_ARRAY).unwrap();
        std::fs::write(p.join(".id-allocator"), "junk").unwrap();
        let loaded = load_path(p, LoadOptions::default()).unwrap();
        assert_eq!(loaded.files, 3);
        assert_eq!(loaded.advisories.len(), 2);
        assert_eq!(loaded.other_ecosystems, 1);
        assert_eq!(loaded.withdrawn, 1);
    }

    #[test]
    fn loads_zip() {
        let dir = tempfile::tempdir().unwrap();
        let zpath = dir.path().join("PyPI.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
        let o: zip::write::SimpleFileOptions = Default::default();
        z.start_file("PYSEC-1.yaml", o).unwrap();
        z.write_all(YAML.as_bytes()).unwrap();
        z.start_file("GHSA-npm.json", o).unwrap();
        z.write_all(JSON_NPM.as_bytes()).unwrap();
        z.finish().unwrap();
        let loaded = load_path(&zpath, LoadOptions::default()).unwrap();
        assert_eq!(loaded.advisories.len(), 1);
        assert_eq!(loaded.advisories[0].id, "PYSEC-1");
    }

    #[test]
    fn invalid_records_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("good.yaml"), YAML).unwrap();
        std::fs::write(p.join("bad.yaml"), "id: X\naffected:\n  - [unclosed\n").unwrap();
        let err = load_path(p, LoadOptions::default()).unwrap_err();
        assert!(err.path.ends_with("bad.yaml"));
        assert!(err.line >= 3, "{err}");
        let loaded = load_path(p, LoadOptions { skip_invalid: true }).unwrap();
        assert_eq!(loaded.advisories.len(), 1);
        assert_eq!(loaded.invalid.len(), 1);

        std::fs::write(p.join("bad.yaml"), "just a string").unwrap();
        let err = load_path(p, LoadOptions::default()).unwrap_err();
        assert!(err.message.contains("not an OSV advisory"), "{err}");

        let zpath = p.join("junk.zip");
        std::fs::write(&zpath, b"\x00\x01 not a zip").unwrap();
        let err = load_path(&zpath, LoadOptions::default()).unwrap_err();
        assert!(err.message.contains("zip"), "{err}");
    }

    /// A zip bomb (entries far larger than the archive) is refused once what came out passes
    /// the total cap, and records are parsed batch by batch, not all held at once.
    #[test]
    fn archives_are_capped_by_what_they_decompress_to() {
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("bomb.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let padding = " ".repeat(700 * 1024);
        for i in 0..4 {
            z.start_file(format!("PYSEC-{i}.json"), o).unwrap();
            let record = format!(
                r#"{{"id": "PYSEC-{i}", "details": "{padding}", "affected": [{{"package": {{"name": "a", "ecosystem": "PyPI"}}, "versions": ["1.0"]}}]}}"#
            );
            z.write_all(record.as_bytes()).unwrap();
        }
        z.finish().unwrap();
        assert!(std::fs::metadata(&zip_path).unwrap().len() < 100 * 1024);
        let err = load_zip_capped(&zip_path, LoadOptions::default(), 2 * 1024 * 1024).unwrap_err();
        assert!(
            err.message.contains("decompresses to more than 2 MiB"),
            "{err}"
        );
        let all = load_zip_capped(&zip_path, LoadOptions::default(), 8 * 1024 * 1024).unwrap();
        assert_eq!(all.advisories.len(), 4);
        assert_eq!(all.files, 4);
    }
}
