//! The ways real applications pass settings and routes, each as a small project written to a
//! temporary directory: the finding that must come out (or must not), with where it points.

use stormwatch_tornado::{audit, Selection};

/// Writes `files` (path, content) under a new directory and audits it for `rules`; returns
/// "RULE severity path:line message" lines, sorted.
fn findings(files: &[(&str, &str)], rules: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let result = audit(
        dir.path(),
        &Selection {
            select: rules.iter().map(|r| r.to_string()).collect(),
            ..Selection::default()
        },
    );
    assert!(result.skipped.is_empty(), "{:?}", result.skipped);
    let mut out: Vec<String> = result
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
    out.sort();
    out
}

fn has(found: &[String], needle: &str) -> bool {
    found.iter().any(|f| f.contains(needle))
}

/// `options` handed to a settings function as a parameter, the settings dict returned by it,
/// passed to `make_app(handlers, settings)` and updated there (webssh's shape).
#[test]
fn options_parameter_returned_settings_and_update_on_a_parameter() {
    let settings = "from tornado.options import define\n\n\
define('debug', type=bool, default=True)\n\
define('xsrf', type=bool, default=True)\n\n\n\
def get_app_settings(options):\n    settings = dict(\n        debug=options.debug,\n        xsrf_cookies=options.xsrf,\n    )\n    return settings\n";
    let main = "import tornado.web\nfrom tornado.options import options\n\n\
from app.settings import get_app_settings\n\n\n\
class Handler(tornado.web.RequestHandler):\n    pass\n\n\n\
def make_app(handlers, settings):\n    settings.update(default_handler_class=Handler)\n    return tornado.web.Application(handlers, **settings)\n\n\n\
def main():\n    options.parse_command_line()\n    app = make_app([(r'/', Handler)], get_app_settings(options))\n    app.listen(8888)\n";
    let found = findings(
        &[
            ("app/__init__.py", ""),
            ("app/settings.py", settings),
            ("app/main.py", main),
        ],
        &["TW001", "TW008"],
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("TW001 high app/settings.py:3 "),
        "{found:#?}"
    );
}

