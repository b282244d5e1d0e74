//! The policy file's parser: shapes, errors and discovery.

use super::*;

fn parse_ok(text: &str) -> Policy {
    parse(text, Path::new("stormwatch.toml"), false)
        .unwrap()
        .unwrap()
}

fn parse_err(text: &str) -> String {
    parse(text, Path::new("stormwatch.toml"), false)
        .unwrap_err()
        .to_string()
}

#[test]
fn the_documented_shape_parses() {
    let p = parse_ok(starter::STARTER);
    assert_eq!(p.fail_on, Some(Threshold::High));
    assert_eq!(p.deadlines.critical, Some(2));
    assert!(p.deadlines.fail_on_overdue);
    let p = parse_ok(
        r#"
fail-on = "medium"
unknown-severity = "fail"
environment = "production"

[deadlines]
high = 7

[owners]
"Tornado" = "@web"
"app/**" = "@app"

[[ignore]]
id = "GHSA-xxxx-xxxx-xxxx"
package = "Tornado"
version = "<6.5"
path = "scripts/**"
reason = "not reachable"
expires = "2027-01-31"
until-fixed = true
"#,
    );
    assert_eq!(p.unknown_severity, Some(UnknownSeverity::Fail));
    assert_eq!(p.owners.len(), 2);
    assert!(matches!(&p.owners[0].scope, OwnerScope::Package(m) if m.is_match("tornado")));
    assert!(matches!(&p.owners[1].scope, OwnerScope::Path(m) if m.is_match("app/x/y.py")));
    let i = &p.ignores[0];
    assert_eq!(i.package.as_deref(), Some("tornado"));
    assert_eq!(i.line, 14);
    assert_eq!(i.expires, parse_date("2027-01-31"));
    assert!(i.until_fixed);
}

#[test]
fn unknown_keys_and_bad_values_are_errors_with_lines() {
    assert_eq!(
        parse_err("fail_on = \"high\"\n"),
        "stormwatch.toml:1: unknown key `fail_on` in the policy (did you mean `fail-on`?)"
    );
    assert_eq!(
        parse_err("\nfail-on = \"severe\"\n"),
        "stormwatch.toml:2: fail-on: unknown threshold `severe` (expected low, medium, high, critical or none)"
    );
    assert!(parse_err("[deadlines]\nhigh = -1\n").starts_with("stormwatch.toml:2: deadlines.high"));
    assert!(parse_err("[deadlines]\nurgent = 1\n").contains("unknown key `urgent` in [deadlines]"));
    assert_eq!(
        parse_err("[[ignore]]\nid = \"PYSEC-1\"\n"),
        "stormwatch.toml:2: the ignore of PYSEC-1 needs a `reason`"
    );
    assert!(
        parse_err("[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"31/01/2027\"\n")
            .starts_with("stormwatch.toml:4: expires")
    );
    assert!(
        parse_err("[[ignore]]\nid = \"X\"\nreason = \"r\"\nversion = \"<<6\"\n")
            .starts_with("stormwatch.toml:4: version")
    );
    assert!(
        parse_err("[[ignore]]\nid = \"X\"\nreason = \"r\"\nscope = \"all\"\n")
            .contains("unknown key `scope` in [[ignore]]")
    );
    assert!(parse_err("environment = \"staging\"\n").contains("expected production or development"));
    assert!(parse_err("fail-on = [\n").starts_with("stormwatch.toml:"));
    assert!(parse_err("[owners]\n\"a[\" = \"@x\"\n").contains("invalid pattern"));
}

#[test]
fn pyproject_table_is_found_and_others_ignored() {
    let p = parse(
        "[project]\nname = \"x\"\n[tool.stormwatch]\nfail-on = \"critical\"\n",
        Path::new("pyproject.toml"),
        true,
    )
    .unwrap()
    .unwrap();
    assert_eq!(p.fail_on, Some(Threshold::Critical));
    assert!(parse("[tool.ruff]\n", Path::new("pyproject.toml"), true)
        .unwrap()
        .is_none());
    let err = parse(
        "[tool.stormwatch]\nfail-on = \"high\"\nfailon = 1\n",
        Path::new("pyproject.toml"),
        true,
    )
    .unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.message.contains("in [tool.stormwatch]"));
}

#[test]
fn fixtures_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let p = load(&dir.join("stormwatch.toml"), false).unwrap().unwrap();
    assert_eq!(p.ignores.len(), 2);
    assert_eq!(p.ignores[0].line, 18);
    let b = baseline::load(&dir.join("baseline.json")).unwrap();
    assert_eq!(b[0].location.line, 3);
}

