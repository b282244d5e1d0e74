//! The config audit on one arbitrary Python file (with a `server.conf` beside it for
//! `parse_config_file`): it must report or skip, never panic, overflow or run unbounded.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let dir = common::scratch("tornado_audit");
    if std::fs::write(dir.join("app.py"), data).is_err() {
        return;
    }
    let _ = std::fs::write(dir.join("server.conf"), data);
    // The CLI audits on a thread with a large stack (long operator chains are deep trees);
    // the target does the same.
    std::thread::Builder::new()
        .stack_size(512 * 1024 * 1024)
        .spawn(move || {
            let _ = stormwatch_tornado::audit(&dir, &stormwatch_tornado::Selection::default());
        })
        .expect("audit thread")
        .join()
        .expect("audit panicked");
});
