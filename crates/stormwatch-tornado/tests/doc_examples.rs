//! Every rule's documented example (the `## Example` section `stormwatch explain` prints) is
//! audited as it stands and must give that rule at the rule's severity: the docs and the
//! rule agree. (`stormwatch-cli/tests/doc_examples.rs` runs every rule family's examples from
//! the `explain` text itself.)
//!
//! Each fenced block of the section is a file of a small project: a first line `# PATH`
//! names it, else the block's language does (`python` -> `app.py`, `dockerfile` ->
//! `Dockerfile`, `yaml` -> `docker-compose.yml`, `ini` -> `app.service`).

use std::path::Path;

use stormwatch_tornado::{audit, rules, Selection};

/// The fenced blocks of a rule's `## Example` section: (language, text).
fn example_blocks(docs: &str) -> Vec<(String, String)> {
    let Some(start) = docs.find("## Example\n") else {
        return Vec::new();
    };
    let section = &docs[start + "## Example\n".len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
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
            (None, None) => {}
        }
    }
    blocks
}

/// Where a block goes in the example project.
fn file_name(lang: &str, text: &str) -> Option<String> {
    let first = text.lines().next().unwrap_or("");
    if let Some(path) = first.strip_prefix("# ") {
        if !path.contains(' ') && (path.contains('.') || path.contains('/') || path == "Dockerfile")
        {
            return Some(path.to_string());
        }
    }
    let default = match lang {
        "python" | "py" => "app.py",
        "dockerfile" => "Dockerfile",
        "yaml" | "yml" => "docker-compose.yml",
        "ini" => "app.service",
        _ => return None,
    };
    Some(default.to_string())
}

fn write(root: &Path, name: &str, text: &str) {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn every_documented_example_gives_its_rule() {
    let mut wrong = Vec::new();
    for rule in rules::ALL {
        let blocks = example_blocks(rule.docs);
        let dir = tempfile::tempdir().unwrap();
        let mut files = 0;
        for (lang, text) in &blocks {
            if let Some(name) = file_name(lang, text) {
                write(dir.path(), &name, text);
                files += 1;
            }
        }
        if files == 0 {
            wrong.push(format!("{}: no runnable example", rule.id));
            continue;
        }
        let result = audit(
            dir.path(),
            &Selection {
                select: vec![rule.id.to_string()],
                ..Selection::default()
            },
        );
        let found: Vec<String> = result
            .findings
            .iter()
            .filter(|f| f.id == rule.id)
            .map(|f| format!("{} {}", f.severity, f.message()))
            .collect();
        let at_severity = result
            .findings
            .iter()
            .any(|f| f.id == rule.id && f.severity == rule.severity);
        if !at_severity {
            wrong.push(format!(
                "{}: documented at {}, the example gives {found:?}",
                rule.id, rule.severity
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn example_blocks_are_read_with_their_file_names() {
    let docs = "## Example\n\n```dockerfile\n# Dockerfile\nCMD x\n```\n\n```python\nimport os\n```\n\n## Fix\n\n```python\nfixed\n```\n";
    let blocks = example_blocks(docs);
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        file_name(&blocks[0].0, &blocks[0].1).as_deref(),
        Some("Dockerfile")
    );
    assert_eq!(
        file_name(&blocks[1].0, &blocks[1].1).as_deref(),
        Some("app.py")
    );
}
