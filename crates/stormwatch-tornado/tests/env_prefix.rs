//! Options filled from the environment by a prefix, and settings the analysis cannot follow:
//! followed where the shape is the common one, else reported as an incomplete result.

use std::path::Path;

use stormwatch_tornado::{audit, rules::Target, Selection};

/// Audits `files` written under a new directory: the finding lines ("RULE severity
/// path:line message") and the incomplete-result notices.
fn run(files: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let result = audit(dir.path(), &Selection::default());
    let a = result.into_audit(Target::Production, Path::new("."));
    let findings = a
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}:{} {}",
                f.id,
                f.severity,
                f.location.file,
                f.location.line,
                f.message()
            )
        })
        .collect();
    let incomplete = a
        .incomplete
        .iter()
        .map(|n| format!("{:?}: {}", n.location.as_ref().map(|l| l.line), n.message))
        .collect();
    (findings, incomplete)
}

const LOOP_APP: &str = "import os\n\
import tornado.web\n\
from tornado.options import define, options\n\n\
define('debug', default=False)\n\
define('port', default=8888)\n\n\
for k, v in os.environ.items():\n    if k.startswith('APP_'):\n        setattr(options, k[4:].lower(), v)\n\n\
app = tornado.web.Application([], debug=options.debug)\n";

fn compose(env: &str) -> String {
    format!("services:\n  web:\n    build: .\n    command: python app.py\n    environment:\n{env}")
}

#[test]
fn a_prefixed_variable_in_the_deployment_sets_the_option() {
    let c = compose("      APP_DEBUG: \"true\"\n");
    let (found, incomplete) = run(&[("app.py", LOOP_APP), ("docker-compose.yml", &c)]);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("TW102 high") && f.contains("APP_DEBUG")),
        "{found:#?}"
    );
    assert!(incomplete.is_empty(), "{incomplete:#?}");
}

#[test]
fn a_prefixed_variable_set_off_or_absent_is_no_finding() {
    for env in ["      APP_DEBUG: \"false\"\n", "      APP_PORT: \"80\"\n"] {
        let c = compose(env);
        let (found, incomplete) = run(&[("app.py", LOOP_APP), ("docker-compose.yml", &c)]);
        assert!(
            !found.iter().any(|f| !f.contains(" info ")),
            "{env}: {found:#?}"
        );
        assert!(incomplete.is_empty(), "{incomplete:#?}");
    }
}

/// A filter function, the prefix in a constant, `replace` and `__setattr__`.
#[test]
fn filter_function_and_prefix_constant() {
    let app = "import os\n\
import tornado.web\n\
from tornado.options import define, options\n\n\
PREFIX = 'SVC_'\n\
define('debug', default=False)\n\n\n\
def is_ours(name):\n    return name.startswith(PREFIX)\n\n\n\
def apply_env():\n    names = filter(is_ours, os.environ)\n    for name in names:\n        key = name.replace(PREFIX, '', 1).lower()\n        options.__setattr__(key, os.environ[name])\n\n\n\
def main():\n    apply_env()\n    app = tornado.web.Application([], debug=options.debug)\n    app.listen(8000)\n\n\n\
if __name__ == '__main__':\n    main()\n";
    let c = compose("      SVC_DEBUG: \"1\"\n");
    let (found, _) = run(&[("app.py", app), ("docker-compose.yml", &c)]);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("TW102 high") && f.contains("SVC_DEBUG")),
        "{found:#?}"
    );
}

#[test]
fn an_unreadable_prefix_is_an_incomplete_result() {
    let app = "import os\n\
import tornado.web\n\
from tornado.options import define, options\n\
from naming import option_name\n\n\
define('debug', default=False)\n\n\
for k, v in os.environ.items():\n    setattr(options, option_name(k), v)\n\n\
app = tornado.web.Application([], debug=options.debug)\n";
    let (_, incomplete) = run(&[("app.py", app)]);
    assert!(
        incomplete
            .iter()
            .any(|n| n.contains("could not determine `debug`")
                && n.contains("environment variables by a prefix")),
        "{incomplete:#?}"
    );
}

#[test]
fn settings_from_an_unknown_mapping_are_an_incomplete_result() {
    let app = "import tornado.web\nfrom loader import load_settings\n\n\
app = tornado.web.Application([], **load_settings())\n";
    let (_, incomplete) = run(&[("app.py", app)]);
    assert!(
        incomplete
            .iter()
            .any(|n| n.starts_with("Some(4)") && n.contains("`debug`") && n.contains("`**`")),
        "{incomplete:#?}"
    );
    // Every setting written out: nothing left to determine.
    let app = "import tornado.web\n\napp = tornado.web.Application([], debug=False)\n";
    let (_, incomplete) = run(&[("app.py", app)]);
    assert!(incomplete.is_empty(), "{incomplete:#?}");
}

