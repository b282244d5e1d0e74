//! The PEP 440 semantics the audit depends on: ordering (epochs, pre/post/dev, local) and
//! specifier matching (`==1.0.*`, `~=`, `!=`, exclusive bounds), through the same
//! `Spec`/`VersionSpecifiers` types the readers produce.

use stormwatch_manifest::{parse_requirements_str, Spec, Version, VersionSpecifiers};

fn v(s: &str) -> Version {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn allows(spec: &str, version: &str) -> bool {
    spec.parse::<VersionSpecifiers>()
        .unwrap()
        .contains(&v(version))
}

#[test]
fn ordering() {
    let ordered = [
        "1.0.dev0",
        "1.0a1.dev1",
        "1.0a1",
        "1.0a2",
        "1.0b1",
        "1.0rc1",
        "1.0",
        "1.0+local",
        "1.0.post1.dev0",
        "1.0.post1",
        "1.0.1",
        "1.1.dev0",
        "1.1",
        "2!0.1",
    ];
    for w in ordered.windows(2) {
        assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
    }
    assert_eq!(v("1.0"), v("1.0.0"));
    assert_eq!(v("1.0.0.0"), v("1"));
    assert_eq!(v("1.0RC1"), v("1.0rc1"));
    assert_eq!(v("1.0-1"), v("1.0.post1"));
    assert_eq!(v("v1.0"), v("1.0"));
    assert!(v("1!1.0") > v("2025.1"), "an epoch outranks any release");
}

#[test]
fn wildcards_and_compatible_release() {
    assert!(allows("==1.0.*", "1.0"));
    assert!(allows("==1.0.*", "1.0.5"));
    assert!(allows("==1.0.*", "1.0.5.post1"));
    assert!(!allows("==1.0.*", "1.1"));
    assert!(!allows("==1.0.*", "10.0"));
    assert!(allows("!=1.0.*", "1.1"));
    assert!(!allows("!=1.0.*", "1.0.3"));
    assert!(allows("~=1.4.2", "1.4.9"));
    assert!(!allows("~=1.4.2", "1.5"));
    assert!(!allows("~=1.4.2", "1.4.1"));
    assert!(allows("~=1.4", "1.9"));
    assert!(!allows("~=1.4", "2.0"));
}

#[test]
fn exclusions_and_exclusive_bounds() {
    assert!(!allows("!=1.0", "1.0.0"));
    assert!(allows("!=1.0", "1.0.post1"));
    assert!(
        !allows(">1.0", "1.0.post1"),
        "> excludes post-releases of the bound"
    );
    assert!(allows(">1.0", "1.0.1"));
    assert!(
        !allows("<2.0", "2.0rc1"),
        "< excludes pre-releases of the bound"
    );
    assert!(allows("<2.0", "1.9"));
    assert!(allows("<=2.0", "2.0"));
}

#[test]
fn local_versions() {
    assert!(
        allows("==1.0", "1.0+ubuntu1"),
        "local labels are ignored by public specifiers"
    );
    assert!(allows("==1.0+ubuntu1", "1.0+ubuntu1"));
    assert!(!allows("==1.0+ubuntu1", "1.0+ubuntu2"));
    assert!(allows("<1.1", "1.0+local"));
}

#[test]
fn pins_from_requirements_keep_their_exact_text() {
    let inputs = parse_requirements_str(
        std::path::Path::new("r.txt"),
        "a==1.0.0\nb===weird-1\nc==2!1.0.post2.dev3+local.7\n",
    )
    .unwrap();
    let pins: Vec<(String, Option<Version>)> = inputs
        .dependencies
        .iter()
        .map(|d| match &d.spec {
            Spec::Pinned { version, parsed } => (version.clone(), parsed.clone()),
            s => panic!("{s:?}"),
        })
        .collect();
    assert_eq!(pins[0].0, "1.0.0");
    assert_eq!(
        pins[1],
        ("weird-1".to_string(), None),
        "=== keeps a non-PEP 440 version verbatim"
    );
    assert_eq!(pins[2].1.as_ref().unwrap().epoch(), 2);
}
