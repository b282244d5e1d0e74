//! Rendering a large report in every format: 10,000 findings (5,000 advisories over 500
//! pins, 5,000 configuration findings), as a monorepo audit with a full advisory database
//! produces. Every format must stay linear in the findings.

use criterion::{criterion_group, criterion_main, Criterion};

// The allocator of the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use stormwatch_findings::*;
use stormwatch_report::{render, Context, Format};

fn report() -> Report {
    let mut findings = Vec::new();
    let mut upgrades = Vec::new();
    for pin in 0..500 {
        let package = format!("package-{pin}");
        let location = Location::new(format!("services/s{}/requirements.txt", pin % 50), 1 + pin);
        for adv in 0..10 {
            let id = format!("GHSA-{pin:04}-{adv:04}-xxxx");
            let mut f = Finding::new(
                Detail::Dependency(DependencyFinding {
                    package: package.clone(),
                    version: "1.0".into(),
                    aliases: vec![
                        format!("CVE-2026-{pin}{adv}"),
                        format!("PYSEC-2026-{pin}{adv}"),
                    ],
                    cvss: Some(CvssScore {
                        kind: "CVSS_V3".into(),
                        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into(),
                        score: 5.0 + (adv as f64) / 2.0,
                    }),
                    summary: "A request can make the server do quadratic work".into(),
                    fixed_versions: vec!["1.2".into()],
                    published: Some("2026-01-01".into()),
                    group: None,
                    marker: None,
                    declared: Vec::new(),
                }),
                &id,
                Severity::from_cvss_score(5.0 + (adv as f64) / 2.0),
                location.clone(),
                &["dependency", &package, "1.0", &id],
            );
            f.due = Some("2026-01-31".into());
            f.owner = Some("@team".into());
            findings.push(f);
        }
        upgrades.push(Upgrade {
            package,
            from: "1.0".into(),
            to: Some("1.2".into()),
            resolves: 10,
            source: location,
        });
    }
    for i in 0..5000 {
        let file = format!("app/module_{}.py", i / 10);
        let location = Location::new(file.clone(), 1 + i % 10).with_column(5);
        findings.push(Finding::new(
            Detail::Config(ConfigFinding {
                message: "debug=True reaches Application(...)".into(),
                trace: vec![],
            }),
            "TW001",
            if i % 3 == 0 {
                Severity::Info
            } else {
                Severity::High
            },
            location,
            &["config", "TW001", &file, &i.to_string()],
        ));
    }
    Report::from(Audit {
        findings,
        packages: 500,
        upgrades,
        ..Audit::default()
    })
}

fn bench(c: &mut Criterion) {
    let report = report();
    let mut group = c.benchmark_group("emit_10000");
    group.sample_size(20);
    for format in Format::ALL {
        group.bench_function(format.as_str(), |b| {
            b.iter(|| render(&report, format, &Context::default()).len())
        });
        eprintln!(
            "{}: {} bytes",
            format.as_str(),
            render(&report, format, &Context::default()).len()
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
