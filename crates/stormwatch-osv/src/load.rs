//! Loading OSV advisories from a directory tree or a zip archive of `.json`/`.yaml` files,
//! in the layouts of the osv.dev export, the GitHub advisory database and the PyPA
//! advisory database.

use std::io::{Read, Seek, SeekFrom};
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
    /// Records skipped as invalid (`invalid` keeps at most [`MAX_PROBLEMS_KEPT`]).
    pub invalid_count: usize,
    /// Warnings and invalid records past [`MAX_PROBLEMS_KEPT`], counted only.
    pub problems_not_kept: usize,
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

/// Loads a directory (recursively) or a `.zip` file, holding every record in memory.
pub fn load_path(path: &Path, opts: LoadOptions) -> Result<Loaded, OsvError> {
    let mut advisories = Vec::new();
    let mut loaded = stream_path(path, opts, &mut |adv| {
        advisories.push(adv);
        Ok::<(), OsvError>(())
    })?;
    loaded.advisories = advisories;
    Ok(loaded)
}

/// Reads a directory (recursively), a `.zip` file or one OSV file, and hands each PyPI
/// record (withdrawn ones included) to `sink` as it is parsed, in a stable order: at most
/// one batch of records is in memory, whatever the size of the source. The returned
/// [`Loaded`] has the counts and problems but no advisories.
pub fn stream_path<E: From<OsvError>>(
    path: &Path,
    opts: LoadOptions,
    sink: &mut dyn FnMut(Advisory) -> Result<(), E>,
) -> Result<Loaded, E> {
    let meta = std::fs::metadata(path).map_err(|e| OsvError::io(path, &e))?;
    if meta.is_dir() {
        load_dir(path, opts, sink)
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        let file = std::fs::File::open(path).map_err(|e| OsvError::io(path, &e))?;
        stream_zip(
            std::io::BufReader::new(file),
            path,
            opts,
            MAX_ARCHIVE_BYTES,
            sink,
        )
    } else if is_record_name(&path.to_string_lossy()) {
        let bytes = read_limited(path)?;
        let mut loaded = Loaded::default();
        absorb(&mut loaded, path, parse_records(path, &bytes), opts, sink)?;
        loaded.files = 1;
        Ok(loaded)
    } else {
        Err(OsvError::new(
            path,
            0,
            "not an advisory source: expected a directory, a .zip, or a .json/.yaml OSV file",
        )
        .into())
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

/// Records are parsed (in parallel) and handed on in batches of at most this many files or
/// [`BATCH_BYTES`] of raw data: small records parse to objects many times their size, so
/// the count bounds memory as much as the bytes do.
const BATCH_FILES: usize = 2048;

fn load_dir<E: From<OsvError>>(
    root: &Path,
    opts: LoadOptions,
    sink: &mut dyn FnMut(Advisory) -> Result<(), E>,
) -> Result<Loaded, E> {
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
    let mut loaded = Loaded::default();
    for chunk in files.chunks(BATCH_FILES) {
        let parsed: Vec<(&PathBuf, Result<Vec<Advisory>, OsvError>)> = chunk
            .par_iter()
            .map(|p| (p, read_limited(p).and_then(|b| parse_records(p, &b))))
            .collect();
        for (path, result) in parsed {
            loaded.files += 1;
            absorb(&mut loaded, path, result, opts, sink)?;
        }
    }
    Ok(loaded)
}

/// All entries of one archive together may decompress to at most this (the osv.dev PyPI
/// export is a few hundred MiB); past it the archive is refused, not read on.
pub const MAX_ARCHIVE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Entries are decompressed and parsed in batches of about this many bytes, so memory
/// holds one batch of raw records, not the whole archive.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

const LOCAL_HEADER: [u8; 4] = *b"PK\x03\x04";
/// General-purpose flag: sizes follow the data instead of preceding it.
const DATA_DESCRIPTOR: u16 = 1 << 3;

/// Reads a zip archive entry by entry and hands each PyPI record to `sink`; `path` names
/// the archive in messages. Archives whose entries carry their sizes in their local headers
/// (most writers) are read front to back without their central directory, so memory does
/// not grow with the number of entries; others (entries sized only by a trailing data
/// descriptor, or data before the first entry) are read through the central directory.
pub fn stream_zip<R: Read + Seek, E: From<OsvError>>(
    mut reader: R,
    path: &Path,
    opts: LoadOptions,
    max_total: u64,
    sink: &mut dyn FnMut(Advisory) -> Result<(), E>,
) -> Result<Loaded, E> {
    let corrupt = |what: String| OsvError::new(path, 0, what);
    let mut head = [0u8; 8];
    let got = read_up_to(&mut reader, &mut head).map_err(|e| OsvError::io(path, &e))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| OsvError::io(path, &e))?;
    let mut batch = Batch::new(path, opts, max_total);
    let sequential = got == head.len()
        && head[..4] == LOCAL_HEADER
        && u16::from_le_bytes([head[6], head[7]]) & DATA_DESCRIPTOR == 0;
    if sequential {
        let mut index = 0usize;
        loop {
            let mut head = [0u8; 8];
            let got = read_up_to(&mut reader, &mut head).map_err(|e| OsvError::io(path, &e))?;
            if got < 4 || head[..4] != LOCAL_HEADER {
                // The central directory (or the end record of an empty archive) follows
                // the last entry.
                if got >= 4 && (head[..4] == *b"PK\x01\x02" || head[..4] == *b"PK\x05\x06") {
                    break;
                }
                return Err(corrupt(format!(
                    "not a readable zip archive: no entry header at entry {index}"
                ))
                .into());
            }
            if got < head.len() || u16::from_le_bytes([head[6], head[7]]) & DATA_DESCRIPTOR != 0 {
                return Err(corrupt(format!(
                    "zip entry {index} is sized by a data descriptor unlike the first entry; \
                     re-create the archive"
                ))
                .into());
            }
            let mut chained = (&head[..]).chain(&mut reader);
            let entry = zip::read::read_zipfile_from_stream(&mut chained)
                .map_err(|e| corrupt(format!("corrupt zip entry {index}: {e}")))?;
            let Some(mut entry) = entry else { break };
            batch.take(&mut entry, sink)?;
            index += 1;
        }
    } else {
        let mut archive = zip::ZipArchive::new(reader)
            .map_err(|e| corrupt(format!("not a readable zip archive: {e}")))?;
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| corrupt(format!("corrupt zip entry {i}: {e}")))?;
            batch.take(&mut entry, sink)?;
        }
    }
    batch.flush(sink)?;
    Ok(batch.loaded)
}

