//! Inputs the `fix` fuzz target found crashing, kept as regression tests.

use std::str::FromStr;

use pep440_rs::Version;

#[test]
fn toml_edit_of_a_line_with_quotes_and_control_bytes() {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/fuzz-toml-edit-crash"
    ))
    .unwrap();
    let text = std::str::from_utf8(&data[1..]).unwrap();
    let old = Version::from_str("1.0").unwrap();
    let new = Version::from_str("1.0.1").unwrap();
    for line in 0..8 {
        let _ = stormwatch_fix::edit::toml(text, line, "tornado", &old, &new);
    }
}
