//! Deployment files: the first byte chooses a Dockerfile, docker-compose.yml, a Kubernetes
//! manifest, a systemd unit, a supervisord config, a Procfile or a `.env` file.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 7] = [
    "Dockerfile",
    "docker-compose.yml",
    "k8s/deployment.yaml",
    "web.service",
    "supervisord.conf",
    "Procfile",
    ".env",
];

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let Some((which, body)) = common::select(data, NAMES.len()) else {
        return;
    };
    let root = common::scratch("deploy").join(format!("{which}"));
    let path = root.join(NAMES[which]);
    let _ = std::fs::create_dir_all(path.parent().unwrap_or(&root));
    if std::fs::write(&path, body).is_ok() {
        let _ = stormwatch_deploy::scan(&root);
    }
});