/// Reads until `buf` is full or the input ends; the count read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The raw records of an archive waiting to be parsed, and what was loaded so far.
struct Batch<'a> {
    path: &'a Path,
    opts: LoadOptions,
    max_total: u64,
    total: u64,
    bytes: usize,
    raw: Vec<(PathBuf, Vec<u8>)>,
    loaded: Loaded,
}

impl<'a> Batch<'a> {
    fn new(path: &'a Path, opts: LoadOptions, max_total: u64) -> Self {
        Batch {
            path,
            opts,
            max_total,
            total: 0,
            bytes: 0,
            raw: Vec::new(),
            loaded: Loaded::default(),
        }
    }

    /// Decompresses one entry if it is a record, and parses the batch once it is full.
    fn take<R: Read, E: From<OsvError>>(
        &mut self,
        entry: &mut zip::read::ZipFile<'_, R>,
        sink: &mut dyn FnMut(Advisory) -> Result<(), E>,
    ) -> Result<(), E> {
        // Hidden directories of a repository archive (`.github/workflows/*.yml` in the PyPA
        // database's) hold no advisories.
        let hidden = entry
            .name()
            .split('/')
            .any(|part| part.starts_with('.') && part.len() > 1 && part != "..");
        if !entry.is_file() || !is_record_name(entry.name()) || hidden {
            return Ok(());
        }
        let name = self.path.join(entry.name());
        let too_large = || OsvError::new(&name, 0, "entry too large for an advisory record");
        if entry.size() > MAX_RECORD_BYTES {
            return Err(too_large().into());
        }
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry
            .by_ref()
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| OsvError::new(&name, 0, format!("cannot decompress: {e}")))?;
        // The sizes an archive declares are not trusted: count what came out.
        if buf.len() as u64 > MAX_RECORD_BYTES {
            return Err(too_large().into());
        }
        self.total += buf.len() as u64;
        if self.total > self.max_total {
            return Err(OsvError::new(
                self.path,
                0,
                format!(
                    "the archive decompresses to more than {} MiB; refused",
                    self.max_total / (1024 * 1024)
                ),
            )
            .into());
        }
        self.bytes += buf.len();
        self.raw.push((name, buf));
        if self.bytes >= BATCH_BYTES || self.raw.len() >= BATCH_FILES {
            self.flush(sink)?;
        }
        Ok(())
    }

    fn flush<E: From<OsvError>>(
        &mut self,
        sink: &mut dyn FnMut(Advisory) -> Result<(), E>,
    ) -> Result<(), E> {
        let parsed: Vec<(PathBuf, Result<Vec<Advisory>, OsvError>)> = std::mem::take(&mut self.raw)
            .into_par_iter()
            .map(|(p, b)| {
                let r = parse_records(&p, &b);
                (p, r)
            })
            .collect();
        self.bytes = 0;
        for (p, result) in parsed {
            self.loaded.files += 1;
            absorb(&mut self.loaded, &p, result, self.opts, sink)?;
        }
        Ok(())
    }
}