/// Settings built in an `Application` subclass's `__init__` as an instance attribute, then
/// passed with `**self.tornado_settings`: `xsrf_cookies=True` is seen, nothing is "not set".
#[test]
fn instance_attribute_settings_in_an_application_subclass() {
    let src = "import tornado.web\n\n\
class Base(tornado.web.RequestHandler):\n    def get_current_user(self):\n        return self.get_secure_cookie('user')\n\n\
class Save(Base):\n    @tornado.web.authenticated\n    def post(self):\n        pass\n\n\
class App(tornado.web.Application):\n    def __init__(self):\n        self.tornado_settings = {'xsrf_cookies': True, 'cookie_secret': load()}\n        super().__init__([(r'/save', Save)], **self.tornado_settings)\n\n\
class Unsafe(tornado.web.Application):\n    def __init__(self):\n        self.tornado_settings = self.init_settings()\n        super().__init__([(r'/save', Save)], **self.tornado_settings)\n\n    def init_settings(self):\n        return dict(debug=False)\n";
    let found = findings(&[("server.py", src)], &["TW008"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("TW008 medium server.py:20 ")
            && found[0].contains("Save.post accepts cookie-authenticated"),
        "{found:#?}"
    );
}

/// `app.settings[...] = True` after construction reaches the application.
#[test]
fn settings_written_after_construction() {
    let src = "import tornado.web\n\n\
app = tornado.web.Application([])\napp.settings['serve_traceback'] = True\n";
    let found = findings(&[("server.py", src)], &["TW003"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("TW003 high server.py:4 "),
        "{found:#?}"
    );
}

/// `Application(...)` inside a lambda and a `match` case.
#[test]
fn application_in_lambda_and_match_case() {
    let src = "import tornado.web\n\n\
make = lambda: tornado.web.Application([], debug=True)\n\n\
def build(mode):\n    match mode:\n        case 'serve':\n            return tornado.web.Application([], autoreload=True)\n";
    let found = findings(&[("server.py", src)], &["TW001", "TW002"]);
    assert!(has(&found, "TW001 high server.py:3 "), "{found:#?}");
    assert!(has(&found, "TW002 high server.py:8 "), "{found:#?}");
}

/// `parse_config_file("server.conf")`: Tornado runs the file as Python whatever its name;
/// the option's default path (`options.config`) is followed too.
#[test]
fn parse_config_file_with_a_conf_file() {
    let main = "import tornado.web\nfrom tornado.options import define, options, parse_config_file\n\n\
define('debug', default=False)\ndefine('config', default='server.conf')\n\n\
def main():\n    parse_config_file(options.config)\n    return tornado.web.Application([], debug=options.debug)\n";
    let found = findings(
        &[("app.py", main), ("server.conf", "debug = True\n")],
        &["TW001"],
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("TW001 high server.conf:1 "),
        "{found:#?}"
    );
}

/// A parameter with a `debug=True` default, its function called without it and with an
/// explicit `False`: the callers disagree, so the finding is not a claim (low).
#[test]
fn parameter_defaults_and_callers() {
    let only_default = "import tornado.web\n\n\
def make_app(debug=True):\n    return tornado.web.Application([], debug=debug)\n\n\
app = make_app()\n";
    let found = findings(&[("server.py", only_default)], &["TW001"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("TW001 high server.py:3 "),
        "{found:#?}"
    );

    let overridden = "import tornado.web\n\n\
def make_app(debug=True):\n    return tornado.web.Application([], debug=debug)\n\n\
app = make_app(debug=False)\n";
    assert!(findings(&[("server.py", overridden)], &["TW001"]).is_empty());
}

/// `dict(BASE, ...)`, `{**BASE, ...}`, `.copy()`, `|=` and `setdefault`, later keys winning.
#[test]
fn dict_merges_and_copies() {
    let src = "import tornado.web\n\n\
BASE = {'debug': False, 'xsrf_cookies': True}\n\
DEV = {**BASE, 'debug': True}\n\
prod = BASE.copy()\nprod |= {'serve_traceback': True}\nprod.setdefault('debug', True)\n\n\
dev_app = tornado.web.Application([], **DEV)\n\
prod_app = tornado.web.Application([], **prod)\n";
    let found = findings(&[("server.py", src)], &["TW001", "TW003"]);
    assert!(has(&found, "TW001 high server.py:4 "), "{found:#?}");
    assert!(has(&found, "TW003 high server.py:6 "), "{found:#?}");
    // `setdefault` does not replace the copied `debug: False`.
    assert_eq!(found.len(), 2, "{found:#?}");
}

/// `options.group_dict("application")`: the options defined in that group, nothing else.
#[test]
fn options_group_dict() {
    let src = "import tornado.web\nfrom tornado.options import define, options\n\n\
define('debug', default=True, group='application')\n\
define('serve_traceback', default=True, group='logging')\n\n\
app = tornado.web.Application([], **options.group_dict('application'))\n";
    let found = findings(&[("server.py", src)], &["TW001", "TW003"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("TW001 high server.py:4 "),
        "{found:#?}"
    );
}

/// A chain of aliases longer than the analysis follows is reported (info, with the reason),
/// not dropped; a short one is followed to its value.
#[test]
fn long_alias_chains_are_reported_not_dropped() {
    let chain = |n: usize| {
        let mut src = String::from("import tornado.web\n\nA0 = True\n");
        for i in 1..=n {
            src.push_str(&format!("A{i} = A{}\n", i - 1));
        }
        src.push_str(&format!("app = tornado.web.Application([], debug=A{n})\n"));
        src
    };
    let short = findings(&[("server.py", &chain(5))], &["TW001"]);
    assert!(
        short[0].starts_with("TW001 high server.py:3 "),
        "{short:#?}"
    );
    let long = findings(&[("server.py", &chain(60))], &["TW001"]);
    assert_eq!(long.len(), 1, "{long:#?}");
    assert!(
        long[0].starts_with("TW001 info ") && long[0].contains("not followed further"),
        "{long:#?}"
    );
}

/// Code that a declared entry point reaches through imports is production wherever it lives:
/// `[project.scripts]` starts `scripts/serve.py`, which imports `scripts/common.py`; another
/// script nothing starts stays information.
#[test]
fn entry_points_and_what_they_import_are_production() {
    let pyproject = "[project]\nname = \"svc\"\nversion = \"1\"\n\n[project.scripts]\nsvc-serve = \"scripts.serve:main\"\n";
    let serve = "import tornado.web\n\nfrom scripts.common import SETTINGS\n\n\ndef main():\n    tornado.web.Application([], **SETTINGS).listen(8000)\n";
    let common = "SETTINGS = {'debug': True}\n";
    let other = "import tornado.web\n\napp = tornado.web.Application([], autoreload=True)\n";
    let found = findings(
        &[
            ("pyproject.toml", pyproject),
            ("scripts/__init__.py", ""),
            ("scripts/serve.py", serve),
            ("scripts/common.py", common),
            ("scripts/other.py", other),
        ],
        &["TW001", "TW002"],
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("TW001 high scripts/common.py:1 "),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("TW002 info scripts/other.py:3 "),
        "{found:#?}"
    );
}

/// Entry points from setup.cfg and setup.py (read as text, never run).
#[test]
fn setup_cfg_and_setup_py_entry_points() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("setup.cfg"),
        "[metadata]\nname = a\n\n[options.entry_points]\nconsole_scripts =\n    a-serve = tools.serve:main\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("setup.py"),
        "from setuptools import setup\nsetup(entry_points={'console_scripts': ['b-run = b.cli:run']})\n",
    )
    .unwrap();
    assert_eq!(
        stormwatch_tornado::roles::packaging_entry_points(dir.path()),
        ["b.cli", "tools.serve"]
    );
}

/// Functions that call each other many times over make following parameters through their
/// callers branch exponentially; the evaluation budget ends it (this ran for minutes before).
#[test]
fn mutually_recursive_fan_out_finishes() {
    let f = ["g(x)"; 8].join(", ");
    let g = ["f(x)"; 8].join(", ");
    let src = format!(
        "import tornado.web\n\ndef f(x):\n    return [{f}]\n\ndef g(x):\n    return [{g}]\n\n\
app = tornado.web.Application([], debug=f(True), autoreload=g(False))\n"
    );
    let found = findings(&[("app.py", &src)], &["TW001", "TW002"]);
    assert!(found.iter().all(|l| l.contains("app.py")), "{found:#?}");
}

/// Environment variables turned into values the way applications do it: `int`, `strtobool`,
/// `ast.literal_eval`, `json.loads`, each judged by the value it gives when unset.
#[test]
fn environment_conversions() {
    let app = "import ast, json, os\nfrom distutils.util import strtobool\nimport tornado.web\n\n\
a = tornado.web.Application([], debug=bool(int(os.getenv('A_DEBUG', '1'))))\n\
b = tornado.web.Application([], debug=strtobool(os.environ.get('B_DEBUG', 'no')))\n\
c = tornado.web.Application([], debug=ast.literal_eval(os.getenv('C_DEBUG', 'True')))\n\
d = tornado.web.Application([], debug=json.loads(os.getenv('D_DEBUG', 'false')))\n\
e = tornado.web.Application([], debug=int(os.getenv('E_DEBUG', '0')))\n";
    let found = findings(&[("app.py", app)], &["TW001"]);
    assert!(
        has(
            &found,
            "TW001 high app.py:5 `debug` is True unless the environment sets $A_DEBUG"
        ),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            "TW001 high app.py:7 `debug` is True unless the environment sets $C_DEBUG"
        ),
        "{found:#?}"
    );
    // Off by default: information only, whatever "0" or "no" would be as a raw string.
    for line in [6, 8, 9] {
        assert!(
            has(
                &found,
                &format!("TW001 info app.py:{line} `debug` depends on $")
            ),
            "{found:#?}"
        );
    }
}

/// Config objects: dataclass and pydantic model fields (class defaults, constructor keywords)
/// and a pydantic settings model, whose fields the environment overrides (with its prefix).
#[test]
fn dataclass_and_pydantic_settings_fields() {
    let config = "import dataclasses\nfrom pydantic_settings import BaseSettings, SettingsConfigDict\n\n\n\
@dataclasses.dataclass\nclass Config:\n    debug: bool = True\n    port: int = 8888\n\n\n\
class Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix='APP_')\n    debug: bool = True\n    serve_traceback: bool = False\n";
    let app = "import tornado.web\nfrom app.config import Config, Settings\n\n\
dev = Config()\nprod = Config(debug=False)\nsettings = Settings()\n\n\
a = tornado.web.Application([], debug=dev.debug)\n\
b = tornado.web.Application([], debug=prod.debug)\n\
c = tornado.web.Application([], autoreload=settings.debug, serve_traceback=settings.serve_traceback)\n";
    let found = findings(
        &[
            ("app/__init__.py", ""),
            ("app/config.py", config),
            ("app/main.py", app),
        ],
        &["TW001", "TW002", "TW003"],
    );
    assert!(
        has(&found, "TW001 high app/config.py:7 `debug` is True"),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            "TW002 high app/config.py:13 `autoreload` is True unless the environment sets $APP_DEBUG"
        ),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            "TW003 info app/config.py:14 `serve_traceback` depends on $APP_SERVE_TRACEBACK"
        ),
        "{found:#?}"
    );
    // `Config(debug=False)` is not the default.
    assert_eq!(
        found.iter().filter(|f| f.starts_with("TW001")).count(),
        1,
        "{found:#?}"
    );
}

