//! Installed environments: `*.dist-info/METADATA` and `*.egg-info` (directory or file),
//! found in a site-packages directory or in every path of an interpreter's `sys.path`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::text::read_text;
use crate::{
    normalize_name, Dependency, Format, Inputs, ManifestError, Note, Origin, Source, Spec,
};

/// Reads every distribution installed in `dir`.
pub fn read_site_packages(dir: &Path) -> Result<Inputs, ManifestError> {
    let mut out = Inputs::default();
    read_dir_into(dir, &mut out, &mut HashSet::new())?;
    Ok(out)
}

fn read_dir_into(
    dir: &Path,
    out: &mut Inputs,
    seen: &mut HashSet<String>,
) -> Result<(), ManifestError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ManifestError::io(dir, &e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let metadata = if file_name.ends_with(".dist-info") {
            path.join("METADATA")
        } else if file_name.ends_with(".egg-info") {
            if path.is_dir() {
                path.join("PKG-INFO")
            } else {
                path.clone()
            }
        } else if file_name.ends_with(".egg") && path.is_dir() {
            // Eggs installed by easy_install: `name-1.0-py3.8.egg/EGG-INFO/PKG-INFO`.
            path.join("EGG-INFO").join("PKG-INFO")
        } else {
            continue;
        };
        let text = match read_text(&metadata) {
            Ok(t) => t,
            Err(e) => {
                // One damaged distribution must not hide the rest of the environment.
                out.unread.push(Note {
                    source: Source {
                        path: metadata.clone(),
                        line: 0,
                    },
                    message: format!("skipped unreadable metadata: {}", e.message),
                });
                continue;
            }
        };
        let Some((name, version, line)) = parse_metadata(&text) else {
            out.unread.push(Note {
                source: Source {
                    path: metadata.clone(),
                    line: 0,
                },
                message: "skipped metadata without Name and Version".into(),
            });
            continue;
        };
        let name = normalize_name(&name);
        // Earlier sys.path entries shadow later ones, as at import time.
        if !seen.insert(name.clone()) {
            continue;
        }
        out.files.push((metadata.clone(), Format::Installed));
        out.dependencies.push(Dependency {
            name,
            spec: Spec::pinned(&version),
            source: Source {
                path: metadata,
                line,
            },
            origin: Origin::Installed,
            marker: None,
            group: None,
        });
    }
    Ok(())
}

/// `Name:` and `Version:` from core metadata headers (RFC 822 style, ending at a blank line).
fn parse_metadata(text: &str) -> Option<(String, String, usize)> {
    let mut name = None;
    let mut version = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some((v.trim().to_string(), i + 1));
        }
    }
    let (version, line) = version?;
    Some((name?, version, line))
}

/// What `--python` runs: the interpreter isolated (`-I`: no `PYTHON*` variables, no user
/// site-packages, neither the current directory nor a script's on `sys.path`; `-S`: no `site`
/// module, so no `.pth` file of the environment runs), from a neutral working directory, with
/// this script only. It finds the environment's site-packages the way `site` would (a
/// `pyvenv.cfg` beside or above the executable) without importing anything but the standard
/// library's `json`, `os` and `sysconfig`, and prints them with `sys.path` as JSON.
pub const PYTHON_PATHS_SCRIPT: &str = r#"import json, os, sys, sysconfig
exe_dir = os.path.dirname(os.path.abspath(sys.executable))
dirs, system = [], True
for d in (exe_dir, os.path.dirname(exe_dir)):
    cfg = os.path.join(d, "pyvenv.cfg")
    if os.path.isfile(cfg):
        with open(cfg, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip().lower() == "include-system-site-packages":
                    system = value.strip().lower() == "true"
        dirs += [sysconfig.get_path(k, vars={"base": d, "platbase": d}) for k in ("purelib", "platlib")]
        break
if system:
    dirs += [sysconfig.get_path(k) for k in ("purelib", "platlib")]
print(json.dumps(dirs + [p for p in sys.path if p]))
"#;

/// Asks `python` (isolated, see [`PYTHON_PATHS_SCRIPT`]) for its site-packages and import
/// path and reads every distribution found there.
pub fn python_site_packages(python: &Path) -> Result<Inputs, ManifestError> {
    let mut command = Command::new(python);
    command
        .args(["-I", "-S", "-c", PYTHON_PATHS_SCRIPT])
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PYTHON") {
            command.env_remove(key);
        }
    }
    let output = command
        .output()
        .map_err(|e| ManifestError::new(python, 0, format!("cannot run interpreter: {e}")))?;
    if !output.status.success() {
        return Err(ManifestError::new(
            python,
            0,
            format!(
                "interpreter failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    let paths: Vec<PathBuf> = serde_json::from_slice(&output.stdout).map_err(|e| {
        ManifestError::new(
            python,
            0,
            format!("unexpected output from interpreter: {e}"),
        )
    })?;
    let mut out = Inputs::default();
    let mut seen = HashSet::new();
    let mut read = HashSet::new();
    for dir in paths.iter().filter(|p| p.is_dir()) {
        if read.insert(dir.canonicalize().unwrap_or_else(|_| dir.clone())) {
            read_dir_into(dir, &mut out, &mut seen)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn reads_dist_info_and_egg_info() {
        let dir = tempfile::tempdir().unwrap();
        let sp = dir.path();
        fs::create_dir(sp.join("tornado-6.1.dist-info")).unwrap();
        fs::write(
            sp.join("tornado-6.1.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: tornado\nVersion: 6.1\nSummary: x\n\nVersion: 9\n",
        )
        .unwrap();
        fs::create_dir(sp.join("Old_Pkg.egg-info")).unwrap();
        fs::write(
            sp.join("Old_Pkg.egg-info/PKG-INFO"),
            "Name: Old_Pkg\nVersion: 0.1\n",
        )
        .unwrap();
        fs::write(sp.join("single.egg-info"), "Name: single\nVersion: 2.0\n").unwrap();
        fs::create_dir_all(sp.join("Old_Egg-0.9-py3.8.egg/EGG-INFO")).unwrap();
        fs::write(
            sp.join("Old_Egg-0.9-py3.8.egg/EGG-INFO/PKG-INFO"),
            "Metadata-Version: 1.1\nName: Old-Egg\nVersion: 0.9\n",
        )
        .unwrap();
        fs::create_dir(sp.join("broken-1.0.dist-info")).unwrap();
        fs::create_dir(sp.join("tornado")).unwrap();
        let inputs = read_site_packages(sp).unwrap();
        let names: Vec<_> = inputs
            .dependencies
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(names, ["old-egg", "old-pkg", "single", "tornado"]);
        let t = &inputs.dependencies[3];
        assert!(matches!(&t.spec, Spec::Pinned { version, .. } if version == "6.1"));
        assert_eq!(t.source.line, 3);
        assert_eq!(inputs.unread.len(), 1);
        assert!(inputs.unread[0]
            .source
            .path
            .ends_with("broken-1.0.dist-info/METADATA"));
    }
}
