//! The policy file (stormwatch.toml and [tool.stormwatch] in pyproject.toml), its path and
//! package patterns, and baselines: all come from the scanned repository or a team file.
#![no_main]

mod common;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

/// `text` as a TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match selector % 4 {
        0 => {
            let _ = stormwatch_policy::parse(text, Path::new("stormwatch.toml"), false);
        }
        1 => {
            let _ = stormwatch_policy::parse(text, Path::new("pyproject.toml"), true);
        }
        2 => {
            let _ = stormwatch_policy::baseline::parse(text, Path::new("baseline.json"));
        }
        _ => {
            // The input as a pattern: an owner of packages, of paths, and an ignore's path;
            // whatever compiles is then matched against itself and a few paths.
            let q = quoted(text);
            let policy = format!(
                "[owners]\n{q} = \"@a\"\n\"{}/x\" = \"@b\"\n\n[[ignore]]\nid = \"TW001\"\nreason = \"r\"\npath = {q}\n",
                q.trim_matches('"')
            );
            if let Ok(Some(p)) =
                stormwatch_policy::parse(&policy, Path::new("stormwatch.toml"), false)
            {
                for o in &p.owners {
                    let m = match &o.scope {
                        stormwatch_policy::OwnerScope::Package(m) => m,
                        stormwatch_policy::OwnerScope::Path(m) => m,
                    };
                    for path in [text, "app/main.py", "tornado", ""] {
                        let _ = m.is_match(path);
                    }
                }
                for i in &p.ignores {
                    if let Some((_, m)) = &i.path {
                        let _ = m.is_match(text);
                    }
                }
            }
        }
    }
});
