//! Command-line definitions. Names and flags here are the product's contract.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use stormwatch_findings::{Threshold, UnknownSeverity};

#[derive(Parser, Debug)]
#[command(
    name = "stormwatch",
    version,
    about = "Keeps Tornado web applications safe in production: vulnerable dependencies and unsafe settings.",
    long_about = None,
    after_help = "Exit codes: 0 nothing at or above the --fail-on threshold; 1 findings at or above it; \
2 usage error or unreadable/invalid input.\n\nRun `stormwatch <command> --help` for examples."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Dependencies and configuration together: one report, one exit code.
    #[command(
        after_help = "Runs `stormwatch deps` and `stormwatch config` over the same directory.\n\nExamples:\n  stormwatch check\n  stormwatch check path/to/repo --format json --output report.json\n  stormwatch check --fail-on high"
    )]
    Check(CheckArgs),
    /// Audit dependencies (manifests, lockfiles, installed environments) for known vulnerabilities.
    #[command(after_help = DEPS_EXAMPLES)]
    Deps(DepsArgs),
    /// Audit Tornado settings for debug mode and its relatives (parses the app's Python).
    #[command(after_help = CONFIG_EXAMPLES)]
    Config(ConfigArgs),
    /// List the configuration rules.
    Rules,
    /// Show a rule's documentation: what it catches, why, an example and the fix.
    Explain {
        /// Rule id, e.g. TW001.
        id: String,
    },
    /// Manage the local advisory database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Update the advisory data, audit the project, and alert on what changed since the
    /// last run (stdout, webhook, Slack, Teams, email).
    #[command(after_help = MONITOR_HELP)]
    Monitor(MonitorArgs),
    /// The deployment checklist as Markdown, each item ticked or not from this repository's
    /// actual results, with its evidence: ready to paste into a release ticket.
    #[command(after_help = "\
Runs the same audits as `stormwatch check` (same options, policy and baseline) and answers
the release checklist from their results. `--format json` for automation; every other
format prints Markdown. The exit code is 1 when an item is not ticked.

Examples:
  stormwatch checklist
  stormwatch checklist path/to/repo --output release-checklist.md")]
    Checklist(CheckArgs),
    /// Write a commented starter policy (stormwatch.toml), or the team's security-update
    /// process page generated from its policy.
    #[command(after_help = "\
The policy is read from stormwatch.toml in the scanned directory, else from
[tool.stormwatch] in its pyproject.toml, or from the file given with --config. Every
command-line flag overrides it. Unknown keys and bad values are errors (exit 2).

Examples:
  stormwatch init                      write ./stormwatch.toml
  stormwatch init --process            print the process page for the current policy
  stormwatch init --process --output docs/security-updates.md")]
    Init(InitArgs),
}

const MONITOR_HELP: &str = "\
Each run: `db update` (unless --offline), the dependency audit of PATH (and the
configuration audit with --include-config), then a comparison with the previous run of the
same project. Events: a new advisory affects a pin; an advisory's severity or fixed
versions changed; a fix became available; a finding was resolved; a patch deadline is near
or passed; a policy ignore expires soon. The first run records the state without alerting
(--alert-existing alerts on everything once). Suppressed findings are not followed.

State lives in its own SQLite file (--state, default: monitor.db beside the advisory
database), with an outbox: an event is delivered to each channel once; a failed delivery
(timeout, 5xx) is retried with backoff, then on the next run. Each delivery carries the
event's id as its Idempotency-Key.

Channels: standard output always; --webhook, --slack, --teams URL; --email ADDR with
--smtp HOST[:PORT] (STARTTLS required; STORMWATCH_SMTP_USERNAME / STORMWATCH_SMTP_PASSWORD).
The policy's [[monitor.channel]] tables add channels with their own min-severity.

