//! The `stormwatch` command. A thin layer: argument parsing, choosing inputs and advisory
//! sources, and exit codes; all analysis lives in the library crates.

use std::process::ExitCode;

use clap::Parser;

// Audits allocate many small strings and vectors; mimalloc makes them markedly cheaper.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `println!` that ignores a closed standard output (`stormwatch rules | head -1`): the
/// reader has what it wanted, which is neither a panic nor an error.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that ignores a closed standard output.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod advisories;
mod checklist;
mod cli;
mod config;
mod db;
mod deps;
mod fix;
mod init;
mod monitor;
mod output;
mod probe;

/// Python syntax trees are walked recursively; operator chains that CPython accepts (a long
/// `a + b + ...`, `not not ... x`) can be deep, so the audit runs on threads with stacks large
/// enough for any file under the size limit. (Bracket and indentation nesting are refused
/// before parsing, at CPython's own limits.)
const STACK_BYTES: usize = 512 * 1024 * 1024;
const WORKER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// mimalloc's `mi_option_purge_delay` (position in `mi_option_e`, mimalloc 3.x `mimalloc.h`).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() -> ExitCode {
    // A run lasts milliseconds: returning freed pages to the kernel (several hundred
    // `madvise` calls on a large audit, each splitting a huge page that is then faulted
    // and zeroed again) costs time and saves nothing.
    // SAFETY: sets a plain integer option before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = cli::Cli::parse();
    // Only address space is reserved; pages are used as the recursion needs them.
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(WORKER_STACK_BYTES)
        .build_global();
    let run = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || execute(cli))
        .map(|handle| handle.join());
    match run {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: the command could not run to completion");
            ExitCode::from(2)
        }
    }
}

fn execute(cli: cli::Cli) -> ExitCode {
    let result = match cli.command {
        cli::Command::Deps(args) => deps::run(args),
        cli::Command::Check(args) => config::check(args),
        cli::Command::Db(cmd) => db::run(cmd),
        cli::Command::Fix(args) => fix::run(args),
        cli::Command::Monitor(args) => return monitor::run(args),
        cli::Command::Config(args) => config::run(args),
        cli::Command::Rules => config::list_rules(),
        cli::Command::Explain { id } => config::explain(&id),
        cli::Command::Init(args) => init::run(args),
        cli::Command::Checklist(args) => checklist::run(args),
        cli::Command::Probe(args) => probe::run(args),
    };
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(err) => {
            eprintln!(
                "error: {}",
                stormwatch_report::escape_controls(&format!("{err:#}"))
            );
            ExitCode::from(2)
        }
    }
}
