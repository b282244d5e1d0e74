//! The terminal report's layout.

use super::*;
use crate::{sample, Options};

fn ctx(options: Options) -> Context<'static> {
    Context {
        options,
        ..Context::default()
    }
}

#[test]
fn snapshot() {
    insta::assert_snapshot!(table(&sample::report(), &ctx(Options::default())));
}

#[test]
fn verbose_snapshot() {
    let opts = Options {
        verbose: true,
        ..Options::default()
    };
    insta::assert_snapshot!(table(&sample::report(), &ctx(opts)));
}

#[test]
fn one_block_per_vulnerable_package() {
    let text = table(&sample::report(), &ctx(Options::default()));
    assert_eq!(text.matches("tornado 6.1 -> 6.5.8").count(), 1, "{text}");
    assert!(text.contains("2 advisories: 1 critical, 1 high"), "{text}");
    assert!(text.contains("OVERDUE since 2026-03-18"), "{text}");
    assert!(text.contains("owner @web-platform"), "{text}");
    assert!(
        !text.contains("debug=True"),
        "suppressed findings only with --verbose"
    );
    assert!(text.ends_with("1 suppressed.\n"), "{text}");
}

#[test]
fn color_only_when_asked() {
    let plain = table(&sample::report(), &ctx(Options::default()));
    assert!(!plain.contains('\u{1b}'));
    let colored = table(
        &sample::report(),
        &ctx(Options {
            color: true,
            ..Options::default()
        }),
    );
    assert!(colored.contains("\u{1b}["));
}

#[test]
fn quiet_keeps_only_findings() {
    let q = table(
        &sample::report(),
        &ctx(Options {
            quiet: true,
            ..Options::default()
        }),
    );
    assert!(!q.contains("Audited"));
    assert!(q.contains("PYSEC-2026-140"));
}

#[test]
fn served_version_findings_are_counted_on_their_own() {
    let mut report = sample::report();
    let pinned = report
        .findings
        .iter()
        .find(|f| matches!(f.detail, Detail::Dependency(_)))
        .unwrap()
        .clone();
    let Detail::Dependency(d) = pinned.detail.clone() else {
        unreachable!()
    };
    let mut served = pinned.clone();
    served.detail = Detail::Probe(stormwatch_findings::ProbeFinding {
        rule: "TW301".into(),
        message: "the service runs tornado 6.1".into(),
        request: stormwatch_findings::ProbeRequest {
            method: "GET".into(),
            url: "https://app.example/".into(),
            status: Some(200),
        },
        evidence: None,
        vulnerability: Some(d),
    });
    served.fingerprint.push_str("-served");
    report.findings.push(served);
    let text = table(&report, &ctx(Options::default()));
    assert!(
        text.contains("; 2 known vulnerabilities in declared versions; 1 known vulnerability in the version the service runs"),
        "{text}"
    );
}

#[test]
fn every_declared_place_is_listed_once() {
    let mut report = sample::report();
    for f in &mut report.findings {
        if let Detail::Dependency(d) = &mut f.detail {
            d.declared = vec![
                f.location.clone(),
                stormwatch_findings::Location::new("uv.lock", 40),
            ];
        }
    }
    let text = table(&report, &ctx(Options::default()));
    assert!(text.contains("requirements.txt:3, uv.lock:40"), "{text}");
    assert_eq!(text.matches("tornado 6.1 -> 6.5.8").count(), 1, "{text}");
}