/// Problems kept per load; past this they are only counted, so that a hostile source of
/// millions of faulty records cannot fill memory with messages.
pub const MAX_PROBLEMS_KEPT: usize = 10_000;

fn absorb<E: From<OsvError>>(
    loaded: &mut Loaded,
    path: &Path,
    result: Result<Vec<Advisory>, OsvError>,
    opts: LoadOptions,
    sink: &mut dyn FnMut(Advisory) -> Result<(), E>,
) -> Result<(), E> {
    match result {
        Ok(records) => {
            for adv in records {
                for problem in adv.problems() {
                    if loaded.warnings.len() < MAX_PROBLEMS_KEPT {
                        loaded.warnings.push(OsvError::new(
                            path,
                            0,
                            format!("{}: {problem}", adv.id),
                        ));
                    } else {
                        loaded.problems_not_kept += 1;
                    }
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
                sink(adv)?;
            }
            Ok(())
        }
        Err(e) if opts.skip_invalid => {
            if loaded.invalid.len() < MAX_PROBLEMS_KEPT {
                loaded.invalid.push(e);
            } else {
                loaded.problems_not_kept += 1;
            }
            loaded.invalid_count += 1;
            Ok(())
        }
        Err(e) => Err(e.into()),
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

    /// Archives whose entries are sized by trailing data descriptors (written to a stream)
    /// are read through their central directory: the same records come out.
    #[test]
    fn streamed_archives_with_data_descriptors_load() {
        // Written by Python's zipfile to a stream: zip's own writer always seeks back.
        let hex = concat!(
            "504b03041400080008007461825d0000000000000000000000000c00000050595345432d312e79616d6c2d8d",
            "3f0bc23014c4f77c8a476753fc030e594b068762a12e1d43f252823429c9530ce277f7559ceef8dd1d179c82",
            "611a75270fc2788f96d029216135f66e6654f08e6661a194a37169076853a98570e15d1d2e1f01904d9cb128",
            "7612a8aedcd6dd759cc69bee9901e01323fdf2ad1122e5e41e967fa0d9377feac36b03e7f6d41ec517504b07",
            "081cc2d5a58300000095000000504b03041400080008007461825d0000000000000000000000000600000041",
            "2e6a736f6e8bae56ca4c51b252507254d251502acf2cc948294a2ccf038918191899e81a1802518881811518",
            "45811425a6a5a52697a4827445572b1524266727a6a70239d54a7989b92086522248596a727e716571496a2e",
            "4824a032c053a916285a965a549c999f570cd2ac64a867a0145b0b8400504b07083ff754d370000000860000",
            "00504b010214031400080008007461825d1cc2d5a583000000950000000c0000000000000000000000800100",
            "00000050595345432d312e79616d6c504b010214031400080008007461825d3ff754d3700000008600000006",
            "00000000000000000000008001bd000000412e6a736f6e504b050600000000020002006e0000006101000000",
            "00",
        );
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let zpath = dir.path().join("streamed.zip");
        std::fs::write(&zpath, &bytes).unwrap();
        assert_ne!(
            u16::from_le_bytes([bytes[6], bytes[7]]) & DATA_DESCRIPTOR,
            0
        );
        let loaded = load_path(&zpath, LoadOptions::default()).unwrap();
        let ids: Vec<&str> = loaded.advisories.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["PYSEC-1", "A"]);
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
        let capped = |max| {
            let file = std::fs::File::open(&zip_path).unwrap();
            let mut all = Vec::new();
            stream_zip(file, &zip_path, LoadOptions::default(), max, &mut |a| {
                all.push(a);
                Ok::<(), OsvError>(())
            })
            .map(|l| (l, all))
        };
        let err = capped(2 * 1024 * 1024).unwrap_err();
        assert!(
            err.message.contains("decompresses to more than 2 MiB"),
            "{err}"
        );
        let (loaded, all) = capped(8 * 1024 * 1024).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(loaded.files, 4);
    }
}
