//! A small report with one finding of each kind, shared by the format tests.

use stormwatch_findings::*;

pub const RULES: &[&RuleInfo] = &[&RuleInfo {
    id: "TW001",
    name: "debug-mode",
    severity: Severity::High,
    summary: "debug=True reaches a production Application",
    docs: "## What it catches\n\n`Application(debug=True)`.\n",
}];

fn dependency(id: &str, aliases: &[&str], severity: Severity, score: Option<f64>) -> Finding {
    let location = Location::new("requirements.txt", 3);
    let mut f = Finding::new(
        Detail::Dependency(DependencyFinding {
            package: "tornado".into(),
            version: "6.1".into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            cvss: score.map(|score| CvssScore {
                kind: "CVSS_V3".into(),
                vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into(),
                score,
            }),
            summary: "Unlimited multipart parts stall the event loop.".into(),
            fixed_versions: vec!["6.5.5".into()],
            published: Some("2026-03-11".into()),
            group: None,
            marker: None,
            declared: Vec::new(),
        }),
        id,
        severity,
        location,
        &["dependency", "tornado", "6.1", id, "requirements.txt"],
    );
    f.due = Some("2026-03-18".into());
    f.overdue = true;
    f.owner = Some("@web-platform".into());
    f
}

pub fn report() -> Report {
    let pinned = Location::new("pyproject.toml", 7);
    let unpinned = Finding::new(
        Detail::Unpinned(UnpinnedFinding {
            package: "tornado".into(),
            specifier: ">=5".into(),
            ids: vec!["PYSEC-2023-75".into()],
            example_version: "5".into(),
            fixed_versions: vec!["6.5.8".into()],
            group: None,
        }),
        "TW201",
        Severity::Medium,
        pinned,
        &["unpinned", "tornado", ">=5", "pyproject.toml"],
    );
    let vendored = Location::new("requirements.txt", 9);
    let unauditable = Finding::new(
        Detail::Unauditable(UnauditableFinding {
            package: "mylib".into(),
            reason: "local path".into(),
            reference: "./vendor/mylib".into(),
        }),
        "TW202",
        Severity::Info,
        vendored,
        &["unauditable", "mylib", "./vendor/mylib", "requirements.txt"],
    );
    let app = Location::new("app/main.py", 12).with_column(5);
    let mut config = Finding::new(
        Detail::Config(ConfigFinding {
            message: "debug=True reaches Application(...)".into(),
            trace: vec![],
        }),
        "TW001",
        Severity::High,
        app,
        &["config", "TW001", "app/main.py", "debug=True"],
    );
    config.suppression = Some(Suppression {
        kind: SuppressionKind::Inline,
        reason: "local demo only".into(),
        expires: None,
        expired: false,
    });
    let request = ProbeRequest {
        method: "GET".into(),
        url: "https://app.example/stormwatch-probe-1".into(),
        status: Some(404),
    };
    let probe = Finding::new(
        Detail::Probe(ProbeFinding {
            rule: "TW302".into(),
            message: "the service sends a Python traceback in its error response".into(),
            request: request.clone(),
            evidence: Some("tornado.web.HTTPError: HTTP 404: Not Found".into()),
            vulnerability: None,
        }),
        "TW302",
        Severity::High,
        Location::new(request.url.clone(), 0),
        &["probe", "TW302", "https://app.example", "traceback"],
    );
    let mut r = Report::from(Audit {
        findings: vec![
            dependency(
                "PYSEC-2026-140",
                &["CVE-2026-31958", "GHSA-qjxf-f2mg-c6mc"],
                Severity::High,
                Some(7.5),
            ),
            dependency("GHSA-aaaa-bbbb-cccc", &[], Severity::Critical, Some(9.8)),
            unpinned,
            unauditable,
            config,
            probe,
        ],
        packages: 4,
        inputs: vec!["requirements.txt".into(), "pyproject.toml".into()],
        upgrades: vec![Upgrade {
            package: "tornado".into(),
            from: "6.1".into(),
            to: Some("6.5.8".into()),
            resolves: 2,
            source: Location::new("requirements.txt", 3),
        }],
        advisory_data: Some(DataSource {
            description: "bundled Tornado set".into(),
            as_of: Some("2026-11-23".into()),
            advisories: 20,
            ..DataSource::default()
        }),
        ..Audit::default()
    });
    r.tool = "stormwatch 0.0.0-test".into();
    r
}
