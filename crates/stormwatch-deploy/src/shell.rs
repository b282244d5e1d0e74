//! Command lines as a POSIX shell splits them.

/// Splits a command line into words (`shlex`); a line with unbalanced quotes, which a shell
/// would refuse, is split on whitespace so that its flags are still seen.
pub fn words(s: &str) -> Vec<String> {
    shlex::split(s).unwrap_or_else(|| s.split_whitespace().map(str::to_string).collect())
}

/// `sh -c "python app.py --debug"` carries the real command in one argument: arguments that
/// contain spaces are split again.
pub(crate) fn flatten(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .flat_map(|a| if a.contains(' ') { words(&a) } else { vec![a] })
        .collect()
}
