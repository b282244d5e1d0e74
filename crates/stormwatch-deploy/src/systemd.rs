//! systemd units: `Environment=`, `EnvironmentFile=`, `ExecStart=`, `WorkingDirectory=`.

use super::{joined_lines, shell, Reader};

pub(crate) fn read(r: &mut Reader, text: &str) {
    let lines = joined_lines(text, &['#', ';']);
    let workdir = lines.iter().find_map(|(_, l)| {
        let (k, v) = l.trim().split_once('=')?;
        (k.trim() == "WorkingDirectory").then(|| v.trim().trim_start_matches('-').to_string())
    });
    let path = r.path.to_path_buf();
    for (line, raw) in lines {
        let Some((key, value)) = raw.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            "Environment" => {
                for token in shell::words(value) {
                    if let Some((k, v)) = token.split_once('=') {
                        r.env(k, v, line, &path);
                    }
                }
            }
            "EnvironmentFile" => r.env_file(value.trim().trim_start_matches('-'), line),
            "ExecStart" => {
                let cmd = value.trim().trim_start_matches(['@', '-', ':', '+', '!']);
                r.command(shell::words(cmd), line, workdir.clone());
            }
            _ => {}
        }
    }
}
