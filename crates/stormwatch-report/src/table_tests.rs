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