Exit codes: 0 the run completed and every event was delivered; 1 some deliveries failed
(they stay queued for the next run); 2 the update or the audit failed (reported to every
channel as a failure event, never as \"nothing new\").

Examples:
  stormwatch monitor
  stormwatch monitor ~/src/shop --webhook https://alerts.example.com/hook
  stormwatch monitor --slack \"$SLACK_WEBHOOK_URL\" --min-severity high
  stormwatch monitor --offline --format json     events as JSON lines
  See docs/monitoring.md for cron, systemd, GitHub and GitLab schedules.";

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Project to audit (default: the current directory).
    pub path: Option<PathBuf>,

    /// The project's name in the state [default: the policy's monitor.project, else the
    /// directory's name].
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,

    /// Monitor state file [default: $STORMWATCH_STATE, else monitor.db beside the advisory
    /// database].
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Also audit the configuration (debug mode and its relatives) and follow its findings.
    #[arg(long)]
    pub include_config: bool,

    /// Alert on every current finding (once), not only on changes.
    #[arg(long)]
    pub alert_existing: bool,

    /// POST each event as JSON to this URL (repeatable).
    #[arg(long, value_name = "URL")]
    pub webhook: Vec<String>,

    /// Slack incoming-webhook URL (repeatable).
    #[arg(long, value_name = "URL")]
    pub slack: Vec<String>,

    /// Microsoft Teams workflow-webhook URL (repeatable).
    #[arg(long, value_name = "URL")]
    pub teams: Vec<String>,

    /// Email recipient (repeatable); needs --smtp and --email-from.
    #[arg(long, value_name = "ADDR")]
    pub email: Vec<String>,

    /// SMTP server for --email, HOST[:PORT] (port 587 by default).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub smtp: Option<String>,

    /// Sender address for --email.
    #[arg(long, value_name = "ADDR")]
    pub email_from: Option<String>,

    /// Lowest severity sent to the channels given on the command line.
    #[arg(long, value_name = "SEVERITY", default_value = "low")]
    pub min_severity: Threshold,

    /// Standard output: table, or json (one event per line).
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,

    /// Policy file [default: stormwatch.toml in PATH, else [tool.stormwatch] in its
    /// pyproject.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The date deadlines and expiries are judged on (YYYY-MM-DD) [default: today].
    #[arg(long, value_name = "DATE", value_parser = parse_today)]
    pub today: Option<time::Date>,

    #[command(flatten)]
    pub advisories: AdvisoryArgs,

    #[command(flatten)]
    pub fetch: FetchArgs,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Directory to write stormwatch.toml in, or whose policy --process reads (default: the
    /// current directory).
    pub path: Option<PathBuf>,

    /// Instead of the starter policy, write the security-update process page (Markdown)
    /// generated from the directory's policy.
    #[arg(long)]
    pub process: bool,

    /// Policy file for --process [default: as for every command].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where --process writes the page (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace an existing stormwatch.toml.
    #[arg(long)]
    pub force: bool,
}

const CONFIG_EXAMPLES: &str = "\
Reads the app's Python and its deployment files (Dockerfile, docker-compose, Kubernetes
manifests and Helm values, systemd units, Procfile, .env, supervisord).

Follows settings to tornado.web.Application through keyword arguments, **settings dicts
(literals, dict(...), d[key] = v, d.update(...)), module constants, imports from other
modules of the repository, os.environ.get/os.getenv defaults, conditionals, and
tornado.options (define(default=...), parse_config_file). Each finding shows the chain of
file:line steps the value took.

Suppress a finding on its line with a reason: `# stormwatch: ignore[TW001] local dev tool`.

Examples:
  stormwatch config                       audit the current directory
  stormwatch config src/ --format json
  stormwatch config --select TW001,TW003  only these rules
  stormwatch config --ignore TW004,TW005
  stormwatch explain TW001";

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Directory or Python file to audit (default: the current directory).
    pub path: Option<PathBuf>,

    /// Only these rule ids (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub select: Vec<String>,

    /// Skip these rule ids (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub ignore: Vec<String>,

    /// Which deployment files count: files named for the other environment
    /// (`docker-compose.dev.yml`, `.env.development`, ...) are reported as info only.
    /// [default: the policy's `environment`, else production]
    #[arg(long, value_enum)]
    pub env: Option<EnvArg>,

    /// Judge tests, examples, documentation, benchmarks, scripts and vendored code like
    /// production code (by default findings there are reported as info, with the reason).
    #[arg(long, visible_alias = "include-tests")]
    pub all_code: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvArg {
    Production,
    Development,
}

const DEPS_EXAMPLES: &str = "\
Inputs (auto-detected in directories):
  requirements*.txt / *.in, pyproject.toml (PEP 621, PEP 735, Poetry), poetry.lock,
  Pipfile, Pipfile.lock, uv.lock, pdm.lock, pylock.toml

