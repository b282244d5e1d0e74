//! Settings the analysis could not determine where they reach an application: a value it
//! stopped following (with its reason), or settings passed through something it cannot
//! read (`**` of an unknown mapping, a partial, a computed key). These make the audit
//! incomplete, named by setting, place and reason: never a silent pass.

use stormwatch_findings::{Location, Notice};

use crate::engine::AppSite;
use crate::value::Val;

/// The settings a production checklist depends on.
const WATCHED: &[&str] = &[
    "debug",
    "autoreload",
    "serve_traceback",
    "compiled_template_cache",
    "static_hash_cache",
    "cookie_secret",
    "xsrf_cookies",
];

/// One setting of one application that could not be determined.
#[derive(Debug, Clone)]
pub struct Undetermined {
    pub setting: String,
    /// Where (relative to the scanned root), and why.
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// The undetermined watched settings of applications outside test code.
pub(crate) fn of(
    apps: &[AppSite],
    display: impl Fn(&std::path::Path) -> String,
) -> Vec<Undetermined> {
    let mut out: Vec<Undetermined> = Vec::new();
    for app in apps {
        if crate::rules::is_test_file(std::path::Path::new(&display(&app.path))) {
            continue;
        }
        for key in WATCHED {
            let value = app.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            let (file, line, reason) = match value {
                Some(v) => match &v.val {
                    Val::Opaque(reason) => {
                        let origin = v.chain.first();
                        (
                            origin.map_or_else(|| display(&app.path), |s| display(&s.file)),
                            origin.map_or(app.line, |s| s.line),
                            format!("its value is {reason}"),
                        )
                    }
                    _ => continue,
                },
                None if !app.complete => (
                    display(&app.path),
                    app.line,
                    "the settings pass through a mapping or call the analysis cannot follow (`**` of an unknown mapping, a partial, a computed key)".to_string(),
                ),
                None => continue,
            };
            let u = Undetermined {
                setting: key.to_string(),
                file,
                line,
                reason,
            };
            if !out
                .iter()
                .any(|o| o.setting == u.setting && o.file == u.file && o.line == u.line)
            {
                out.push(u);
            }
        }
    }
    out
}

/// One incomplete-result notice per place and reason (naming every setting it leaves
/// open), and each setting with its notice.
pub(crate) fn notices(list: &[Undetermined]) -> (Vec<Notice>, Vec<(String, Notice)>) {
    let mut grouped: Vec<(&str, usize, &str, Vec<&str>)> = Vec::new();
    for u in list {
        match grouped
            .iter_mut()
            .find(|(f, l, r, _)| *f == u.file && *l == u.line && *r == u.reason)
        {
            Some(g) => g.3.push(&u.setting),
            None => grouped.push((&u.file, u.line, &u.reason, vec![&u.setting])),
        }
    }
    let mut incomplete = Vec::new();
    let mut settings = Vec::new();
    for (file, line, reason, keys) in grouped {
        let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
        let notice = Notice::at(
            Location::new(file.to_string(), line),
            format!("could not determine {}: {reason}", names.join(", ")),
        );
        settings.extend(keys.iter().map(|k| (k.to_string(), notice.clone())));
        incomplete.push(notice);
    }
    (incomplete, settings)
}