/// `functools.partial(Application, ...)`: the settings given to the partial are the
/// application's; the ones it gets later are unknown, so nothing is reported as not set.
#[test]
fn partial_application() {
    let app = "import functools\nfrom functools import partial\nimport tornado.web\n\n\
make_app = functools.partial(tornado.web.Application, debug=True)\n\
make_other = partial(tornado.web.Application, cookie_secret='x' * 40)\n\n\
app = make_app([(r'/', tornado.web.RequestHandler)])\n";
    let found = findings(&[("app.py", app)], &["TW001", "TW008"]);
    assert!(
        has(&found, "TW001 high app.py:5 `debug` is True"),
        "{found:#?}"
    );
    assert!(
        !found
            .iter()
            .any(|f| f.starts_with("TW008") && !f.contains(" info ")),
        "{found:#?}"
    );
}

/// Command-line flags: an argparse default is the value when the command line says nothing;
/// a `store_true` flag or `"--x" in sys.argv` is off unless a production command passes it.
#[test]
fn argparse_and_sys_argv_flags() {
    let cli = "import argparse\n\n\n\
def parse_args():\n    p = argparse.ArgumentParser()\n    p.add_argument('--port', type=int, default=8888)\n    p.add_argument('--autoreload', dest='reload', default=True)\n    p.add_argument('--debug', action='store_true')\n    return p.parse_args()\n";
    let main = "import sys\nimport tornado.web\nfrom app.cli import parse_args\n\n\n\
def main():\n    args = parse_args()\n    app = tornado.web.Application([], debug=args.debug, autoreload=args.reload,\n        serve_traceback='--traceback' in sys.argv)\n    app.listen(args.port)\n";
    let files = [
        ("app/__init__.py", ""),
        ("app/cli.py", cli),
        ("app/main.py", main),
        (
            "Dockerfile",
            "FROM python:3.12\nCMD [\"python\", \"-m\", \"app.main\", \"--debug\", \"--traceback\"]\n",
        ),
    ];
    let found = findings(&files, &["TW001", "TW002", "TW003", "TW101"]);
    assert!(
        has(&found, "TW002 high app/cli.py:7 `autoreload` is True"),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            "Dockerfile:2 Dockerfile starts the app with `--debug`, which turns on `debug`"
        ),
        "{found:#?}"
    );
    assert!(
        has(&found, "Dockerfile:2 Dockerfile starts the app with `--traceback`, which turns on `serve_traceback`"),
        "{found:#?}"
    );
    // Off when the command line does not pass them: nothing to report in the code.
    assert!(!found.iter().any(|f| f.starts_with("TW001")), "{found:#?}");
}

