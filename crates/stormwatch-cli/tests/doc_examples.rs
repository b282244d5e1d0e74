//! Every rule's documented example, as `stormwatch explain` prints it, run through the
//! command that judges it: the rule must come out at the severity the page gives (its
//! `Severity:` line, or a `Reported at SEVERITY` sentence of the example when the page says
//! it differs). The docs and the rules agree.
//!
//! Each fenced block of `## Example` is a file: a first line `# PATH` names it, else its
//! language (`python` -> `app.py`, `dockerfile` -> `Dockerfile`, `yaml` ->
//! `docker-compose.yml`, `ini` -> `app.service`, `text` -> `requirements.txt`).

use std::fs;
use std::path::Path;

mod common;
use common::{json_of, sw};

/// The probe rules judge live HTTP responses: their examples describe a response, not files,
/// and `tests/probe.rs` checks each against a running Tornado server.
const PROBE: &str = "TW3";

fn stdout(home: &Path, args: &[&str]) -> String {
    let out = sw(home).args(args).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The fenced blocks of the `## Example` section and the section's prose.
fn example(page: &str) -> (Vec<(String, String)>, String) {
    let Some(start) = page.find("## Example\n") else {
        return (Vec::new(), String::new());
    };
    let section = &page[start + "## Example\n".len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let (mut blocks, mut prose) = (Vec::new(), String::new());
    let mut open: Option<(String, String)> = None;
    for line in section.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(lang), None) => open = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(block)) => blocks.push(block),
            (None, Some((lang, mut text))) => {
                text.push_str(line);
                text.push('\n');
                open = Some((lang, text));
            }
            (None, None) => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    (blocks, prose)
}

fn file_name(lang: &str, text: &str) -> Option<String> {
    let first = text.lines().next().unwrap_or("");
    if let Some(path) = first.strip_prefix("# ") {
        if !path.contains(' ') && (path.contains('.') || path.contains('/') || path == "Dockerfile")
        {
            return Some(path.to_string());
        }
    }
    Some(
        match lang {
            "python" | "py" => "app.py",
            "dockerfile" => "Dockerfile",
            "yaml" | "yml" => "docker-compose.yml",
            "ini" => "app.service",
            "text" => "requirements.txt",
            _ => return None,
        }
        .to_string(),
    )
}

/// The severity the page documents for its example.
fn documented_severity(page: &str, prose: &str) -> String {
    if let Some(rest) = prose.split("Reported at ").nth(1) {
        return rest
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap()
            .to_string();
    }
    page.lines()
        .find_map(|l| l.strip_prefix("Severity: "))
        .expect("explain prints a Severity line")
        .trim()
        .to_string()
}

/// The command that judges a rule's example, by the rule's family.
fn command(id: &str) -> Vec<&'static str> {
    match &id[..3] {
        "TW2" => vec!["deps", "--format", "json", "--fail-on", "none", "."],
        // Denied inline suppressions are findings only under that policy, as the page says.
        "TW4" => vec![
            "config",
            "--inline-ignores",
            "deny",
            "--format",
            "json",
            "--fail-on",
            "none",
            ".",
        ],
        _ => vec!["config", "--format", "json", "--fail-on", "none", "."],
    }
}

/// Why a rule's page and the rule disagree on its example, if they do.
fn disagreement(home: &Path, id: &str, page: &str) -> Option<String> {
    let (blocks, prose) = example(page);
    let expected = documented_severity(page, &prose);
    let dir = tempfile::tempdir().unwrap();
    let mut files = 0;
    for (lang, text) in &blocks {
        if let Some(name) = file_name(lang, text) {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
            files += 1;
        }
    }
    if files == 0 {
        return Some(format!("{id}: no example to run"));
    }
    let out = sw(home)
        .current_dir(dir.path())
        .args(command(id))
        .output()
        .unwrap();
    let report = json_of(&out.stdout);
    let found: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .map(|f| f["severity"].as_str().unwrap_or_default().to_string())
        .collect();
    (!found.contains(&expected))
        .then(|| format!("{id}: documented at {expected}, the example gives {found:?}"))
}

#[test]
fn every_documented_example_gives_its_rule_at_its_severity() {
    let home = tempfile::tempdir().unwrap();
    let ids: Vec<String> = stdout(home.path(), &["rules"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert!(ids.len() > 30, "{ids:?}");
    let wrong: Vec<String> = ids
        .iter()
        .filter(|id| !id.starts_with(PROBE))
        .filter_map(|id| disagreement(home.path(), id, &stdout(home.path(), &["explain", id])))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn an_example_its_rule_does_not_flag_is_a_disagreement() {
    let home = tempfile::tempdir().unwrap();
    // XSRF on: nothing for TW008 to report.
    let page = "Severity: medium\n\n## Example\n\n```python\nimport tornado.web\n\napp = tornado.web.Application([], xsrf_cookies=True)\n```\n\n## Fix\n";
    let found = disagreement(home.path(), "TW008", page);
    assert!(found.is_some_and(|w| w.contains("documented at medium")));
}

#[test]
fn example_sections_and_documented_severities_are_read() {
    let page = "Severity: medium\n\n## Example\n\n```python\n# app/server.py\nx = 1\n```\n\nReported at high: the worst advisory.\n\n## Fix\n\n```python\nfixed\n```\n";
    let (blocks, prose) = example(page);
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        file_name(&blocks[0].0, &blocks[0].1).as_deref(),
        Some("app/server.py")
    );
    assert_eq!(documented_severity(page, &prose), "high");
    assert_eq!(documented_severity("Severity: low\n", ""), "low");
}