#[test]
fn discovery_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    assert!(discover(root, None).unwrap().is_none());
    std::fs::write(
        root.join("pyproject.toml"),
        "[tool.stormwatch]\nfail-on = \"low\"\n",
    )
    .unwrap();
    assert_eq!(
        discover(root, None).unwrap().unwrap().fail_on,
        Some(Threshold::Low)
    );
    std::fs::write(root.join("stormwatch.toml"), "fail-on = \"none\"\n").unwrap();
    assert_eq!(
        discover(root, None).unwrap().unwrap().fail_on,
        Some(Threshold::None)
    );
    let other = root.join("other.toml");
    std::fs::write(&other, "fail-on = \"critical\"\n").unwrap();
    assert_eq!(
        discover(root, Some(&other)).unwrap().unwrap().fail_on,
        Some(Threshold::Critical)
    );
    let err = discover(root, Some(&root.join("missing.toml"))).unwrap_err();
    assert!(err.to_string().contains("missing.toml"));
}

#[test]
fn advisories_and_monitor_tables() {
    let p = parse_ok(
        "[advisories]\nmax-age = 3\nsources = [\"default\", \"./vulns\"]\n\n[monitor]\nproject = \"shop\"\ndeadline-warning = 2\n\n[[monitor.channel]]\ntype = \"slack\"\nurl-env = \"SLACK\"\nmin-severity = \"high\"\n\n[[monitor.channel]]\ntype = \"email\"\nsmtp = \"mail:25\"\nto = [\"a@b\"]\nfrom = \"s@b\"\n",
    );
    assert_eq!(p.advisories.max_age, Some(3));
    assert_eq!(p.advisories.sources, ["default", "./vulns"]);
    assert_eq!(p.monitor.project.as_deref(), Some("shop"));
    assert_eq!(p.monitor.deadline_warning, Some(2));
    assert_eq!(p.monitor.channels.len(), 2);
    assert_eq!(
        p.monitor.channels[0].target,
        monitor::Target::Env("SLACK".into())
    );
    assert_eq!(p.monitor.channels[0].min_severity, Threshold::High);
    assert_eq!(p.monitor.channels[1].kind, monitor::ChannelKind::Email);
    assert_eq!(p.monitor.channels[1].line, 14);
    for (text, expected) in [
        (
            "[advisories]\nmax_age = 3\n",
            "stormwatch.toml:2: unknown key `max_age` in [advisories] (did you mean `max-age`?)",
        ),
        (
            "[advisories]\nmax-age = \"7d\"\n",
            "stormwatch.toml:2: advisories.max-age must be a number of days",
        ),
        (
            "[[monitor.channel]]\ntype = \"pager\"\nurl = \"x\"\n",
            "unknown type `pager`",
        ),
        ("[[monitor.channel]]\ntype = \"slack\"\n", "needs `url-env`"),
        (
            "[[monitor.channel]]\ntype = \"email\"\nsmtp = \"m\"\n",
            "needs `to` and `from`",
        ),
        (
            "[[monitor.channel]]\ntype = \"webhook\"\nurl = \"x\"\nmin-severity = \"loud\"\n",
            "min-severity",
        ),
    ] {
        let err = parse_err(text);
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}

#[test]
fn hostile_patterns_are_errors_not_crashes() {
    let nested = format!(
        "[owners]\n\"{}a{}\" = \"@x\"\n",
        "{".repeat(250),
        "}".repeat(250)
    );
    assert_eq!(
        parse_err(&nested),
        "stormwatch.toml:2: pattern too deeply nested (more than 16 levels of `{`)"
    );
    let long = format!(
        "[[ignore]]\nid = \"TW001\"\nreason = \"r\"\npath = \"{}\"\n",
        "a".repeat(2000)
    );
    assert!(parse_err(&long).starts_with("stormwatch.toml:4: pattern too long"));
    // Escaped braces do not nest; sixteen levels are fine.
    let p = parse_ok(&format!(
        "[owners]\n\"{}a{}/x\" = \"@x\"\n'{}' = \"@y\"\n",
        "{".repeat(16),
        "}".repeat(16),
        "\\{".repeat(20)
    ));
    assert_eq!(p.owners.len(), 2);
}

#[test]
fn inline_ignores_setting() {
    assert_eq!(
        parse_ok("inline-ignores = \"deny\"\n").inline_ignores,
        Some(InlineIgnores::Deny)
    );
    assert_eq!(parse_ok("fail-on = \"high\"\n").inline_ignores, None);
    assert_eq!(
        parse_err("\ninline-ignores = \"never\"\n"),
        "stormwatch.toml:2: inline-ignores: unknown value `never` (expected allow, report-only or deny)"
    );
}