/// Other options keep what the code gives them unless a deployment file sets their
/// variable: `if options.url_prefix:` stays decided by its default.
#[test]
fn options_no_deployment_sets_keep_their_default() {
    let app = "import os\n\
import tornado.web\n\
from tornado.options import define, options\n\n\
define('url_prefix', default='')\n\n\
for k, v in os.environ.items():\n    if k.startswith('APP_'):\n        setattr(options, k[4:].lower(), v)\n\n\
settings = dict(debug=False)\n\
if options.url_prefix:\n    settings['debug'] = True\n\
app = tornado.web.Application([], **settings)\n";
    let c = compose("      APP_PORT: \"80\"\n");
    let (found, incomplete) = run(&[("app.py", app), ("docker-compose.yml", &c)]);
    // The same as without the loop.
    let plain = app.replace("for k, v in os.environ.items():", "for k, v in {}.items():");
    let (without, _) = run(&[("app.py", &plain), ("docker-compose.yml", &c)]);
    assert_eq!(found, without);
    assert!(incomplete.is_empty(), "{incomplete:#?}");
}

/// A module's settings dict filled in by a setup function, options from the environment by
/// prefix, and the application built from `**settings` in another module.
#[test]
fn settings_dict_filled_by_a_setup_function() {
    let urls = "settings = dict(template_path='t')\n";
    let main = "import os\n\
import tornado.web\n\
from tornado.options import define, options\n\n\
from app.urls import settings\n\n\
define('debug', default=False)\n\n\n\
def apply_env():\n    for k in filter(lambda n: n.startswith('SVC_'), os.environ):\n        setattr(options, k.replace('SVC_', '', 1).lower(), os.environ[k])\n\n\n\
def extract_settings():\n    settings['debug'] = options.debug\n\n\n\
def local_only():\n    settings = {}\n    settings['debug'] = True\n    return settings\n\n\n\
def main():\n    apply_env()\n    extract_settings()\n    app = tornado.web.Application([], **settings)\n    app.listen(8000)\n\n\n\
if __name__ == '__main__':\n    main()\n";
    let files = |env: &str| {
        (
            compose(env).replace("python app.py", "python -m app.main"),
            [
                ("app/__init__.py", ""),
                ("app/urls.py", urls),
                ("app/main.py", main),
            ],
        )
    };
    let (c, f) = files("      SVC_DEBUG: \"true\"\n");
    let mut all: Vec<(&str, &str)> = f.to_vec();
    all.push(("docker-compose.yml", &c));
    let (found, _) = run(&all);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("TW102 high") && f.contains("SVC_DEBUG")),
        "{found:#?}"
    );
    // Unset: debug keeps its default, and the local dict's `True` is not the module's.
    let (c, f) = files("      SVC_PORT: \"80\"\n");
    let mut all: Vec<(&str, &str)> = f.to_vec();
    all.push(("docker-compose.yml", &c));
    let (found, _) = run(&all);
    assert!(!found.iter().any(|f| !f.contains(" info ")), "{found:#?}");

    // Through an Application subclass whose constructor passes `**kwargs` on.
    let sub = main
        .replace(
            "def main():",
            "class App(tornado.web.Application):\n    def __init__(self, **kwargs):\n        super().__init__([], **kwargs)\n\n\ndef main():",
        )
        .replace("tornado.web.Application([], **settings)", "App(**settings)");
    let c = compose("      SVC_DEBUG: \"true\"\n").replace("python app.py", "python -m app.main");
    let (found, _) = run(&[
        ("app/__init__.py", ""),
        ("app/urls.py", urls),
        ("app/main.py", &sub),
        ("docker-compose.yml", &c),
    ]);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("TW102 high") && f.contains("SVC_DEBUG")),
        "{found:#?}"
    );
}

/// `options[name] = value` (Tornado's `OptionParser.__setitem__`) in the loop.
#[test]
fn item_assignment_on_options() {
    let app = LOOP_APP.replace(
        "setattr(options, k[4:].lower(), v)",
        "options[k[4:].lower()] = v",
    );
    let c = compose("      APP_DEBUG: \"yes\"\n");
    let (found, _) = run(&[("app.py", &app), ("docker-compose.yml", &c)]);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("TW102 high") && f.contains("APP_DEBUG")),
        "{found:#?}"
    );
    // A dict of another name is not the options.
    let other = app.replace(
        "options[k[4:].lower()] = v",
        "config = {}\n        config[k] = v",
    );
    let (found, _) = run(&[("app.py", &other), ("docker-compose.yml", &c)]);
    assert!(!found.iter().any(|f| f.starts_with("TW102")), "{found:#?}");
}