/// JSON and YAML config files the application reads at run time: the key's line in the data
/// file is where the finding points; a file outside the scanned directory is never read.
#[test]
fn runtime_json_and_yaml_config_files() {
    let app = "import json, os\nimport yaml\nimport tornado.web\n\n\
HERE = os.path.dirname(os.path.abspath(__file__))\n\n\n\
def make_app():\n    with open(os.path.join(HERE, 'config.json')) as f:\n        config = json.load(f)\n    \
extra = yaml.safe_load(open('deploy/app.yml'))\n    \
return tornado.web.Application([], debug=config['debug'], serve_traceback=extra['server'].get('traceback', False),\n        \
autoreload=config.get('autoreload', False), xsrf_cookies=json.load(open('../outside.json'))['xsrf'])\n";
    let found = findings(
        &[
            ("app.py", app),
            (
                "config.json",
                "{\n  \"port\": 8888,\n  \"debug\": true\n}\n",
            ),
            ("deploy/app.yml", "server:\n  traceback: yes\n"),
        ],
        &["TW001", "TW002", "TW003", "TW008"],
    );
    assert!(
        has(&found, "TW001 high config.json:3 `debug` is True"),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            "TW003 high deploy/app.yml:2 `serve_traceback` is True"
        ),
        "{found:#?}"
    );
    assert!(!found.iter().any(|f| f.starts_with("TW002")), "{found:#?}");
}

