//! The `stormwatch` command. A thin layer: argument parsing, choosing inputs and advisory
//! sources, and exit codes; all analysis lives in the library crates.

use std::process::ExitCode;

use clap::Parser;

// Audits allocate many small strings and vectors; mimalloc makes them markedly cheaper.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod advisories;
mod cli;
mod config;
mod db;
mod deps;
mod output;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Deps(args) => deps::run(args),
        cli::Command::Check(args) => config::check(args),
        cli::Command::Db(cmd) => db::run(cmd),
        cli::Command::Config(args) => config::run(args),
        cli::Command::Rules => config::list_rules(),
        cli::Command::Explain { id } => config::explain(&id),
    };
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