Examples:
  stormwatch deps                              audit the current directory
  stormwatch deps requirements.txt uv.lock     audit specific files
  stormwatch deps --site-packages .venv/lib/python3.12/site-packages
  stormwatch deps --python .venv/bin/python    audit what that interpreter has installed
  stormwatch deps --format json --output report.json
  stormwatch deps --db ./pypa-vulns             use an OSV directory or zip directly
  stormwatch deps --fail-on high               only high and critical fail the run
  stormwatch deps uv.lock --python-version 3.12 --platform linux
                                               only the pins of a universal lock that
                                               apply to that deployment";

#[derive(Args, Debug)]
pub struct DepsArgs {
    /// Files or directories to audit (default: the current directory).
    pub paths: Vec<PathBuf>,

    /// Audit the distributions installed for this Python interpreter.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,

    /// Audit the distributions installed in this site-packages directory.
    #[arg(long, value_name = "DIR")]
    pub site_packages: Option<PathBuf>,

    /// Do not report version ranges that still allow vulnerable versions.
    #[arg(long)]
    pub ignore_unpinned: bool,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub advisories: AdvisoryArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// The deployment that pins are judged for: a universal lock pins some packages once per
/// environment marker, and only the pins whose markers can hold there are audited.
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// Python the project is deployed on (X.Y): pins whose markers exclude it are left out.
    #[arg(long, value_name = "X.Y", value_parser = stormwatch_manifest::markers::parse_python_version)]
    pub python_version: Option<(u64, u64)>,

    /// Operating system the project is deployed on: linux, macos or windows.
    #[arg(long, value_name = "OS")]
    pub platform: Option<stormwatch_manifest::markers::Platform>,
}

impl TargetArgs {
    pub fn target(&self) -> stormwatch_manifest::markers::Target {
        stormwatch_manifest::markers::Target {
            python: self.python_version,
            platform: self.platform,
        }
    }
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Repository to audit (default: the current directory).
    pub path: Option<PathBuf>,

    /// Do not report version ranges that still allow vulnerable versions.
    #[arg(long)]
    pub ignore_unpinned: bool,

    /// Which deployment files count (see `stormwatch config --help`).
    /// [default: the policy's `environment`, else production]
    #[arg(long, value_enum)]
    pub env: Option<EnvArg>,

