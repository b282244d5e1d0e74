//! Hot paths of the dependency audit, against the full PyPA snapshot (skipped when absent):
//! - `import`: load every advisory file and build the SQLite database;
//! - `lockfile_parse_1000`: read a 1,000-package uv.lock;
//! - `db_load_1000`: read the compiled advisories of 1,000 packages from the database;
//! - `match_1000`: match 1,000 pins against advisories already in memory;
//! - `audit_1000_warm`: both, in process, database already open.
//!
//! Whole-process ("cold") timings, start-up included, are measured by `bench/deps.sh`.

use std::fmt::Write as _;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use stormwatch_audit::{audit, AuditOptions};
use stormwatch_osv::{load_path, AdvisorySet, LoadOptions};

fn snapshot() -> Option<PathBuf> {
    let p = std::env::var_os("STORMWATCH_PYPA_VULNS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/advisory-db/pypa-vulns")
        });
    p.is_dir().then_some(p)
}

/// A uv.lock with one entry per package of the snapshot (up to `n`), each pinned to the
/// oldest version its first advisory lists, so most entries are vulnerable.
fn generate_lock(loaded: &stormwatch_osv::Loaded, n: usize) -> String {
    let mut seen = std::collections::BTreeMap::new();
    for adv in &loaded.advisories {
        for a in &adv.affected {
            let (Some(p), Some(v)) = (&a.package, a.versions.first()) else {
                continue;
            };
            seen.entry(stormwatch_manifest::normalize_name(&p.name))
                .or_insert_with(|| v.clone());
        }
    }
    let mut out = String::from("version = 1\nrevision = 3\nrequires-python = \">=3.9\"\n");
    for (name, version) in seen.iter().take(n) {
        let _ = write!(
            out,
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        );
    }
    // Pad with clean packages when the snapshot has fewer than n.
    for i in seen.len()..n {
        let _ = write!(
            out,
            "\n[[package]]\nname = \"clean-package-{i}\"\nversion = \"1.0.{i}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\n"
        );
    }
    out
}

fn benches(c: &mut Criterion) {
    let Some(dir) = snapshot() else {
        eprintln!("PyPA snapshot not found; skipping dependency benchmarks");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db_path = tmp.path().join("advisories.db");

    let mut g = c.benchmark_group("deps");
    g.sample_size(10);
    g.bench_function("import", |b| {
        b.iter(|| {
            let loaded = load_path(&dir, LoadOptions::default()).unwrap();
            stormwatch_db::import(&loaded, "bench", &db_path, Default::default()).unwrap()
        })
    });

    let loaded = load_path(&dir, LoadOptions::default()).unwrap();
    stormwatch_db::import(&loaded, "bench", &db_path, Default::default()).unwrap();
    let lock = tmp.path().join("uv.lock");
    std::fs::write(&lock, generate_lock(&loaded, 1000)).unwrap();

    g.sample_size(50);
    g.bench_function("lockfile_parse_1000", |b| {
        b.iter(|| stormwatch_manifest::parse_file(&lock).unwrap())
    });

    let inputs = stormwatch_manifest::parse_file(&lock).unwrap();
    let db = stormwatch_db::Database::open(&db_path).unwrap();
    g.bench_function("db_load_1000", |b| {
        b.iter(|| {
            let mut set = AdvisorySet::new();
            db.load_for(
                inputs.dependencies.iter().map(|d| d.name.as_str()),
                &mut set,
            )
            .unwrap();
            set
        })
    });
    let mut preloaded = AdvisorySet::new();
    db.load_for(
        inputs.dependencies.iter().map(|d| d.name.as_str()),
        &mut preloaded,
    )
    .unwrap();
    g.bench_function("match_1000", |b| {
        b.iter(|| audit(&inputs.dependencies, &preloaded, AuditOptions::default()))
    });
    g.bench_function("audit_1000_warm", |b| {
        b.iter(|| {
            let mut set = AdvisorySet::new();
            db.load_for(
                inputs.dependencies.iter().map(|d| d.name.as_str()),
                &mut set,
            )
            .unwrap();
            audit(&inputs.dependencies, &set, AuditOptions::default())
        })
    });
    g.finish();
}

criterion_group!(deps, benches);
criterion_main!(deps);
