//! `stormwatch init`: the starter policy, or the process page generated from the policy.

use std::path::PathBuf;

use anyhow::{bail, Result};
use stormwatch_policy::starter;

use crate::cli::InitArgs;
use crate::output::write_atomically;

pub fn run(args: InitArgs) -> Result<bool> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    if args.process {
        let Some(policy) = stormwatch_policy::discover(&root, args.config.as_deref())? else {
            bail!(
                "{}: no policy found (stormwatch.toml or [tool.stormwatch] in pyproject.toml); run `stormwatch init` first",
                root.display()
            );
        };
        let page = starter::process(&policy);
        match &args.output {
            Some(path) => {
                write_atomically(path, |out| out.write_all(page.as_bytes()))?;
                eprintln!(
                    "wrote {}",
                    stormwatch_report::escape_controls(&path.display().to_string())
                );
            }
            None => say_raw!("{page}"),
        }
        return Ok(false);
    }
    let path = root.join("stormwatch.toml");
    if std::fs::symlink_metadata(&path).is_ok() && !args.force {
        bail!("{}: already exists (--force to replace it)", path.display());
    }
    write_atomically(&path, |out| out.write_all(starter::STARTER.as_bytes()))?;
    eprintln!(
        "wrote {}: review fail-on, the deadlines and the owners, then commit it",
        stormwatch_report::escape_controls(&path.display().to_string())
    );
    Ok(false)
}