    /// Judge tests, examples, documentation, benchmarks, scripts and vendored code like
    /// production code (by default findings there are reported as info, with the reason).
    #[arg(long, visible_alias = "include-tests")]
    pub all_code: bool,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub advisories: AdvisoryArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct AdvisoryArgs {
    /// Advisory source: a stormwatch database, or an OSV directory / zip / file to read directly
    /// [default: $STORMWATCH_DB, else the user data directory; the bundled Tornado set when none exists]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Do not merge the bundled Tornado advisories into the advisory source.
    #[arg(long)]
    pub no_bundled: bool,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,

    /// Write the report to this file instead of standard output (replaced atomically: a
    /// reader never sees half a report).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Lowest severity that makes the exit code 1: info, low, medium, high, critical or none
    /// [default: the policy's `fail-on`, else low].
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Threshold>,

    /// How an advisory without any severity data counts: a severity, `fail` or `ignore`
    /// [default: the policy's `unknown-severity`, else high].
    #[arg(long, value_name = "HOW")]
    pub unknown_severity: Option<UnknownSeverity>,

    /// Policy file [default: stormwatch.toml in the scanned directory, else
    /// [tool.stormwatch] in its pyproject.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The date deadlines and ignore expiries are judged on (YYYY-MM-DD) [default: today].
    #[arg(long, value_name = "DATE", value_parser = parse_today)]
    pub today: Option<time::Date>,

    /// Compare with this baseline: findings in it are reported as unchanged and do not fail
    /// the run; only new ones do. Findings of the baseline that are gone are listed as fixed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record today's findings (their fingerprints) in FILE, for `--baseline`.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Fail (exit 2) when the audit is incomplete (a file that could not be analysed:
    /// unreadable, malformed, past a size or nesting limit, outside the scanned tree), or
    /// when a policy ignore matched nothing or names an unknown id.
    #[arg(long)]
    pub strict: bool,

    /// Print findings only (no header, notes or summary).
    #[arg(long, short)]
    pub quiet: bool,

    /// List every advisory of a vulnerable package, and the suppressed findings.
    #[arg(long, short)]
    pub verbose: bool,

    /// Never use colors (also honoured: the NO_COLOR environment variable).
    #[arg(long)]
    pub no_color: bool,
}

fn parse_today(s: &str) -> Result<time::Date, String> {
    stormwatch_policy::parse_date(s).ok_or_else(|| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// For a terminal: one block per vulnerable package, then the other findings.
    Table,
    /// The versioned JSON contract (docs/json-schema.md).
    Json,
    /// SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// Markdown for pull-request comments and $GITHUB_STEP_SUMMARY.
    Markdown,
    /// JUnit XML test report (GitLab, Jenkins).
    Junit,
    /// GitHub Actions annotations (workflow commands).
    Github,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Import OSV advisories (a directory or zip of .json/.yaml files) into the local database.
    #[command(after_help = "\
Accepted layouts: the osv.dev PyPI export (PyPI/all.zip), the GitHub advisory database
(advisories/github-reviewed/...), the PyPA advisory database (vulns/<package>/*.yaml).
Only PyPI advisories are kept; others are counted and skipped. The new database replaces
the old one atomically: a failed import leaves the previous database untouched. An import
with no current PyPI advisories is refused, and so is one with fewer than half of the
existing database's (a truncated download, the wrong directory) unless --force is given. A
--db file that is not a stormwatch database is never overwritten.

Examples:
  stormwatch db import ~/src/advisory-database/vulns
  stormwatch db import PyPI.zip --db ./advisories.db")]
    Import {
        /// Directory, .zip, or single OSV .json/.yaml file.
        path: PathBuf,
        /// Database to write [default: $STORMWATCH_DB, else the user data directory].
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Skip records that fail to parse (each is reported) instead of aborting.
        #[arg(long)]
        skip_invalid: bool,
        /// Replace the database even if the import holds fewer than half of its advisories.
        #[arg(long)]
        force: bool,
    },
    /// Download current advisory data and rebuild the database when it changed.
    #[command(after_help = "\
Sources: the OSV export of every PyPI advisory by default
(https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip). --source replaces the
list (repeat it for several; `default` names the OSV export): another OSV zip over HTTPS, a
mirror inside the company network, a local directory or zip, the PyPA advisory database
archive. The policy's [advisories] sources = [...] sets the list when --source is not given.

Downloads are conditional (ETag / Last-Modified): an unchanged source costs one request and
no download. A download must parse completely before anything is replaced; the database is
swapped atomically and on any failure the previous one stays as it was. Each import records
which advisories are new, modified or withdrawn (`stormwatch db status`).

Network: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY are honoured; SSL_CERT_FILE names
a PEM bundle of trusted roots used instead of the built-in ones (company mirrors).

Examples:
  stormwatch db update
  stormwatch db update --source https://mirror.example.com/osv/PyPI/all.zip
  stormwatch db update --source default --source ./extra-advisories
  stormwatch db update --offline          rebuild from what was downloaded before")]
    Update(UpdateArgs),
    /// Show the database's sources, age, counts and last changes, and the bundled set.
    #[command(
        after_help = "Examples:\n  stormwatch db status\n  stormwatch db status --db ./advisories.db --format json"
    )]
    Status {
        /// Database to inspect [default: $STORMWATCH_DB, else the user data directory].
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Output format: table or json.
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
        /// Policy file (its [advisories] max-age) [default: stormwatch.toml in the current
        /// directory, else [tool.stormwatch] in its pyproject.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFormat {
    Table,
    Json,
}

/// How `db update` (and `monitor`) reach advisory sources.
#[derive(Args, Debug, Clone)]
pub struct FetchArgs {
    /// Advisory source: an https:// URL of an OSV zip, a local directory or zip, or
    /// `default` (repeatable; replaces the policy's and the default list).
    #[arg(long = "source", value_name = "URL|PATH")]
    pub sources: Vec<String>,

    /// Never use the network: rebuild from earlier downloads and local sources only.
    #[arg(long)]
    pub offline: bool,

    /// Seconds to wait for a connection and for each part of an answer.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,

    /// Attempts per download (timeouts and server errors are retried with backoff).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub retries: u32,

    /// Largest download accepted, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub max_download: u64,

    /// Replace the database even if the new data holds fewer than half of its advisories.
    #[arg(long)]
    pub force: bool,

    /// Skip records that fail to parse (each is reported) instead of refusing the update.
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Database to write [default: $STORMWATCH_DB, else the user data directory].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    #[command(flatten)]
    pub fetch: FetchArgs,

    /// Policy file (its [advisories] sources) [default: stormwatch.toml in the current
    /// directory, else [tool.stormwatch] in its pyproject.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// No progress bar and no summary; errors only.
    #[arg(long, short)]
    pub quiet: bool,
}