/// An INI file read with configparser: `getboolean` judged as configparser reads the text.
#[test]
fn runtime_ini_config_file() {
    let app = "import configparser\nimport tornado.web\n\nconfig = configparser.ConfigParser()\nconfig.read('server.ini')\n\n\n\
def make_app():\n    return tornado.web.Application([], debug=config.getboolean('server', 'Debug'),\n        \
autoreload=config.getboolean('server', 'autoreload'))\n";
    let found = findings(
        &[
            ("app.py", app),
            (
                "server.ini",
                "[server]\nport = 8080\ndebug = on\nautoreload = no\n",
            ),
        ],
        &["TW001", "TW002"],
    );
    assert!(
        has(&found, "TW001 high server.ini:3 `debug` is True"),
        "{found:#?}"
    );
    assert!(!found.iter().any(|f| f.starts_with("TW002")), "{found:#?}");
}

/// click options fill the command function's parameters: the default when the command line
/// says nothing, and TW101 when a production command passes the flag.
#[test]
fn click_options() {
    let main = "import click\nimport tornado.web\n\n\n\
@click.command()\n@click.option('--port', default=8888)\n@click.option('--debug/--no-debug', default=False)\n\
@click.option('--traceback', 'serve_traceback', is_flag=True)\n@click.option('--reload', default=True)\n\
def main(port, debug, serve_traceback, reload):\n    \
app = tornado.web.Application([], debug=debug, serve_traceback=serve_traceback, autoreload=reload)\n    app.listen(port)\n";
    let found = findings(
        &[
            ("app/__init__.py", ""),
            ("app/main.py", main),
            ("Procfile", "web: python -m app.main --debug\n"),
        ],
        &["TW001", "TW002", "TW003", "TW101"],
    );
    assert!(
        has(&found, "TW002 high app/main.py:9 `autoreload` is True"),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            "Procfile:1 Procfile starts the app with `--debug`, which turns on `debug`"
        ),
        "{found:#?}"
    );
    assert!(
        !found
            .iter()
            .any(|f| f.starts_with("TW001") || f.starts_with("TW003")),
        "{found:#?}"
    );
}

/// Data files that are not data: malformed, binary, nested past the reader's limit, or a
/// FIFO. None of them is followed (nothing is claimed from them), and the audit finishes.
#[test]
fn hostile_runtime_data_files_are_not_followed() {
    let app = "import json\nimport tornado.web\n\n\
a = tornado.web.Application([], debug=json.load(open('bad.json'))['debug'])\n\
b = tornado.web.Application([], debug=json.load(open('binary.json'))['debug'])\n\
c = tornado.web.Application([], debug=json.load(open('deep.json'))['debug'])\n\
d = tornado.web.Application([], debug=json.load(open('fifo.json'))['debug'])\n";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("app.py"), app).unwrap();
    std::fs::write(p.join("bad.json"), "{\"debug\": true,, [\n").unwrap();
    std::fs::write(p.join("binary.json"), [0xff, 0xfe, 0x00, b'{', 0x80]).unwrap();
    std::fs::write(p.join("deep.json"), "[".repeat(100_000)).unwrap();
    #[cfg(unix)]
    {
        let status = std::process::Command::new("mkfifo")
            .arg(p.join("fifo.json"))
            .status();
        assert!(status.is_ok_and(|s| s.success()));
    }
    let result = audit(
        p,
        &Selection {
            select: vec!["TW001".into()],
            ..Selection::default()
        },
    );
    assert!(result.findings.is_empty(), "{:?}", result.findings);
    for name in ["bad.json", "binary.json", "deep.json"] {
        let text = std::fs::read(p.join(name)).unwrap();
        assert!(!text.is_empty(), "{name} left as it was");
    }
}
